"""File digests (MD5, SHA-1, SHA-256 and registered ones) in one read of a file, and the
bytes kept for the decoder.

Each block read goes to every requested digest before the next block is read, so a file is
read once however many digests are asked for; hashlib releases the GIL on large blocks. Files
up to ``READ_IN_MEMORY_LIMIT`` are read whole and the same bytes feed the image decoder; larger
ones are streamed block by block (the decoder then reads them from the path).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from safelight.constants import DIGEST_BLOCK_SIZE, READ_IN_MEMORY_LIMIT
from safelight.errors import MediaError
from safelight.signals.types import registry

DIGEST_NAMES = ("md5", "sha1", "sha256")  # the built-in digests; see signals.types


@dataclass(frozen=True, slots=True)
class FileRead:
    """One read of a file: its size, its hex digests, and its bytes if small enough."""

    size: int
    digests: dict[str, str]
    data: bytes | None
    head: bytes


def _hashers(names: Iterable[str]) -> list[tuple[str, hashlib._Hash]]:
    """A fresh hasher per digest, made by its signal type (registered types included)."""
    return [(name, registry.get(name).new_hasher()) for name in names]


def digest_bytes(data: bytes | memoryview, names: Iterable[str] = DIGEST_NAMES) -> dict[str, str]:
    """Hex digests of bytes already in memory, fed block by block to all digests."""
    hashers = _hashers(names)
    view = memoryview(data)
    for start in range(0, len(view), DIGEST_BLOCK_SIZE):
        block = view[start : start + DIGEST_BLOCK_SIZE]
        for _, hasher in hashers:
            hasher.update(block)
    return {name: hasher.hexdigest() for name, hasher in hashers}


def _describe_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _unreadable(path: str, reason: str) -> MediaError:
    return MediaError(f"{path}: cannot read: {reason}", code="unreadable", path=path)


def read_file(
    path: str,
    names: Iterable[str] = DIGEST_NAMES,
    *,
    in_memory_limit: int = READ_IN_MEMORY_LIMIT,
    head_bytes: int = 512,
) -> FileRead:
    """Read ``path`` once: size, digests, leading bytes, and the whole bytes when small.

    Raises MediaError(code="unreadable") for anything that is not a readable regular file;
    a FIFO is refused from its stat, before any open() that would block.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise _unreadable(path, "dangling symbolic link (its target does not exist)") from None
        raise _unreadable(path, "no such file") from None
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise _unreadable(path, _describe_kind(info.st_mode))
    names = tuple(names)
    hashers: list[tuple[str, hashlib._Hash]] = []
    try:
        with open(path, "rb") as handle:
            if info.st_size <= in_memory_limit:
                data = _read_all(handle, info.st_size)
                digests = digest_bytes(data, names)
                return FileRead(len(data), digests, data, data[:head_bytes])
            hashers = _hashers(names)
            size, head = _stream(handle, hashers, head_bytes)
    except OSError as exc:
        if exc.errno == errno.EISDIR:  # pragma: no cover - stat said regular file; a race
            raise _unreadable(path, "a directory") from None
        raise _unreadable(path, exc.strerror or str(exc)) from None
    return FileRead(size, {n: h.hexdigest() for n, h in hashers}, None, head)


def _read_all(handle: BinaryIO, expected: int) -> bytes:
    # One read of the stat size, then keep reading in case the file grew meanwhile.
    chunks = [handle.read(expected or DIGEST_BLOCK_SIZE)]
    while chunks[-1]:
        chunks.append(handle.read(DIGEST_BLOCK_SIZE))
    return chunks[0] if len(chunks) <= 2 else b"".join(chunks)


def _stream(
    handle: BinaryIO, hashers: list[tuple[str, hashlib._Hash]], head_bytes: int
) -> tuple[int, bytes]:
    size = 0
    head = b""
    while block := handle.read(DIGEST_BLOCK_SIZE):
        if not head:
            head = block[:head_bytes]
        size += len(block)
        for _, hasher in hashers:
            hasher.update(block)
    return size, head
