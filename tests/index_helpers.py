"""Shared helpers for the index tests: small in-memory MIH tables and oracle comparisons."""

from __future__ import annotations

import numpy as np

from safelight.index import kernels, layout

MASKS, LEVEL_STARTS, BINOM = layout.colex_masks()
CLASSIC = layout.from_widths((16,) * 16)


def mih_tables(
    hashes: np.ndarray, chunks: np.ndarray = CLASSIC
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sorted words, offsets, postings, order) for ``hashes`` cut as ``chunks``, built as a
    segment would be."""
    words = np.ascontiguousarray(hashes).view(np.uint64)
    n = len(words)
    m = chunks.shape[0]
    runs = kernels.run_starts(chunks)
    offsets = np.zeros(layout.offsets_length(chunks), dtype=np.uint32)
    order = np.empty(n, dtype=np.int64)
    columns = np.empty((m, n), dtype=np.uint32)
    kernels.chunk_columns(words, chunks, 0, columns)
    kernels.bucket_order(columns[0], offsets[runs[0] : runs[1]], order)
    sorted_words = np.ascontiguousarray(words[order])
    kernels.chunk_columns(sorted_words, chunks, 0, columns)
    postings = np.empty((m - 1, n), dtype=np.uint32)
    for c in range(1, m):
        kernels.bucket_order(columns[c], offsets[runs[c] : runs[c + 1]], postings[c - 1])
    return sorted_words, offsets, postings, order


def as_lists(
    nq: int, qidx: np.ndarray, ids: np.ndarray, dist: np.ndarray
) -> list[list[tuple[int, int]]]:
    """Unordered kernel triples as the oracle's per-query sorted lists."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(nq)]
    for q, i, d in zip(qidx.tolist(), ids.tolist(), dist.tolist(), strict=True):
        out[q].append((i, d))
    return [sorted(hits, key=lambda h: (h[1], h[0])) for hits in out]
