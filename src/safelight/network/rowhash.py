"""numba row hashes for ingest: a 64-bit hash per string, and columns mixed into one hash
per row, so that a sighting seen twice is recognised by one integer (see ``parse``)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def hash_strings(data: np.ndarray, offsets: np.ndarray, seed: np.uint64) -> np.ndarray:
    """FNV-1a 64 of each string, finished with splitmix64 so columns mix well."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.uint64)
    for r in range(n):
        h = np.uint64(0xCBF29CE484222325) ^ seed
        for k in range(offsets[r], offsets[r + 1]):
            h = (h ^ np.uint64(data[k])) * np.uint64(0x100000001B3)
        out[r] = splitmix64(h ^ np.uint64(offsets[r + 1] - offsets[r]))
    return out


@njit(cache=True)
def splitmix64(x: np.uint64) -> np.uint64:
    """Steele, Lea & Flood's SplitMix64 finaliser: every input bit moves every output bit."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def mix_columns(acc: np.ndarray, column: np.ndarray) -> None:
    """Fold one column of 64-bit values into the running row hashes ``acc``, in place."""
    for r in range(len(acc)):
        acc[r] = splitmix64(acc[r] * np.uint64(31) ^ column[r])
