"""numba hash tables on 64-bit keys: a growing set for streaming deduplication (ingest), and
dense group ids with per-group sums, minima and maxima (aggregate, analysis)."""

from __future__ import annotations

import numpy as np
from numba import njit

from safelight.network.rowhash import splitmix64


@njit(cache=True)
def _insert(table: np.ndarray, used: np.ndarray, keys: np.ndarray, fresh: np.ndarray) -> int:
    mask = len(table) - 1
    added = 0
    for r in range(len(keys)):
        key = keys[r]
        slot = np.int64(splitmix64(key) >> np.uint64(1)) & mask
        while True:
            if not used[slot]:
                used[slot] = True
                table[slot] = key
                fresh[r] = True
                added += 1
                break
            if table[slot] == key:
                fresh[r] = False
                break
            slot = (slot + 1) & mask
    return added


class HashSet:
    """A set of 64-bit keys (open addressing, linear probing) for streaming deduplication."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        size = 1 << max(4, (2 * max(capacity, 1) - 1).bit_length())
        self.table = np.zeros(size, dtype=np.uint64)
        self.used = np.zeros(size, dtype=np.bool_)
        self.count = 0

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Insert ``keys``; True where a key was not in the set before (first occurrence)."""
        keys = _writable(keys, np.uint64)
        if 2 * (self.count + len(keys)) > len(self.table):
            self._grow(self.count + len(keys))
        fresh = np.zeros(len(keys), dtype=np.bool_)
        self.count += _insert(self.table, self.used, keys, fresh)
        return fresh

    def _grow(self, needed: int) -> None:
        old = self.table[self.used]
        size = 1 << (4 * needed - 1).bit_length()
        self.table = np.zeros(size, dtype=np.uint64)
        self.used = np.zeros(size, dtype=np.bool_)
        self.count = 0
        if len(old):
            self.count = _insert(self.table, self.used, old, np.zeros(len(old), dtype=np.bool_))


@njit(cache=True)
def _group_ids(keys: np.ndarray, table: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, int]:
    mask = len(table) - 1
    ids = np.empty(len(keys), dtype=np.int64)
    count = 0
    for r in range(len(keys)):
        key = keys[r]
        slot = np.int64(splitmix64(np.uint64(key)) >> np.uint64(1)) & mask
        while True:
            if slots[slot] < 0:
                slots[slot] = count
                table[slot] = key
                ids[r] = count
                count += 1
                break
            if table[slot] == key:
                ids[r] = slots[slot]
                break
            slot = (slot + 1) & mask
    return ids, count


def group_ids(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense group id of every key (in order of first appearance) and the distinct keys."""
    keys = _writable(keys, np.int64)
    size = 1 << max(4, (2 * max(len(keys), 1)).bit_length())
    table = np.zeros(size, dtype=np.int64)
    slots = np.full(size, -1, dtype=np.int64)
    ids, count = _group_ids(keys, table, slots)
    uniques = np.empty(count, dtype=np.int64)
    uniques[ids] = keys
    return ids, uniques


def _writable(values: np.ndarray, dtype: type) -> np.ndarray:
    """A contiguous writable array: Arrow's zero-copy views are read-only, and numba types
    read-only arrays apart, so each kernel would be loaded (or compiled) twice."""
    out: np.ndarray = np.ascontiguousarray(values, dtype=dtype)
    return out if out.flags.writeable else out.copy()


def reduce_groups(ids: np.ndarray, values: np.ndarray, count: int, op: int) -> np.ndarray:
    """Per group: 0 sum, 1 min, 2 max of ``values`` (int64)."""
    return _reduce_groups(_writable(ids, np.int64), _writable(values, np.int64), count, op)


@njit(cache=True)
def _reduce_groups(ids: np.ndarray, values: np.ndarray, count: int, op: int) -> np.ndarray:
    out = np.zeros(count, dtype=np.int64)
    if op == 1:
        out[:] = np.iinfo(np.int64).max
    elif op == 2:
        out[:] = np.iinfo(np.int64).min
    for r in range(len(ids)):
        g = ids[r]
        v = values[r]
        if op == 0:
            out[g] += v
        elif op == 1:
            if v < out[g]:
                out[g] = v
        elif v > out[g]:
            out[g] = v
    return out
