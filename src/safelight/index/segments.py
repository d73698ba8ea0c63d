"""Immutable segments: one file each, written once, then only memory-mapped and read.

A ``HammingSegment`` holds 256-bit hashes with multi-index hashing tables (``kernels.py``
describes the layout); a ``DigestSegment`` holds sorted fixed-width digests; an ``IdSet`` holds
a sorted set of entry ids (the disabled and removed sets). Every segment also keeps its entry
ids twice: in row order (to report matches) and sorted (to answer "is this id here?" for
duplicate checks and enable/disable without touching the hot arrays).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safelight.constants import MIH_MIN_SEGMENT_ROWS
from safelight.index import kernels, layout
from safelight.index.fileformat import (
    FLAG_MIH,
    KIND_DIGEST,
    KIND_HAMMING,
    KIND_IDSET,
    KIND_NAMES,
    Header,
    SegmentFile,
    SegmentWriter,
    corrupt_error,
)

I64 = npt.NDArray[np.int64]
_MAX_ROWS = (1 << 32) - 1  # row numbers and bucket offsets are uint32


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What the manifest records about a sealed file, to cross-check it when opened."""

    file: str
    rows: int
    size: int
    header_crc: int
    id_min: int
    id_max: int

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "size": self.size,
            "header_crc": self.header_crc,
            "id_min": self.id_min,
            "id_max": self.id_max,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SegmentInfo:
        return cls(
            str(data["file"]),
            int(data["rows"]),
            int(data["size"]),
            int(data["header_crc"]),
            int(data["id_min"]),
            int(data["id_max"]),
        )


def _encode_ids(ids: I64) -> tuple[np.ndarray, int, int]:
    """Ids as uint32 offsets from their minimum when they span < 2**32 (store ids do), else
    int64: 4 bytes per hash saved. Returns ``(encoded, width, base)``."""
    if ids.size == 0:
        return ids.astype(np.uint32), 4, 0
    low = int(ids.min())
    if int(ids.max()) - low <= _MAX_ROWS:
        return (ids - low).astype(np.uint32), 4, low
    return ids, 8, 0


def _header(kind: int, signal: str, rows: int, key_bytes: int, ids: I64, width: int, base: int,
            flags: int = 0) -> Header:  # fmt: skip
    id_min = int(ids.min()) if ids.size else 0
    id_max = int(ids.max()) if ids.size else -1
    return Header(kind, signal, rows, key_bytes, width, base, id_min, id_max, flags)


def _seal(writer: SegmentWriter) -> SegmentInfo:
    crc = writer.commit()
    h = writer.header
    return SegmentInfo(writer.path.name, h.rows, writer.size, crc, h.id_min, h.id_max)


class Segment:
    """Shared part of the segment readers: the file, its ids, checks against the manifest."""

    kind = 0

    def __init__(self, path: Path, info: SegmentInfo | None, *, verify: bool) -> None:
        self.file = SegmentFile(path, verify=verify)
        h = self.file.header
        if h.kind != self.kind:
            raise corrupt_error(
                path, f"is a {KIND_NAMES.get(h.kind, h.kind)} file, not {KIND_NAMES[self.kind]}"
            )
        if info is not None and (
            info.rows != h.rows
            or info.size != self.file.size
            or info.header_crc != self.file.header_crc
        ):
            raise corrupt_error(path, "does not match the manifest (rows, size or header checksum)")
        if h.id_width not in (4, 8):
            raise corrupt_error(path, f"bad id width {h.id_width}")
        self.rows = h.rows
        self.signal_type = h.signal_type
        id_dtype = np.uint32 if h.id_width == 4 else np.int64
        self._ids = self.file.array("ids", id_dtype, (h.rows,))
        self._ids_sorted = self.file.array("ids_sorted", id_dtype, (h.rows,))
        self._id_base = h.id_base
        self.id_min = h.id_min
        self.id_max = h.id_max

    def ids_of(self, rows: np.ndarray) -> I64:
        """Entry ids of the given row numbers."""
        ids: I64 = self._ids[rows].astype(np.int64) + self._id_base
        return ids

    def all_ids(self) -> I64:
        ids: I64 = self._ids.astype(np.int64) + self._id_base
        return ids

    def contains(self, ids: I64) -> npt.NDArray[np.bool_]:
        """Which of ``ids`` are in this segment (binary search on the sorted ids)."""
        found = np.zeros(ids.size, dtype=np.bool_)
        if self.rows == 0:
            return found
        inside = (ids >= self.id_min) & (ids <= self.id_max)
        wanted = ids[inside] - self._id_base
        pos = np.searchsorted(self._ids_sorted, wanted.astype(self._ids_sorted.dtype))
        pos = np.minimum(pos, self.rows - 1)
        found[inside] = self._ids_sorted[pos] == wanted
        return found

    def verify(self) -> None:
        self.file.verify()


