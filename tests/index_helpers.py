"""Shared helpers for the index tests: small in-memory MIH tables and oracle comparisons."""

from __future__ import annotations

import numpy as np

from safelight.constants import MIH_CHUNKS
from safelight.index import kernels


def mih_tables(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sorted words, offsets, postings, order) for ``hashes``, built as a segment would be."""
    words = np.ascontiguousarray(hashes).view(np.uint64)
    n = len(words)
    offsets = np.zeros((MIH_CHUNKS, kernels.BUCKETS + 1), dtype=np.uint32)
    order = np.empty(n, dtype=np.int64)
    columns = np.empty((MIH_CHUNKS, n), dtype=np.uint16)
    kernels.chunk_columns(words, 0, columns)
    kernels.bucket_order(columns[0], offsets[0], order)
    sorted_words = np.ascontiguousarray(words[order])
    kernels.chunk_columns(sorted_words, 0, columns)
    postings = np.empty((MIH_CHUNKS - 1, n), dtype=np.uint32)
    for c in range(1, MIH_CHUNKS):
        kernels.bucket_order(columns[c], offsets[c], postings[c - 1])
    return sorted_words, offsets, postings, order


def as_lists(
    nq: int, qidx: np.ndarray, ids: np.ndarray, dist: np.ndarray
) -> list[list[tuple[int, int]]]:
    """Unordered kernel triples as the oracle's per-query sorted lists."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(nq)]
    for q, i, d in zip(qidx.tolist(), ids.tolist(), dist.tolist(), strict=True):
        out[q].append((i, d))
    return [sorted(hits, key=lambda h: (h[1], h[0])) for hits in out]
