"""Reading zip and tar archives (plain, gz, bz2, xz, zst) member by member, in memory.

Nothing is ever extracted to disk, so hostile member names cannot write anywhere; they are
still recorded as per-item errors because no honest archive carries them. Zip bombs are
stopped by limits on compression ratio, member size, total expanded size, member count and
nesting depth (``ArchiveLimits``). Each problem becomes a failed ``WorkItem`` and the scan goes
on; a stream that cannot be read further ends that archive with one failed item for it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast

import zstandard

from safelight.constants import (
    SCAN_MAX_ARCHIVE_BYTES,
    SCAN_MAX_ARCHIVE_DEPTH,
    SCAN_MAX_ARCHIVE_MEMBERS,
    SCAN_MAX_COMPRESSION_RATIO,
    SCAN_MAX_MEMBER_BYTES,
    SCAN_SNIFF_BYTES,
)
from safelight.scan.model import MemberRef, WorkItem

# Members smaller than this are never called bombs: a megabyte of zeros is harmless.
RATIO_FLOOR_BYTES = 1 << 20
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


class ArchiveStop(Exception):
    """Reading this archive cannot go on safely; carries the error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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


def _decompressor(fmt: str, raw: IO[bytes]) -> IO[bytes]:
    if fmt == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if fmt == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if fmt == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(raw, closefd=False)
    return reader


class _Counting(io.RawIOBase):
    """Counts bytes read through it (compressed bytes consumed, for the ratio check)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``inner``: un-reads a sniffed prefix."""

    def __init__(self, head: bytes, inner: IO[bytes]) -> None:
        self.head = head
        self.inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_capped(stream: IO[bytes], cap: int) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise ArchiveStop("too_large", f"expands beyond the member limit of {cap} bytes")
    return data


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
    ) -> Iterator[WorkItem]:
        """Members of the archive ``open_stream`` opens. ``location``, the local path of a zip
        file, lets workers read its members themselves (kind ``member``): only references
        travel to them, not bytes."""
        budget = _Budget(self.limits)
        yield from self._expand(logical, fmt, open_stream, 1, budget, location)

    def _expand(
        self,
        logical: str,
        fmt: str,
        open_stream: Callable[[], IO[bytes]],
        depth: int,
        budget: _Budget,
        location: str | None = None,
    ) -> Iterator[WorkItem]:
        try:
            with open_stream() as stream:
                if fmt == "zip":
                    yield from self._zip(logical, stream, depth, budget, location)
                else:
                    yield from self._stream(logical, fmt, stream, depth, budget)
        except ArchiveStop as stop:
            yield WorkItem.failed(logical, stop.code, f"{logical}: {stop}")
        except (*_CORRUPT, zipfile.BadZipFile, tarfile.TarError) as exc:
            code = "truncated" if isinstance(exc, EOFError) else "corrupt_archive"
            yield WorkItem.failed(logical, code, f"{logical}: cannot read archive: {exc}")
        except zstandard.ZstdError as exc:
            yield WorkItem.failed(logical, "corrupt_archive", f"{logical}: cannot read: {exc}")

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

    def _member(self, path: str, data: bytes, depth: int, budget: _Budget) -> Iterator[WorkItem]:
        fmt = sniff(data[:512])
        if fmt is not None and depth < self.limits.max_depth:
            yield from self._expand(path, fmt, lambda: io.BytesIO(data), depth + 1, budget)
        else:
            yield WorkItem(path, "inline", data=data, size=len(data))

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
            for info in archive.infolist():
                if info.filename.endswith("/"):  # is_dir(), which fails on an empty name
                    continue
                path = self._member_path(logical, info.filename, budget)
                reason = unsafe_name(info.filename)
                if reason:
                    yield WorkItem.failed(path, "unsafe_path", f"{path}: member name has {reason}")
                    continue
                if info.flag_bits & 0x1:
                    yield WorkItem.failed(path, "encrypted", f"{path}: member is encrypted")
                    continue
                problem = self._zip_bomb(info)
                if problem:
                    yield WorkItem.failed(path, problem[0], f"{path}: {problem[1]}")
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
                                path, "member", location, size=info.file_size, member=ref
                            )
                        else:
                            rest = self.limits.max_member_bytes - len(head)
                            data = head + _read_capped(member, rest)
                except ArchiveStop as stop:
                    yield WorkItem.failed(path, stop.code, f"{path}: {stop}")
                    continue
                except (*_CORRUPT, zipfile.BadZipFile) as exc:
                    yield WorkItem.failed(path, "unreadable", f"{path}: cannot read member: {exc}")
                    continue
                if reference is not None:
                    yield reference
                    continue
                yield from self._member(path, data, depth, budget)

    def _zip_bomb(self, info: zipfile.ZipInfo) -> tuple[str, str] | None:
        if info.file_size > self.limits.max_member_bytes:
            return "too_large", f"declares {info.file_size} bytes, over the member limit"
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
        counting = _Counting(raw)
        plain: IO[bytes] = io.BufferedReader(counting)
        if fmt in COMPRESSED_FORMATS:
            plain = _decompressor(fmt, plain)
        head = plain.read(512)
        if fmt != "tar" and sniff(head) != "tar":
            # A single compressed file (photo.jpg.gz): one member named without the suffix.
            name = posixpath.splitext(logical.rsplit("/", 1)[-1])[0] or "data"
            path = self._member_path(logical, name, budget)
            data = head + _read_capped(plain, self.limits.max_member_bytes - len(head))
            self._check_ratio(len(data), counting.count)
            self._account(budget, len(data))
            yield from self._member(path, data, depth, budget)
            return
        prefixed = io.BufferedReader(_Prefixed(head, plain))
        with tarfile.open(fileobj=prefixed, mode="r|") as archive:
            expanded = 0
            for info in archive:
                if not info.isfile():
                    continue
                path = self._member_path(logical, info.name, budget)
                reason = unsafe_name(info.name)
                if reason:
                    yield WorkItem.failed(path, "unsafe_path", f"{path}: member name has {reason}")
                    continue
                if info.size > self.limits.max_member_bytes:
                    # Skipping it would still mean decompressing all of it: stop here.
                    yield WorkItem.failed(
                        path, "too_large", f"{path}: declares {info.size} bytes, over the limit"
                    )
                    raise ArchiveStop("too_large", "stopped at an oversized member")
                self._account(budget, info.size)
                member = archive.extractfile(info)
                data = member.read() if member is not None else b""
                expanded += len(data)
                self._check_ratio(expanded, counting.count)
                yield from self._member(path, data, depth, budget)

    def _check_ratio(self, expanded: int, compressed: int) -> None:
        if expanded > RATIO_FLOOR_BYTES and expanded / max(compressed, 1) > self.limits.max_ratio:
            raise ArchiveStop(
                "archive_bomb",
                f"expanded {expanded} bytes from {compressed} compressed "
                f"(over {self.limits.max_ratio:.0f}:1); stopped reading",
            )
