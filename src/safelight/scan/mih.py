"""Exact multi-index hashing for PDQ radius search: the interim matcher's fast path.

The 256 bits are cut into 16 chunks of 16 bits. If two hashes differ in at most 31 bits, then
by pigeonhole at least one chunk differs in at most 1 bit (16 chunks each differing in 2 or
more would make 32). So probing every chunk's bucket with the query's chunk value and its 16
one-bit neighbours (17 x 16 = 272 buckets) finds every hash within 31 bits; each candidate is
then verified on all 256 bits. Above 31 bits, or when the buckets hold more candidates than
brute force would read (heavily clustered lists), it falls back to the brute-force kernel.

Interim, like the rest of ``HashFileMatcher``: ``safelight.index.HammingIndex`` replaces it.
Tested against ``hamming.within_oracle``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from safelight.scan.hamming import HashMatrix, _popcount64, within

CHUNKS = 16
CHUNK_VALUES = 1 << 16
# Largest threshold the one-bit probes are exact for: 16 chunks x (1 + 1) - 1.
MAX_EXACT_THRESHOLD = 2 * CHUNKS - 1


def chunk_values(matrix: HashMatrix) -> npt.NDArray[np.int64]:
    """(n, 16) chunk values; chunk k is bits of word k // 4, most significant 16 first."""
    shifts = np.array([48, 32, 16, 0], dtype=np.uint64)
    parts = (matrix[:, :, None] >> shifts[None, None, :]) & np.uint64(0xFFFF)
    return parts.reshape(matrix.shape[0], CHUNKS).astype(np.int64)


@njit(cache=True, nogil=True)
def _candidate_count(offsets: np.ndarray, qchunks: np.ndarray) -> int:
    total = 0
    for k in range(CHUNKS):
        v = qchunks[k]
        total += offsets[k, v + 1] - offsets[k, v]
        for b in range(16):
            p = v ^ (1 << b)
            total += offsets[k, p + 1] - offsets[k, p]
    return total


@njit(cache=True, nogil=True)
def _probe(
    matrix: np.ndarray,
    order: np.ndarray,
    offsets: np.ndarray,
    qchunks: np.ndarray,
    query: np.ndarray,
    threshold: int,
    out_idx: np.ndarray,
    out_dist: np.ndarray,
) -> int:
    found = 0
    q0, q1, q2, q3 = query[0], query[1], query[2], query[3]
    for k in range(CHUNKS):
        v = qchunks[k]
        for f in range(17):
            p = v if f == 16 else v ^ (1 << f)
            for slot in range(offsets[k, p], offsets[k, p + 1]):
                i = order[k, slot]
                d = (
                    _popcount64(matrix[i, 0] ^ q0)
                    + _popcount64(matrix[i, 1] ^ q1)
                    + _popcount64(matrix[i, 2] ^ q2)
                    + _popcount64(matrix[i, 3] ^ q3)
                )
                if d <= threshold:
                    if found < out_idx.shape[0]:
                        out_idx[found] = i
                        out_dist[found] = d
                    found += 1
    return found


class PdqMultiIndex:
    def __init__(self, matrix: HashMatrix) -> None:
        self.matrix = np.ascontiguousarray(matrix)
        n = self.matrix.shape[0]
        chunks = chunk_values(self.matrix)
        self.order = np.empty((CHUNKS, n), dtype=np.int32)
        self.offsets = np.zeros((CHUNKS, CHUNK_VALUES + 1), dtype=np.int64)
        for k in range(CHUNKS):
            self.order[k] = np.argsort(chunks[:, k], kind="stable")
            counts = np.bincount(chunks[:, k], minlength=CHUNK_VALUES)
            np.cumsum(counts, out=self.offsets[k, 1:])

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def within(
        self, query: HashMatrix, threshold: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Rows within ``threshold`` bits of ``query``, ascending, and their distances."""
        if len(self) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        qchunks = chunk_values(query.reshape(1, 4))[0]
        if threshold > MAX_EXACT_THRESHOLD or _candidate_count(self.offsets, qchunks) > len(self):
            return within(self.matrix, query, threshold)
        capacity = 64
        while True:
            idx = np.empty(capacity, dtype=np.int64)
            dist = np.empty(capacity, dtype=np.int64)
            found = _probe(
                self.matrix, self.order, self.offsets, qchunks, query, threshold, idx, dist
            )
            if found <= capacity:
                break
            capacity = found
        # A hash near the query in several chunks is found once per chunk.
        rows, first = np.unique(idx[:found], return_index=True)
        return rows, dist[:found][first]
