"""Reading compressed streams under the archive limits, a bounded chunk at a time.

``ArchiveReader`` (``archives.py``) reads every gz, bz2, xz and zst stream, and every member,
through these: the ratio limit is checked after each chunk of at most ``GUARD_CHUNK_BYTES``
decompressed, and members are read a chunk at a time against their size limit, so a bomb is
stopped within a chunk of crossing a limit, never after a member was read whole.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import IO, Any, cast

import zstandard

from safelight.signals.records import HashRecord
from safelight.signals.types import registry

# Members smaller than this are never called bombs: a megabyte of zeros is harmless.
RATIO_FLOOR_BYTES = 1 << 20
# Most bytes decompressed in one step before the limits are checked again: a bomb is stopped
# within this much of crossing a limit, so a member costs at most the ratio floor plus this.
GUARD_CHUNK_BYTES = 1 << 20


class ArchiveStop(Exception):
    """Reading this archive cannot go on safely; carries the error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decompressor(fmt: str, raw: IO[bytes]) -> IO[bytes]:
    if fmt == "gzip":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    if fmt == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if fmt == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    # Every frame: ``zstd`` writes several for large inputs, and stopping after the first
    # would hide whatever follows it.
    reader: IO[bytes] = zstandard.ZstdDecompressor().stream_reader(
        raw, closefd=False, read_across_frames=True
    )
    return reader


class Counting(io.RawIOBase):
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


class Digests:
    """The file digests (MD5, SHA-1, SHA-256 and registered ones) of bytes fed in pieces: a
    record of data never held whole."""

    def __init__(self) -> None:
        self.size = 0
        self.hashes = [(t.name, t.new_hasher()) for t in registry.file_digests()]

    def update(self, data: bytes | bytearray) -> None:
        self.size += len(data)
        for _, digest in self.hashes:
            digest.update(data)

    def record(self, path: str = "") -> HashRecord:
        """The record of the bytes fed so far (``path`` is set by the caller that knows it)."""
        digests = {name: digest.hexdigest() for name, digest in self.hashes}
        return HashRecord(path, "other", size=self.size, digests=digests)


class Replay(io.RawIOBase):
    """``head`` followed by the rest of ``inner``: un-reads a sniffed prefix. With ``digests``,
    it also takes the digests of every byte that passes (the tar inside a compressed stream)."""

    def __init__(self, head: bytes, inner: IO[bytes], digests: Digests | None = None) -> None:
        self.head = head
        self.inner = inner
        self.digests = digests

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            data = self.head[: len(buffer)]
            self.head = self.head[len(data) :]
        else:
            data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        if self.digests is not None:
            self.digests.update(data)
        return len(data)


class RatioGuard(io.RawIOBase):
    """The decompressed side of a stream, with the ratio limit checked on every step.

    Each read decompresses at most ``GUARD_CHUNK_BYTES``; past ``RATIO_FLOOR_BYTES`` the bytes
    produced so far are held to ``max_ratio`` times the compressed bytes consumed
    (``counting``). So a bomb stops a chunk after crossing the ratio, whatever reads it: a
    single-file member, tar headers, or a tar member being read or skipped.
    """

    def __init__(self, plain: IO[bytes], counting: Counting, max_ratio: float) -> None:
        self.plain = plain
        self.counting = counting
        self.max_ratio = max_ratio
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.plain.read(min(len(buffer), GUARD_CHUNK_BYTES))
        buffer[: len(data)] = data
        self.produced += len(data)
        check_ratio(self.produced, self.counting.count, self.max_ratio)
        return len(data)


def check_ratio(expanded: int, compressed: int, max_ratio: float) -> None:
    if expanded > RATIO_FLOOR_BYTES and expanded / max(compressed, 1) > max_ratio:
        raise ArchiveStop(
            "archive_bomb",
            f"expanded {expanded} bytes from {compressed} compressed "
            f"(over {max_ratio:.0f}:1); stopped reading",
        )


def read_or_digest(stream: IO[bytes], cap: int, head: bytes = b"") -> bytes | HashRecord:
    """``head`` and the rest of ``stream``: its bytes when they number at most ``cap``, else
    only its digests, taken as it streams by. Read a chunk at a time, so a reader's limits
    apply between chunks, and never more than ``cap`` bytes (plus a chunk) are held."""
    data = bytearray(head)
    while chunk := stream.read(GUARD_CHUNK_BYTES):
        data += chunk
        if len(data) > cap:
            digests = Digests()
            digests.update(data)
            del data
            while chunk := stream.read(GUARD_CHUNK_BYTES):
                digests.update(chunk)
            return digests.record()
    return bytes(data)