def _write_ids(writer: SegmentWriter, encoded: np.ndarray, order: np.ndarray | None) -> None:
    if order is None:
        writer.arrays["ids"][:] = encoded
    else:
        np.take(encoded, order, out=writer.arrays["ids"])
    if encoded.size < 2 or bool(np.all(encoded[1:] > encoded[:-1])):
        writer.arrays["ids_sorted"][:] = encoded  # store ids usually arrive in order
    else:
        writer.arrays["ids_sorted"][:] = np.sort(encoded)


def _sort_chunk(
    values: np.ndarray, chunks: I64, c: int, order: np.ndarray, low: np.ndarray
) -> np.ndarray:
    """Bucket-sort rows by chunk ``c`` into ``order``; write the chunk's uint16 offsets into
    its run of ``low``, set its block bits in ``chunks``, return its uint32 bases."""
    full = np.empty((1 << int(chunks[c, 1])) + 1, dtype=np.uint32)
    kernels.bucket_order(values, full, order)
    block, bases = kernels.compress_offsets(full, int(chunks[c, 2]), low)
    chunks[c, 2] = block
    return bases  # type: ignore[no-any-return]


def _build_mih(
    words_in: np.ndarray, encoded: np.ndarray, writer: SegmentWriter, workers: int
) -> None:
    """Fill a Hamming segment's sections: rows sorted by chunk 0, then the bucket sort of
    each other chunk. Every pass over the rows is split across ``workers`` threads."""
    n = words_in.shape[0]
    out = writer.arrays["hashes"].view(np.uint64)
    chunks = writer.arrays["chunks"]
    low = writer.arrays["offsets"]
    postings = writer.arrays["postings"]
    runs, _ = kernels.table_runs(chunks)
    m = chunks.shape[0]
    bounds = np.linspace(0, n, workers + 1).astype(np.int64)
    spans = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def each_span(fn: Any) -> None:
            for job in [pool.submit(fn, a, b) for a, b in spans]:
                job.result()

        column = np.empty((1, n), dtype=np.uint32)
        each_span(lambda a, b: kernels.chunk_columns(words_in[a:b], chunks, 0, column[:, a:b]))
        order = np.empty(n, dtype=np.int64)
        bases = [_sort_chunk(column[0], chunks, 0, order, low[runs[0] : runs[1]])]
        each_span(lambda a, b: kernels.gather_rows(words_in, order[a:b], out[a:b]))
        _write_ids(writer, encoded, order)
        columns = np.empty((m - 1, n), dtype=np.uint32)
        each_span(lambda a, b: kernels.chunk_columns(out[a:b], chunks, 1, columns[:, a:b]))
        jobs = [
            pool.submit(
                _sort_chunk, columns[c - 1], chunks, c, postings[c - 1], low[runs[c] : runs[c + 1]]
            )
            for c in range(1, m)
        ]
        bases += [job.result() for job in jobs]
    writer.replace("bases", np.concatenate(bases))


