"""SOURCE arguments to work items: folders, files, archives, manifests and fsspec URIs.

* a folder is walked recursively in sorted order by ``safelight.signals.walk``, the walker
  ``hash -r`` uses too, with its one rule for links: every file is visited once per scan
  whatever the links, and links leaving the folder are followed only with ``follow_links``;
* a file whose first bytes are a zip, tar or compressed stream is read as an archive (up to
  ``max_depth`` levels of nesting; 0 opens none): its members are items, and so is the
  archive itself, after them, so that an archive whose own hash is listed matches;
* ``@FILE`` is a manifest: one path or URI per line (``#`` comments), relative paths taken
  from the manifest's folder;
* ``scheme://...`` (``s3://bucket/prefix``, ``memory://``) is opened with fsspec; ``file://``
  names a local path and is walked as one (fsspec's listing would read through links);
  a prefix is listed recursively, archives are recognised by their name.

Listing runs in the scanning process and reads only file heads; workers read the contents.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import IO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from safelight.constants import SCAN_SNIFF_BYTES
from safelight.errors import UsageError
from safelight.scan.archives import ArchiveLimits, ArchiveReader, sniff
from safelight.scan.model import WorkItem
from safelight.signals.walk import Walker

_ARCHIVE_SUFFIXES = {
    ".zip": "zip",
    ".tar": "tar",
    ".tgz": "gzip",
    ".gz": "gzip",
    ".bz2": "bzip2",
    ".tbz2": "bzip2",
    ".xz": "xz",
    ".txz": "xz",
    ".zst": "zstd",
    ".tzst": "zstd",
}


def is_uri(source: str) -> bool:
    return "://" in source


def check_sources(sources: list[str]) -> None:
    """Refuse, before a run starts, local sources that do not exist."""
    for source in sources:
        local = source[1:] if source.startswith("@") else source
        if not is_uri(local) and not os.path.lexists(local):
            raise UsageError(f"source {source!r} does not exist", code="source_missing")


class SourceWalker:
    def __init__(self, limits: ArchiveLimits, *, follow_links: bool = False) -> None:
        self.limits = limits
        self.archives = ArchiveReader(limits)
        self.walker = Walker(follow_links=follow_links)

    def items(self, sources: list[str]) -> Iterator[WorkItem]:
        for source in sources:
            if source.startswith("@"):
                yield from self._manifest(source[1:])
            else:
                yield from self._source(source, where=source)

    def _source(self, source: str, *, where: str) -> Iterator[WorkItem]:
        if is_uri(source):
            local = _local_path(source)
            if local is None:
                yield from self._uri(source)
                return
            source = local  # file://: the local walker and its rule for links, not fsspec's
        path = os.path.abspath(source)
        try:
            info = os.stat(path)
        except OSError as exc:
            yield WorkItem.failed(path, "unreadable", f"{where}: cannot open {path}: {exc}")
            return
        if stat.S_ISDIR(info.st_mode):
            for found in self.walker.tree(path, info):
                if found.error is not None:
                    yield WorkItem.failed(found.path, found.error.code, found.error.message)
                elif found.info is not None:
                    yield from self._file(found.path, found.info)
        elif self.walker.claim(info):  # a file named twice, or in a folder already walked
            yield from self._file(path, info)

    def _manifest(self, manifest: str) -> Iterator[WorkItem]:
        base = os.path.dirname(os.path.abspath(manifest))
        try:
            with open(manifest, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            yield WorkItem.failed(manifest, "unreadable", f"manifest {manifest}: {exc}")
            return
        for number, raw in enumerate(lines, start=1):
            entry = raw.strip()
            if not entry or entry.startswith("#"):
                continue
            if not is_uri(entry) and not os.path.isabs(entry):
                entry = os.path.join(base, entry)
            yield from self._source(entry, where=f"{manifest}:{number}")

    def _file(self, path: str, info: os.stat_result) -> Iterator[WorkItem]:
        if not stat.S_ISREG(info.st_mode):
            yield WorkItem.failed(path, "not_regular_file", f"{path}: not a regular file")
            return
        try:
            with open(path, "rb") as handle:
                head = handle.read(SCAN_SNIFF_BYTES)
        except OSError as exc:
            yield WorkItem.failed(path, "unreadable", f"{path}: cannot read: {exc}")
            return
        item = WorkItem(path, "file", location=path, size=info.st_size)
        fmt = sniff(head) if self.limits.max_depth > 0 else None  # depth 0: archives are files
        if fmt is None:
            yield item
            return

        def opener() -> IO[bytes]:
            return open(path, "rb")

        # The archive's members, then the archive itself: it is matched as a file too.
        yield from self.archives.expand(path, fmt, opener, location=path, container=item)

    def _uri(self, uri: str) -> Iterator[WorkItem]:
        try:
            fs, root = fsspec.core.url_to_fs(uri)
            if fs.isdir(root):
                listing = fs.find(root, detail=True)
                found = sorted(listing.items())
            else:
                found = [(root, fs.info(root))]
        except (OSError, ValueError, ImportError) as exc:
            yield WorkItem.failed(uri, "unreadable", f"{uri}: cannot list: {exc}")
            return
        for key, detail in found:
            if detail.get("type") == "directory":
                continue
            item_uri = fs.unstrip_protocol(key)
            item = WorkItem(item_uri, "uri", location=item_uri, size=detail.get("size"))
            fmt = _archive_by_name(key) if self.limits.max_depth > 0 else None
            if fmt is None:
                yield item
                continue

            def opener(key: str = key) -> IO[bytes]:
                handle: IO[bytes] = fs.open(key, "rb")
                return handle

            yield from self.archives.expand(item_uri, fmt, opener, container=item)


def _local_path(uri: str) -> str | None:
    """The local path a ``file://`` URI names, or None for other file systems."""
    try:
        fs, root = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError):
        return None
    return str(root) if isinstance(fs, LocalFileSystem) else None


def _archive_by_name(name: str) -> str | None:
    lower = name.lower()
    for suffix, fmt in _ARCHIVE_SUFFIXES.items():
        if lower.endswith(suffix):
            return fmt
    return None
