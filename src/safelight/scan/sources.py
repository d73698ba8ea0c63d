"""SOURCE arguments to work items: folders, files, archives, manifests and fsspec URIs.

* a folder is walked recursively in sorted order; symbolic links are followed, but a link
  back into a directory already being scanned is a recorded ``symlink_loop`` error;
* a file whose first bytes are a zip, tar or compressed stream is read as an archive;
* ``@FILE`` is a manifest: one path or URI per line (``#`` comments), relative paths taken
  from the manifest's folder;
* ``scheme://...`` (``s3://bucket/prefix``, ``file://``, ``memory://``) is opened with fsspec;
  a prefix is listed recursively, archives are recognised by their name.

Listing runs in the scanning process and reads only file heads; workers read the contents.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from typing import IO

import fsspec

from safelight.constants import SCAN_SNIFF_BYTES
from safelight.errors import UsageError
from safelight.scan.archives import ArchiveLimits, ArchiveReader, sniff
from safelight.scan.model import WorkItem

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
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.archives = ArchiveReader(limits)

    def items(self, sources: list[str]) -> Iterator[WorkItem]:
        for source in sources:
            if source.startswith("@"):
                yield from self._manifest(source[1:])
            else:
                yield from self._source(source, where=source)

    def _source(self, source: str, *, where: str) -> Iterator[WorkItem]:
        if is_uri(source):
            yield from self._uri(source)
            return
        path = os.path.abspath(source)
        try:
            info = os.stat(path)
        except OSError as exc:
            yield WorkItem.failed(path, "unreadable", f"{where}: cannot open {path}: {exc}")
            return
        if stat.S_ISDIR(info.st_mode):
            yield from self._folder(path, {(info.st_dev, info.st_ino): path})
        else:
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

    def _folder(self, folder: str, ancestors: dict[tuple[int, int], str]) -> Iterator[WorkItem]:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            yield WorkItem.failed(folder, "unreadable", f"{folder}: cannot list folder: {exc}")
            return
        for entry in entries:
            path = os.path.join(folder, entry.name)
            try:
                info = os.stat(path)  # follows links
            except OSError as exc:
                code = "symlink_loop" if exc.errno == errno.ELOOP else "unreadable"
                yield WorkItem.failed(path, code, f"{path}: cannot open: {exc}")
                continue
            if stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in ancestors:
                    yield WorkItem.failed(
                        path,
                        "symlink_loop",
                        f"{path}: link back to {ancestors[key]}, which is being scanned",
                    )
                    continue
                yield from self._folder(path, {**ancestors, key: path})
            else:
                yield from self._file(path, info)

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
        fmt = sniff(head) if self.limits.max_depth > 0 else None  # depth 0: archives are files
        if fmt is None:
            yield WorkItem(path, "file", location=path, size=info.st_size)
            return

        def opener() -> IO[bytes]:
            return open(path, "rb")

        yield from self.archives.expand(path, fmt, opener, location=path)

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
            fmt = _archive_by_name(key) if self.limits.max_depth > 0 else None
            if fmt is None:
                yield WorkItem(item_uri, "uri", location=item_uri, size=detail.get("size"))
                continue

            def opener(key: str = key) -> IO[bytes]:
                handle: IO[bytes] = fs.open(key, "rb")
                return handle

            yield from self.archives.expand(item_uri, fmt, opener)


def _archive_by_name(name: str) -> str | None:
    lower = name.lower()
    for suffix, fmt in _ARCHIVE_SUFFIXES.items():
        if lower.endswith(suffix):
            return fmt
    return None