class HammingSegment(Segment):
    """256-bit hashes with MIH tables (when large enough); searched by ``kernels``."""

    kind = KIND_HAMMING

    def __init__(
        self, path: Path, info: SegmentInfo | None = None, *, verify: bool = False
    ) -> None:
        super().__init__(path, info, verify=verify)
        h = self.file.header
        if h.key_bytes != 32:
            raise corrupt_error(path, f"key width {h.key_bytes}, a Hamming segment holds 32")
        self.words = self.file.array("hashes", np.uint8, (h.rows, 32)).view(np.uint64)
        self.has_mih = bool(h.flags & FLAG_MIH)
        if self.has_mih:
            self.chunks = self._read_layout()
            low, bases = layout.table_lengths(self.chunks)
            self.offsets = self.file.array("offsets", np.uint16, (low,))
            self.bases = self.file.array("bases", np.uint32, (bases,))
            self.postings = self.file.array(
                "postings", np.uint32, (self.chunks.shape[0] - 1, h.rows)
            )
        else:
            self.chunks = np.zeros((0, 3), dtype=np.int64)
            self.offsets = np.zeros(0, dtype=np.uint16)
            self.bases = np.zeros(0, dtype=np.uint32)
            self.postings = np.zeros((0, 0), dtype=np.uint32)

    def _read_layout(self) -> I64:
        """The chunk layout section, checked: disjoint chunks in bit order, 1..32 bits wide,
        offset blocks of 2^0 .. 2^width values."""
        section = self.file.sections.get("chunks")
        m = 0 if section is None else section.length // 24
        chunks: I64 = np.array(self.file.array("chunks", np.int64, (m, 3)))
        ends = chunks[:, 0] + chunks[:, 1]
        if (
            m == 0
            or np.any(chunks[:, 1] < 1)
            or np.any(chunks[:, 1] > layout.MASK_BITS)
            or np.any(chunks[:, 0] < 0)
            or np.any(ends > layout.HASH_BITS)
            or np.any(chunks[1:, 0] < ends[:-1])
            or np.any(chunks[:, 2] < 0)
            or np.any(chunks[:, 2] > chunks[:, 1])
        ):
            raise corrupt_error(self.file.path, f"bad MIH chunk layout {chunks.tolist()}")
        return chunks

    def hashes(self) -> npt.NDArray[np.uint8]:
        return self.words.view(np.uint8).reshape(self.rows, 32)

    @staticmethod
    def write(
        path: Path, ids: I64, hashes: npt.NDArray[np.uint8], signal_type: str, *, threads: int = 0
    ) -> SegmentInfo:
        """Write a segment of ``hashes`` (n, 32) with entry ``ids`` to ``path`` atomically."""
        n = len(ids)
        if n > _MAX_ROWS:
            raise ValueError(f"a segment holds at most {_MAX_ROWS} rows")
        encoded, width, base = _encode_ids(ids)
        mih = n >= MIH_MIN_SEGMENT_ROWS
        sections: list[tuple[str, Any, tuple[int, ...]]] = [
            ("hashes", np.uint8, (n, 32)),
            ("ids", encoded.dtype, (n,)),
            ("ids_sorted", encoded.dtype, (n,)),
        ]
        if mih:
            chunks = layout.chunk_layout(n)
            low, bases = layout.table_lengths(chunks)  # bases: replaced once blocks are known
            sections += [
                ("chunks", np.int64, chunks.shape),
                ("offsets", np.uint16, (low,)),
                ("postings", np.uint32, (chunks.shape[0] - 1, n)),
                ("bases", np.uint32, (bases,)),
            ]
        header = _header(KIND_HAMMING, signal_type, n, 32, ids, width, base, FLAG_MIH if mih else 0)
        writer = SegmentWriter(path, header, sections)
        try:
            words_in = np.ascontiguousarray(hashes).view(np.uint64)
            out = writer.arrays["hashes"].view(np.uint64)
            if mih:
                writer.arrays["chunks"][:] = chunks
                _build_mih(words_in, encoded, writer, threads or os.cpu_count() or 1)
            else:
                out[:] = words_in
                _write_ids(writer, encoded, None)
            del out
        except BaseException:
            writer.abort()
            raise
        return _seal(writer)


