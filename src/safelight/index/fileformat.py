"""The segment file: a 4 KiB header, then page-aligned sections, each with a CRC-32.

    offset 0     header (HEADER_SIZE bytes), little-endian:
                 magic "SLIDX\\0\\r\\n", format version u32, kind u32, signal type 16s,
                 rows u64, key bytes u32, id width u32, id base i64, id min i64, id max i64,
                 flags u32, section count u32,
                 then per section: name 16s, offset u64, length u64, crc32 u32, 4 spare bytes,
                 and in the last 4 bytes the CRC-32 of every header byte before them.
    offset 4096  sections, each starting on a 4 KiB boundary, zero padding between them.

The file is exactly as long as the end of its last section rounded up to 4 KiB, so a
truncated file fails the size check on open. See docs/index-format.md for the trade-offs.
Files are written to a temporary name, fsynced, then renamed: a crash leaves either no file
or a whole one, never half of one under the real name.
"""

from __future__ import annotations

import mmap
import os
import secrets
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from safelight.constants import INDEX_FORMAT_VERSION
from safelight.errors import IndexCorruptError

MAGIC = b"SLIDX\x00\r\n"
HEADER_SIZE = 4096
PAGE = 4096
KIND_HAMMING = 1
KIND_DIGEST = 2
KIND_IDSET = 3
KIND_NAMES = {KIND_HAMMING: "hamming", KIND_DIGEST: "digest", KIND_IDSET: "idset"}
FLAG_MIH = 1  # the Hamming segment carries multi-index hashing tables

_FIXED = struct.Struct("<8sII16sQIIqqqII")
_SECTION = struct.Struct("<16sQQII")
MAX_SECTIONS = (HEADER_SIZE - _FIXED.size - 4) // _SECTION.size
# zlib.crc32 releases the GIL and runs at about 2.4 GB/s here; feed it 64 MiB at a time.
_CRC_BLOCK = 64 << 20


@dataclass(frozen=True, slots=True)
class Header:
    """What a segment header says about its file."""

    kind: int
    signal_type: str
    rows: int
    key_bytes: int
    id_width: int
    id_base: int
    id_min: int
    id_max: int
    flags: int = 0
    version: int = INDEX_FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    offset: int
    length: int
    crc32: int


def _align(value: int) -> int:
    return (value + PAGE - 1) // PAGE * PAGE


def crc32_range(mapping: Any, start: int, length: int) -> int:
    """CRC-32 of ``mapping[start:start + length]`` without copying it, in 64 MiB blocks."""
    crc = 0
    with memoryview(mapping) as view:
        for pos in range(start, start + length, _CRC_BLOCK):
            with view[pos : min(start + length, pos + _CRC_BLOCK)] as block:
                crc = zlib.crc32(block, crc)
    return crc


def _pack_header(header: Header, sections: list[Section]) -> bytes:
    signal = header.signal_type.encode("ascii")
    fixed = _FIXED.pack(
        MAGIC,
        header.version,
        header.kind,
        signal,
        header.rows,
        header.key_bytes,
        header.id_width,
        header.id_base,
        header.id_min,
        header.id_max,
        header.flags,
        len(sections),
    )
    table = b"".join(
        _SECTION.pack(s.name.encode("ascii"), s.offset, s.length, s.crc32, 0) for s in sections
    )
    body = (fixed + table).ljust(HEADER_SIZE - 4, b"\x00")
    return body + struct.pack("<I", zlib.crc32(body))


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(final: Path) -> Path:
    """A temporary sibling name carrying our pid, so a cleaner can tell live ones from dead."""
    return final.with_name(f".tmp-{os.getpid()}-{secrets.token_hex(4)}-{final.name}")


