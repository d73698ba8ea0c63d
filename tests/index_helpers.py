"""Shared helpers for the index tests: small in-memory MIH tables and oracle comparisons."""

from __future__ import annotations

import numpy as np

from safelight.index import kernels, layout

MASKS, LEVEL_STARTS, BINOM = layout.colex_masks()
CLASSIC = layout.from_widths((16,) * 16)


def mih_tables(
    hashes: np.ndarray, chunks: np.ndarray = CLASSIC, block_bits: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sorted words, layout, offsets, bases, postings, order) for ``hashes`` cut as
    ``chunks``, built as a segment would be (``block_bits``: cap on the offset blocks)."""
    chunks = np.array(chunks, dtype=np.int64)
    if block_bits is not None:
        chunks[:, 2] = np.minimum(chunks[:, 2], block_bits)
    words = np.ascontiguousarray(hashes).view(np.uint64)
    n = len(words)
    m = chunks.shape[0]
    order = np.empty(n, dtype=np.int64)
    columns = np.empty((m, n), dtype=np.uint32)
    kernels.chunk_columns(words, chunks, 0, columns)
    bases = [_sort_chunk(columns[0], chunks, 0, order)]
    sorted_words = np.ascontiguousarray(words[order])
    kernels.chunk_columns(sorted_words, chunks, 0, columns)
    postings = np.empty((m - 1, n), dtype=np.uint32)
    bases += [_sort_chunk(columns[c], chunks, c, postings[c - 1]) for c in range(1, m)]
    low = np.concatenate([b[0] for b in bases])
    return sorted_words, chunks, low, np.concatenate([b[1] for b in bases]), postings, order


def _sort_chunk(
    values: np.ndarray, chunks: np.ndarray, c: int, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    full = np.empty((1 << int(chunks[c, 1])) + 1, dtype=np.uint32)
    kernels.bucket_order(values, full, order)
    block, low, bases = layout.compress_offsets(full, int(chunks[c, 2]))
    chunks[c, 2] = block
    return low, bases


def as_lists(
    nq: int, qidx: np.ndarray, ids: np.ndarray, dist: np.ndarray
) -> list[list[tuple[int, int]]]:
    """Unordered kernel triples as the oracle's per-query sorted lists."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(nq)]
    for q, i, d in zip(qidx.tolist(), ids.tolist(), dist.tolist(), strict=True):
        out[q].append((i, d))
    return [sorted(hits, key=lambda h: (h[1], h[0])) for hits in out]