def _sort_keys(keys: npt.NDArray[np.uint8], ids: I64) -> np.ndarray:
    """Row order sorting keys bytewise, then by id.

    Big-endian words compare like bytes. Sorting by the first word alone is one fast argsort;
    rows sharing a first word (duplicate digests, rare collisions) are then ordered by the
    remaining words and the id in one lexsort over just those rows.
    """
    n, width = keys.shape
    padded = np.zeros((n, (width + 7) // 8 * 8), dtype=np.uint8)
    padded[:, :width] = keys
    big = padded.view(">u8").astype(np.uint64)
    order = np.argsort(big[:, 0])
    first = big[order, 0]
    tie = first[1:] == first[:-1]
    if tie.any():
        in_run = np.zeros(n, dtype=np.bool_)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        members = np.flatnonzero(in_run)
        run = np.cumsum(np.concatenate([[True], ~tie]))[members]
        rows = order[members]
        columns = [ids[rows]] + [big[rows, k] for k in range(big.shape[1] - 1, 0, -1)] + [run]
        order[members] = rows[np.lexsort(columns)]
    return order


class DigestSegment(Segment):
    """Digests sorted bytewise, with a 65,536-bucket prefix table over their first 2 bytes."""

    kind = KIND_DIGEST

    def __init__(
        self, path: Path, info: SegmentInfo | None = None, *, verify: bool = False
    ) -> None:
        super().__init__(path, info, verify=verify)
        h = self.file.header
        self.key_bytes = h.key_bytes
        self.keys = self.file.array("keys", np.uint8, (h.rows, h.key_bytes))
        self.prefix = self.file.array("prefix", np.uint32, (kernels.BUCKETS + 1,))

    @staticmethod
    def write(path: Path, ids: I64, keys: npt.NDArray[np.uint8], signal_type: str) -> SegmentInfo:
        n, width = keys.shape
        if n > _MAX_ROWS:
            raise ValueError(f"a segment holds at most {_MAX_ROWS} rows")
        encoded, id_width, base = _encode_ids(ids)
        sections: list[tuple[str, Any, tuple[int, ...]]] = [
            ("keys", np.uint8, (n, width)),
            ("ids", encoded.dtype, (n,)),
            ("ids_sorted", encoded.dtype, (n,)),
            ("prefix", np.uint32, (kernels.BUCKETS + 1,)),
        ]
        header = _header(KIND_DIGEST, signal_type, n, width, ids, id_width, base)
        writer = SegmentWriter(path, header, sections)
        try:
            order = _sort_keys(keys, ids)
            sorted_keys = writer.arrays["keys"]
            kernels.gather_rows(keys, order, sorted_keys)
            _write_ids(writer, encoded, order)
            buckets = sorted_keys[:, 0].astype(np.int64) * 256 + sorted_keys[:, 1]
            counts = np.bincount(buckets, minlength=kernels.BUCKETS)
            prefix = writer.arrays["prefix"]
            prefix[0] = 0
            np.cumsum(counts, out=prefix[1:])
            del sorted_keys, prefix
        except BaseException:
            writer.abort()
            raise
        return _seal(writer)


class IdSet:
    """A sorted set of entry ids in one sealed file (the disabled or the removed ids)."""

    def __init__(self, path: Path, info: SegmentInfo | None = None, *, verify: bool = True) -> None:
        self.file = SegmentFile(path, verify=verify)
        h = self.file.header
        if h.kind != KIND_IDSET:
            raise corrupt_error(path, "is not an id set file")
        if info is not None and (info.rows != h.rows or info.header_crc != self.file.header_crc):
            raise corrupt_error(path, "does not match the manifest (rows or header checksum)")
        self.ids: I64 = self.file.array("ids", np.int64, (h.rows,))

    @staticmethod
    def write(path: Path, ids: I64, signal_type: str) -> SegmentInfo:
        unique = np.unique(ids)
        header = _header(KIND_IDSET, signal_type, unique.size, 0, unique, 8, 0)
        writer = SegmentWriter(path, header, [("ids", np.int64, (unique.size,))])
        writer.arrays["ids"][:] = unique
        return _seal(writer)
