"""Reading zip and tar archives (plain, gz, bz2, xz, zst) member by member, in memory.

Every container is an item too, at every level: the archive file, each nested archive, and
the tar inside a compressed stream (its digests taken as it streams by), so an archive whose
own hash is known matches. Its item comes after its members and carries the error that
stopped its expansion, if any.

Nothing is ever extracted to disk, so hostile member names cannot write anywhere: a member
named ``../x.jpg`` or ``/abs/x.jpg``, or a zip directory entry holding data, is hashed and
matched like any member and flagged (``unsafe_name``, ``directory_name``), so no name can hide
its bytes; nor can a tar type GNU tar would extract as a file (``unknown_type``).

Zip bombs are stopped by limits on compression ratio, member size, total expanded size, member
count and nesting depth (``ArchiveLimits``), enforced while decompressing. Each problem becomes
a per-item error and the scan goes on.
"""

from __future__ import annotations

import dataclasses
import io
import lzma
import os
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

import zstandard

from safelight.constants import (
    SCAN_MAX_ARCHIVE_BYTES,
    SCAN_MAX_ARCHIVE_DEPTH,
    SCAN_MAX_ARCHIVE_MEMBERS,
    SCAN_MAX_COMPRESSION_RATIO,
    SCAN_MAX_MEMBER_BYTES,
    SCAN_SNIFF_BYTES,
)
from safelight.errors import ItemError
from safelight.scan.model import (
    DIRECTORY_NAME,
    UNKNOWN_TYPE,
    UNSAFE_NAME,
    MemberRef,
    WorkItem,
)
from safelight.scan.streams import (
    GUARD_CHUNK_BYTES,
    RATIO_FLOOR_BYTES,
    ArchiveStop,
    Counting,
    Digests,
    RatioGuard,
    Replay,
    decompressor,
    read_or_digest,
)
from safelight.signals.records import HashRecord

COMPRESSED_FORMATS = ("gzip", "bzip2", "xz", "zstd")
# What reading corrupt compressed data raises (zlib's and lzma's errors are not OSErrors);
# zipfile adds ValueError: a negative seek (a header pointing before the file's start) or a
# UnicodeDecodeError (a name flagged UTF-8 that is not); NotImplementedError: a version or
# compression method it does not know.
_CORRUPT = (OSError, EOFError, ValueError, NotImplementedError, zlib.error, lzma.LZMAError)


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_ratio: float = SCAN_MAX_COMPRESSION_RATIO
    max_member_bytes: int = SCAN_MAX_MEMBER_BYTES
    max_archive_bytes: int = SCAN_MAX_ARCHIVE_BYTES
    max_depth: int = SCAN_MAX_ARCHIVE_DEPTH
    max_members: int = SCAN_MAX_ARCHIVE_MEMBERS


@dataclass(slots=True)
class _Budget:
    """Expanded bytes and members consumed so far by one outermost archive."""

    limits: ArchiveLimits
    expanded: int = 0
    members: int = 0
    names: dict[str, int] = field(default_factory=dict)


def sniff(head: bytes) -> str | None:
    """The container format of bytes starting with ``head``, or None for ordinary data."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def unsafe_name(name: str) -> str | None:
    """Why a member name could escape an extraction directory, or None if it cannot."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return "absolute path"
    if ".." in normal.split("/"):
        return "parent-directory ('..') component"
    if "\x00" in normal:
        return "NUL character"
    return None


def _entry_spans(archive: zipfile.ZipFile) -> dict[int, int]:
    """Bytes from each local header to the next one (or to the central directory): the most
    that entry's compressed data can really occupy."""
    offsets = sorted({info.header_offset for info in archive.infolist()})
    if not offsets:
        return {}
    ends = [*offsets[1:], max(archive.start_dir, offsets[-1])]
    return {offset: end - offset for offset, end in zip(offsets, ends, strict=True)}


def _name_flags(name: str) -> tuple[str, ...]:
    return (UNSAFE_NAME,) if unsafe_name(name) else ()