class SegmentWriter:
    """Lays out a segment file, hands out each section as an array to fill, then seals it.

    Usage: ``w = SegmentWriter(path, header, [(name, dtype, shape), ...])``; fill
    ``w.arrays[name]``; ``w.commit()`` checksums the sections, writes header and sections to
    a temporary file, fsyncs it and renames it to ``path``. ``w.abort()`` drops everything.

    Sections are filled in anonymous memory (numpy asks for transparent huge pages), not in
    a mapping of the new file: page-faulting a fresh file mapping 4 KiB at a time, and the
    scattered writes of the bucket sort into it, made a 10M build 2x slower.
    """

    def __init__(
        self, path: Path, header: Header, layout: list[tuple[str, Any, tuple[int, ...]]]
    ) -> None:
        if len(layout) > MAX_SECTIONS:
            raise ValueError(f"at most {MAX_SECTIONS} sections")
        self.path = path
        self.header = header
        self.tmp = temp_name(path)
        self.arrays: dict[str, np.ndarray] = {
            name: np.empty(shape, dtype=dtype) for name, dtype, shape in layout
        }
        self._place()

    def _place(self) -> None:
        offset = HEADER_SIZE
        self._places: list[tuple[str, int, int]] = []
        for name, array in self.arrays.items():
            self._places.append((name, offset, array.nbytes))
            offset = _align(offset + array.nbytes)
        self.size = offset

    def replace(self, name: str, array: np.ndarray) -> None:
        """Swap in a section whose size was known only once the data was (before commit)."""
        if name not in self.arrays:
            raise KeyError(name)
        self.arrays[name] = array
        self._place()

    def commit(self) -> int:
        """Seal the file under its final name; return the header's CRC-32."""
        arrays = [
            np.ascontiguousarray(self.arrays[name]).reshape(-1).view(np.uint8)
            for name, _, _ in self._places
        ]
        # zlib.crc32 releases the GIL: checksum the sections on all cores at once.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            crcs = list(pool.map(lambda a: crc32_range(a, 0, a.size), arrays))
        sections = [
            Section(name, start, length, crc)
            for (name, start, length), crc in zip(self._places, crcs, strict=True)
        ]
        packed = _pack_header(self.header, sections)
        try:
            with open(self.tmp, "wb") as handle:
                handle.write(packed)
                for (_, start, _), array in zip(self._places, arrays, strict=True):
                    handle.seek(start)
                    handle.write(array.data)
                handle.truncate(self.size)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        fsync_dir(self.path.parent)
        self.arrays.clear()
        return int(struct.unpack("<I", packed[-4:])[0])

    def abort(self) -> None:
        self.arrays.clear()
        self.tmp.unlink(missing_ok=True)


def corrupt_error(path: Path, why: str) -> IndexCorruptError:
    return IndexCorruptError(f"index file {path}: {why}; rebuild the index from the store")


def _unpack_header(path: Path, raw: bytes) -> tuple[Header, list[Section], int]:
    if len(raw) < HEADER_SIZE:
        raise corrupt_error(path, f"truncated: {len(raw)} bytes, shorter than the header")
    if raw[:8] != MAGIC:
        raise corrupt_error(path, "not a Safelight index file (bad magic)")
    (stored,) = struct.unpack("<I", raw[HEADER_SIZE - 4 : HEADER_SIZE])
    if zlib.crc32(raw[: HEADER_SIZE - 4]) != stored:
        raise corrupt_error(path, "header checksum mismatch")
    fields = _FIXED.unpack_from(raw, 0)
    version = fields[1]
    if version != INDEX_FORMAT_VERSION:
        readable = INDEX_FORMAT_VERSION
        raise corrupt_error(path, f"format version {version}, Safelight reads {readable}")
    count = fields[11]
    if count > MAX_SECTIONS:
        raise corrupt_error(path, f"{count} sections, at most {MAX_SECTIONS} fit")
    header = Header(
        kind=fields[2],
        signal_type=fields[3].rstrip(b"\x00").decode("ascii", "replace"),
        rows=fields[4],
        key_bytes=fields[5],
        id_width=fields[6],
        id_base=fields[7],
        id_min=fields[8],
        id_max=fields[9],
        flags=fields[10],
        version=version,
    )
    sections = []
    for i in range(count):
        name, offset, length, crc, _ = _SECTION.unpack_from(raw, _FIXED.size + i * _SECTION.size)
        sections.append(
            Section(name.rstrip(b"\x00").decode("ascii", "replace"), offset, length, crc)
        )
    return header, sections, stored


class SegmentFile:
    """A sealed segment file, memory-mapped read-only; sections come as zero-copy arrays."""

    def __init__(self, path: Path, *, verify: bool = False) -> None:
        self.path = path
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                raw = handle.read(HEADER_SIZE)
                self.header, sections, self.header_crc = _unpack_header(path, raw)
                self.sections = {s.name: s for s in sections}
                end = HEADER_SIZE
                for s in sections:
                    if s.offset < HEADER_SIZE or s.offset % PAGE:
                        raise corrupt_error(path, f"section {s.name} at a bad offset {s.offset}")
                    end = max(end, _align(s.offset + s.length))
                if size != end:
                    why = "truncated" if size < end else "has trailing bytes"
                    raise corrupt_error(path, f"{why}: {size} bytes, the header describes {end}")
                self.size = size
                self._map = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise corrupt_error(path, f"cannot be read ({exc})") from exc
        if verify:
            self.verify()

    def array(self, name: str, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
        """Section ``name`` as a read-only array of ``dtype`` and ``shape`` (checked)."""
        section = self.sections.get(name)
        if section is None:
            raise corrupt_error(self.path, f"section {name} is missing")
        itemsize = np.dtype(dtype).itemsize
        count = int(np.prod(shape, dtype=np.int64))
        if section.length != count * itemsize:
            raise corrupt_error(
                self.path,
                f"section {name} holds {section.length} bytes, expected {count * itemsize}",
            )
        array = np.frombuffer(self._map, dtype=dtype, count=count, offset=section.offset)
        return array.reshape(shape)

    def verify(self) -> None:
        """Check every section's CRC-32 (reads the whole file)."""
        for s in self.sections.values():
            if crc32_range(self._map, s.offset, s.length) != s.crc32:
                raise corrupt_error(self.path, f"section {s.name} checksum mismatch")
