"""``DigestIndex``: exact lookup of MD5, SHA-1 or SHA-256 digests.

Each segment keeps its digests sorted bytewise with a 65,536-entry table over the first two
bytes, so a lookup is one table read and a binary search of about n / 65,536 rows, all on
memory-mapped files. Same directory, manifest and update rules as ``HammingIndex``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safelight.errors import UsageError
from safelight.index import kernels
from safelight.index.directory import I64, SegmentedIndex
from safelight.index.hamming import parse_entries
from safelight.index.hashes import as_key_array
from safelight.index.results import SearchResult
from safelight.index.segments import DigestSegment, SegmentInfo


class DigestIndex(SegmentedIndex[DigestSegment]):
    """Exact digest lookup over an index directory (see docs/index-format.md)."""

    kind = "digest"

    def _init_for(self, directory: Path, signal_type: str) -> None:
        super()._init_for(directory, signal_type)
        self.key_width = _digest_width(signal_type)

    @classmethod
    def build(
        cls,
        path: str | os.PathLike[str],
        ids: Any,
        digests: Any,
        *,
        signal_type: str,
        meta: dict[str, Any] | None = None,
    ) -> DigestIndex:
        """Write a new digest index (replacing any at ``path`` atomically) and open it."""
        index: DigestIndex = cls._create(path, signal_type, ids, digests, meta)
        return index

    @classmethod
    def build_from(
        cls,
        path: str | os.PathLike[str],
        entries: Iterable[tuple[int, str | bytes]],
        *,
        signal_type: str,
        meta: dict[str, Any] | None = None,
    ) -> tuple[DigestIndex, list[tuple[str, str]]]:
        """Rebuild from (entry id, hex digest) pairs; bad items are skipped and reported."""
        ids, keys, problems = parse_entries(entries, _digest_width(signal_type))
        return cls.build(path, ids, keys, signal_type=signal_type, meta=meta), problems

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, verify: bool = False) -> DigestIndex:
        index: DigestIndex = cls._open_existing(path, verify)
        return index

    def _check_keys(self, keys: Any, field: str) -> npt.NDArray[np.uint8]:
        return as_key_array(keys, self.key_width, field=field)

    def _write_segment(self, path: Path, ids: I64, keys: npt.NDArray[np.uint8]) -> SegmentInfo:
        return DigestSegment.write(path, ids, keys, self.signal_type)

    def _open_segment(self, path: Path, info: SegmentInfo, verify: bool) -> DigestSegment:
        segment = DigestSegment(path, info, verify=verify)
        if segment.key_bytes != self.key_width:
            raise UsageError(f"{path} holds {segment.key_bytes}-byte keys, not {self.signal_type}")
        return segment

    def _segment_keys(self, segment: DigestSegment) -> npt.NDArray[np.uint8]:
        return segment.keys

    def lookup(self, digests: Any) -> SearchResult:
        """Entry ids whose digest equals each query (distance 0), by id."""
        q = self._check_keys(digests, "digests")
        view = self._view()
        qidx_parts, id_parts = [], []
        starts = np.empty(len(q), dtype=np.int64)
        stops = np.empty(len(q), dtype=np.int64)
        for segment in view.segments:
            kernels.digest_ranges(segment.keys, segment.prefix, q, starts, stops)
            counts = stops - starts
            total = int(counts.sum())
            if total == 0:
                continue
            qidx = np.repeat(np.arange(len(q), dtype=np.int64), counts)
            # row = start of its query's range + position within that range
            within = np.arange(total, dtype=np.int64) - np.repeat(
                np.cumsum(counts) - counts, counts
            )
            rows = np.repeat(starts, counts) + within
            qidx_parts.append(qidx)
            id_parts.append(segment.ids_of(rows))
        if not id_parts:
            empty = np.zeros(0, dtype=np.int64)
            return SearchResult.from_triples(len(q), empty, empty, empty.astype(np.int32))
        qidx = np.concatenate(qidx_parts)
        ids = np.concatenate(id_parts)
        keep = self._visible(view, ids)
        zeros = np.zeros(int(keep.sum()), dtype=np.int32)
        return SearchResult.from_triples(len(q), qidx[keep], ids[keep], zeros)

    def search(self, digests: Any, threshold: int = 0) -> SearchResult:
        """The Index interface shared with ``HammingIndex``: digests match exactly, so the
        only threshold is 0."""
        if threshold != 0:
            raise UsageError(f"{self.signal_type} matches exactly: threshold must be 0")
        return self.lookup(digests)


def _digest_width(signal_type: str) -> int:
    """Key bytes of a digest type (an exact-match type of the signal-type registry)."""
    from safelight.signals.types import registry

    digests = registry.where(lambda t: t.index_kind == "digest")
    for found in digests:
        if signal_type == found.name:
            return found.key_bytes
    known = ", ".join(t.name for t in digests)
    raise UsageError(f"signal_type: expected one of {known}, got {signal_type!r}")
