"""Brute-force Hamming search over 256-bit PDQ hashes: a numba kernel and its numpy oracle.

Interim until ``safelight.index.HammingIndex`` lands; exact (it looks at every hash), which at
1M hashes costs a few milliseconds per query on one core, small beside decoding a photo.
Hashes are stored as four big-endian uint64 words per row, the order ``bytes.fromhex`` gives.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

HashMatrix = npt.NDArray[np.uint64]


def hashes_to_matrix(hexes: list[str]) -> HashMatrix:
    """(n, 4) uint64 rows from 64-char hex strings."""
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=">u8")
    return raw.astype(np.uint64).reshape(-1, 4)


@njit(cache=True, nogil=True)
def _popcount64(x: np.uint64) -> np.uint64:
    # SWAR popcount; LLVM turns this idiom into the POPCNT instruction where it exists.
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def _within_kernel(
    db: np.ndarray, query: np.ndarray, threshold: int, out_idx: np.ndarray, out_dist: np.ndarray
) -> int:
    found = 0
    q0, q1, q2, q3 = query[0], query[1], query[2], query[3]
    for i in range(db.shape[0]):
        # Unrelated hashes differ in ~64 of the first 128 bits: most rows stop at half-way.
        d = _popcount64(db[i, 0] ^ q0) + _popcount64(db[i, 1] ^ q1)
        if d > threshold:
            continue
        d += _popcount64(db[i, 2] ^ q2) + _popcount64(db[i, 3] ^ q3)
        if d <= threshold:
            if found < out_idx.shape[0]:
                out_idx[found] = i
                out_dist[found] = d
            found += 1
    return found


def within(
    db: HashMatrix, query: HashMatrix, threshold: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rows of ``db`` within ``threshold`` bits of ``query`` (shape (4,)), and their distances."""
    capacity = 64
    while True:
        idx = np.empty(capacity, dtype=np.int64)
        dist = np.empty(capacity, dtype=np.int64)
        found = _within_kernel(db, query, threshold, idx, dist)
        if found <= capacity:
            return idx[:found], dist[:found]
        capacity = found  # rare: a query near a dense cluster; run again with room for all


def within_oracle(
    db: HashMatrix, query: HashMatrix, threshold: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The obvious numpy version the kernel is tested against."""
    distances = np.bitwise_count(db ^ query[None, :]).sum(axis=1, dtype=np.int64)
    idx = np.flatnonzero(distances <= threshold).astype(np.int64)
    return idx, distances[idx]