class ArchiveReader:
    """Yields the members of one archive (and of archives nested in it) as work items."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits

    def expand(
        self,
        logical: str,
        fmt: str,
        open_stream: Callable[[], IO[bytes]],
        location: str | None = None,
        container: WorkItem | None = None,
    ) -> Iterator[WorkItem]:
        """Members of the archive ``open_stream`` opens, then ``container``, the archive's own
        item, carrying the error that stopped the expansion if one did (without a container,
        that error is an item of its own). ``location``, the local path of a zip file, lets
        workers read its members themselves (kind ``member``): only references travel to
        them, not bytes."""
        if self.limits.max_depth < 1:  # no archive level may be opened
            if container is not None:
                yield container
            return
        budget = _Budget(self.limits)
        yield from self._expand(logical, fmt, open_stream, 1, budget, location, container)

    def _expand(
        self,
        logical: str,
        fmt: str,
        open_stream: Callable[[], IO[bytes]],
        depth: int,
        budget: _Budget,
        location: str | None = None,
        container: WorkItem | None = None,
    ) -> Iterator[WorkItem]:
        error: ItemError | None = None
        try:
            with open_stream() as stream:
                if fmt == "zip":
                    yield from self._zip(logical, stream, depth, budget, location)
                else:
                    yield from self._stream(logical, fmt, stream, depth, budget)
        except ArchiveStop as stop:
            error = ItemError(stop.code, f"{logical}: {stop}")
        except (*_CORRUPT, zipfile.BadZipFile, tarfile.TarError) as exc:
            code = "truncated" if isinstance(exc, EOFError) else "corrupt_archive"
            error = ItemError(code, f"{logical}: cannot read archive: {exc}")
        except zstandard.ZstdError as exc:
            error = ItemError("corrupt_archive", f"{logical}: cannot read: {exc}")
        if container is not None:
            yield dataclasses.replace(container, error=error) if error else container
        elif error is not None:
            yield WorkItem.failed(logical, error.code, error.message)

    def _member_path(self, logical: str, name: str, budget: _Budget) -> str:
        path = f"{logical}!/{name}"
        seen = budget.names.get(path, 0) + 1
        budget.names[path] = seen
        # An archive may hold the same name twice; each copy is its own item.
        return path if seen == 1 else f"{path}#{seen}"

    def _account(self, budget: _Budget, size: int) -> None:
        budget.members += 1
        if budget.members > self.limits.max_members:
            raise ArchiveStop(
                "archive_bomb", f"more than {self.limits.max_members} members; stopped reading"
            )
        budget.expanded += size
        if budget.expanded > self.limits.max_archive_bytes:
            raise ArchiveStop(
                "archive_bomb",
                f"expands beyond {self.limits.max_archive_bytes} bytes in total; stopped reading",
            )

    def _member(
        self,
        path: str,
        content: bytes | HashRecord,
        depth: int,
        budget: _Budget,
        flags: tuple[str, ...] = (),
    ) -> Iterator[WorkItem]:
        if isinstance(content, HashRecord):  # over the member limit: its digests only
            yield WorkItem(path, "digested", size=content.size, record=content, flags=flags)
            return
        data = content
        item = WorkItem(path, "inline", data=data, size=len(data), flags=flags)
        fmt = sniff(data[:512])
        if fmt is not None and depth < self.limits.max_depth:
            # A nested archive: its members, then itself (hashed and matched as a file too).
            def opener() -> IO[bytes]:
                return io.BytesIO(data)

            yield from self._expand(path, fmt, opener, depth + 1, budget, container=item)
        else:
            yield item

    def _zip(
        self,
        logical: str,
        stream: IO[bytes],
        depth: int,
        budget: _Budget,
        location: str | None = None,
    ) -> Iterator[WorkItem]:
        stamp = os.fstat(stream.fileno()) if location is not None else None
        with zipfile.ZipFile(stream) as archive:
            spans = _entry_spans(archive)
            for info in archive.infolist():
                flags = _name_flags(info.filename)
                if info.filename.endswith("/"):  # is_dir(), which fails on an empty name
                    if info.file_size == 0:
                        continue  # a folder: nothing to read
                    flags += (DIRECTORY_NAME,)  # "hidden.jpg/" holding bytes
                path = self._member_path(logical, info.filename, budget)
                if info.flag_bits & 0x1:
                    yield WorkItem.failed(path, "encrypted", f"{path}: member is encrypted", flags)
                    continue
                problem = self._zip_bomb(info, spans[info.header_offset])
                if problem:
                    yield WorkItem.failed(path, problem[0], f"{path}: {problem[1]}", flags)
                    continue
                self._account(budget, info.file_size)
                reference: WorkItem | None = None
                try:
                    with archive.open(info) as member:
                        head = member.read(SCAN_SNIFF_BYTES) if stamp is not None else b""
                        if stamp is not None and (
                            sniff(head) is None or depth >= self.limits.max_depth
                        ):
                            # Not an archive to open here: the worker reads it itself.
                            ref = MemberRef(
                                info.filename, info.header_offset, stamp.st_size, stamp.st_mtime_ns
                            )
                            reference = WorkItem(
                                path,
                                "member",
                                location,
                                size=info.file_size,
                                member=ref,
                                flags=flags,
                            )
                        else:
                            content = read_or_digest(member, self.limits.max_member_bytes, head)
                except ArchiveStop as stop:
                    yield WorkItem.failed(path, stop.code, f"{path}: {stop}", flags)
                    continue
                except (*_CORRUPT, zipfile.BadZipFile) as exc:
                    message = f"{path}: cannot read member: {exc}"
                    yield WorkItem.failed(path, "unreadable", message, flags)
                    continue
                if reference is not None:
                    yield reference
                    continue
                yield from self._member(path, content, depth, budget, flags)

    def _zip_bomb(self, info: zipfile.ZipInfo, span: int) -> tuple[str, str] | None:
        if info.compress_size > span:
            # zipfile stops inflating at the end of the deflate stream, not at the declared
            # compressed size: an overstated size would let a 1000:1 member pass as 85:1,
            # and entries overlapping one another are the "overlapped" zip bomb.
            return "archive_bomb", (
                f"declares {info.compress_size} compressed bytes, but its entry holds at most "
                f"{span} (lying or overlapping headers)"
            )
        if info.file_size > RATIO_FLOOR_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > self.limits.max_ratio:
                return "archive_bomb", (
                    f"compression ratio {ratio:.0f}:1 exceeds the limit of "
                    f"{self.limits.max_ratio:.0f}:1"
                )
        return None

    def _stream(
        self, logical: str, fmt: str, raw: IO[bytes], depth: int, budget: _Budget
    ) -> Iterator[WorkItem]:
        counting = Counting(raw)
        plain: IO[bytes] = io.BufferedReader(counting)
        if fmt in COMPRESSED_FORMATS:
            guard = RatioGuard(decompressor(fmt, plain), counting, self.limits.max_ratio)
            plain = io.BufferedReader(guard, buffer_size=GUARD_CHUNK_BYTES)
        head = plain.read(512)
        if fmt != "tar" and sniff(head) != "tar":
            # A single compressed file (photo.jpg.gz): one member named without the suffix.
            name = posixpath.splitext(logical.rsplit("/", 1)[-1])[0] or "data"
            path = self._member_path(logical, name, budget)
            content = read_or_digest(plain, self.limits.max_member_bytes, head)
            size = (content.size or 0) if isinstance(content, HashRecord) else len(content)
            self._account(budget, size)
            yield from self._member(path, content, depth, budget)
            return
        # The tar inside a compressed stream is a container too: its digests are taken as
        # tarfile reads it, so a known .tar compressed to hide its hash still matches.
        tar_digests = Digests() if fmt in COMPRESSED_FORMATS else None
        prefixed = io.BufferedReader(Replay(head, plain, tar_digests))
        with tarfile.open(fileobj=prefixed, mode="r|") as archive:
            for info in archive:
                flags = _name_flags(info.name)
                if not info.isfile():
                    if info.type in tarfile.SUPPORTED_TYPES or not info.size:
                        continue  # folders, links, devices: no bytes of their own
                    # GNU tar extracts an unknown type as a regular file: so do we.
                    flags += (UNKNOWN_TYPE,)
                path = self._member_path(logical, info.name, budget)
                self._account(budget, info.size)
                member = archive.extractfile(info)
                cap = self.limits.max_member_bytes
                body = read_or_digest(member, cap) if member is not None else b""
                yield from self._member(path, body, depth, budget, flags)
        if tar_digests is not None:
            while prefixed.read(GUARD_CHUNK_BYTES):
                pass  # the tar's end padding: its digests cover every byte
            yield self._decompressed_tar(logical, tar_digests.record(), budget)

    def _decompressed_tar(self, logical: str, record: HashRecord, budget: _Budget) -> WorkItem:
        stem = posixpath.splitext(logical.rsplit("/", 1)[-1])[0] or "data"
        name = stem if stem.endswith(".tar") else f"{stem}.tar"
        path = self._member_path(logical, name, budget)
        return WorkItem(path, "digested", size=record.size, record=record)
