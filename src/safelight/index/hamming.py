"""``HammingIndex``: exact search of 256-bit PDQ hashes within a Hamming threshold.

Example::

    index = HammingIndex.build("/var/lib/safelight/pdq", ids, hashes)   # (n,) int64, (n, 32) uint8
    found = index.search_batch(queries, threshold=31)                  # all cores
    found[0]  # [(entry_id, distance), ...] sorted by (distance, id)
    index.add(new_ids, new_hashes)                                     # visible to the next query
    index.disable([entry_id]); index.compact_in_background()

Exact at every threshold 0..63: multi-index hashing probes all chunk values within the
pigeonhole radius and verifies every candidate with a full popcount; when probing would touch
more rows than a scan costs, that query scans the segment instead (same answer, cheaper).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safelight.constants import (
    MIH_BRUTE_COST_RATIO,
    PDQ_MATCH_THRESHOLD,
    PDQ_MAX_LIST_THRESHOLD,
)
from safelight.errors import UsageError
from safelight.index import kernels, layout
from safelight.index.directory import I64, SegmentedIndex, SegmentView
from safelight.index.hashes import PDQ_BYTES, as_key_array, key_width, parse_hex, words
from safelight.index.results import SearchResult
from safelight.index.segments import HammingSegment, SegmentInfo

_MASKS, _LEVEL_STARTS, _BINOM = layout.colex_masks()
_MODES = {"auto": 0, "scan": 1, "probe": 2}
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One shared pool of query threads (kernels release the GIL, so they run in parallel)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="sl-index")
        return _POOL


def check_threshold(threshold: int) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer):
        raise UsageError(f"threshold: expected an integer, got {type(threshold).__name__}")
    if not 0 <= threshold <= PDQ_MAX_LIST_THRESHOLD:
        raise UsageError(f"threshold: must be in 0..{PDQ_MAX_LIST_THRESHOLD}, got {threshold}")
    return int(threshold)


def parse_entries(
    entries: Iterable[tuple[int, str | bytes]], width: int
) -> tuple[I64, npt.NDArray[np.uint8], list[tuple[str, str]]]:
    """Split (id, hash) pairs into arrays, skipping and reporting bad items by position."""
    ids: list[int] = []
    raw: list[str | bytes] = []
    problems: list[tuple[str, str]] = []
    for i, entry in enumerate(entries):
        try:
            entry_id, value = entry
            ids.append(int(entry_id))
        except (TypeError, ValueError) as exc:
            problems.append((f"entry {i}", f"expected (id, hash), got {entry!r:.80} ({exc})"))
            continue
        raw.append(value)
    keys, ok, bad = parse_hex(raw, width, label="hash")
    id_array = np.asarray(ids, dtype=np.int64)
    for (where, why), pos in zip(bad, np.flatnonzero(~ok), strict=True):
        problems.append((f"entry id {ids[pos]}", f"{where.replace('hash ', 'hash #')}: {why}"))
    return id_array[ok], keys, problems


class HammingIndex(SegmentedIndex[HammingSegment]):
    """Exact Hamming search over an index directory (see docs/index-format.md)."""

    kind = "hamming"

    def _init_for(self, directory: Path, signal_type: str) -> None:
        super()._init_for(directory, signal_type)
        self.key_width = key_width(signal_type)
        if self.key_width != PDQ_BYTES:
            raise UsageError(f"signal_type: {signal_type} is not a 256-bit hash")

    @classmethod
    def build(
        cls,
        path: str | os.PathLike[str],
        ids: Any,
        hashes: Any,
        *,
        signal_type: str = "pdq",
        meta: dict[str, Any] | None = None,
    ) -> HammingIndex:
        """Write a new index (replacing any index at ``path`` atomically) and open it.

        ``hashes`` is a (n, 32) uint8 array or a sequence of 64-char hex strings; ``ids`` the
        n distinct int64 entry ids. Bad input raises before anything is written.
        """
        index: HammingIndex = cls._create(path, signal_type, ids, hashes, meta)
        return index

    @classmethod
    def build_from(
        cls,
        path: str | os.PathLike[str],
        entries: Iterable[tuple[int, str | bytes]],
        *,
        signal_type: str = "pdq",
        meta: dict[str, Any] | None = None,
    ) -> tuple[HammingIndex, list[tuple[str, str]]]:
        """Rebuild from (entry id, hex hash) pairs, e.g. read from the store after an
        ``IndexCorruptError``. Bad items are skipped and returned as (location, reason)."""
        ids, keys, problems = parse_entries(entries, key_width(signal_type))
        return cls.build(path, ids, keys, signal_type=signal_type, meta=meta), problems

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, verify: bool = False) -> HammingIndex:
        """Map an existing index. Cheap: reads the manifest and headers, checks sizes and
        header checksums (``verify=True`` also checksums every section)."""
        index: HammingIndex = cls._open_existing(path, verify)
        return index

    def _check_keys(self, keys: Any, field: str) -> npt.NDArray[np.uint8]:
        return as_key_array(keys, PDQ_BYTES, field=field)

    def _write_segment(self, path: Path, ids: I64, keys: npt.NDArray[np.uint8]) -> SegmentInfo:
        return HammingSegment.write(path, ids, keys, self.signal_type)

    def _open_segment(self, path: Path, info: SegmentInfo, verify: bool) -> HammingSegment:
        return HammingSegment(path, info, verify=verify)

    def _segment_keys(self, segment: HammingSegment) -> npt.NDArray[np.uint8]:
        return segment.hashes()

    def search(
        self, queries: Any, threshold: int = PDQ_MATCH_THRESHOLD, *, workers: int = 1,
        mode: str = "auto",
    ) -> SearchResult:  # fmt: skip
        """All (id, distance) within ``threshold`` of each query, by (distance, id).

        ``workers`` threads split the queries (1: this thread only). ``mode`` is for tests
        and benchmarks: "probe" forces multi-index probing, "scan" a full scan; "auto"
        picks per query by estimated cost. All three give the same answer.
        """
        t = check_threshold(threshold)
        if mode not in _MODES:
            raise UsageError(f"mode: expected one of {', '.join(_MODES)}, got {mode!r}")
        q = self._check_keys(queries, "queries")
        view = self._view()
        nq = len(q)
        if nq == 0:
            return SearchResult.from_triples(0, *(np.zeros(0, np.int64),) * 3)
        qwords = words(q)
        blocks = min(nq, max(1, workers) * 4 if workers > 1 else 1)

        def run(lo: int, hi: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
            return self._search_block(view, qwords[lo:hi], lo, t, _MODES[mode])

        if blocks == 1:
            parts = run(0, nq)
        else:
            bounds = np.linspace(0, nq, blocks + 1).astype(np.int64)
            futures = [
                _pool().submit(run, int(a), int(b))
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
            parts = [p for f in futures for p in f.result()]
        if not any(p[1].size for p in parts):  # most lookups: nothing within the threshold
            none = np.zeros(0, np.int64)
            return SearchResult.from_triples(nq, none, none, np.zeros(0, np.int32))
        qidx = np.concatenate([p[0] for p in parts])
        ids = np.concatenate([p[1] for p in parts])
        dist = np.concatenate([p[2] for p in parts])
        keep = self._visible(view, ids)
        return SearchResult.from_triples(nq, qidx[keep], ids[keep], dist[keep])

    def search_batch(
        self, queries: Any, threshold: int = PDQ_MATCH_THRESHOLD, *, workers: int | None = None
    ) -> SearchResult:
        """``search`` on all cores (or ``workers`` threads)."""
        return self.search(queries, threshold, workers=workers or os.cpu_count() or 1)

    def _search_block(
        self, view: SegmentView[HammingSegment], qwords: np.ndarray, first: int, t: int, mode: int
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        parts = []
        for segment in view.segments:
            qi, rows, dist = kernels.search_segment(
                segment.words, segment.chunks, segment.offsets, segment.bases, segment.postings,
                qwords, t,
                _MASKS, _LEVEL_STARTS, _BINOM, MIH_BRUTE_COST_RATIO, mode,
            )  # fmt: skip
            parts.append((qi + first, segment.ids_of(rows), dist))
        return parts
