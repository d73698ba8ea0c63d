"""Slow, obvious reference answers that the fast indexes are tested against.

Nothing clever here on purpose: every pair is compared bit by bit with numpy, and results are
sorted the documented way. The property tests hold ``HammingIndex`` and ``DigestIndex`` to
exactly these answers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Match = tuple[int, int]


def hamming_distances(query: npt.NDArray[np.uint8], hashes: npt.NDArray[np.uint8]) -> np.ndarray:
    """Hamming distance from one (width,) query to every row of a (n, width) array."""
    differing = np.bitwise_xor(hashes, query[np.newaxis, :])
    distances: np.ndarray = np.unpackbits(differing, axis=1).sum(axis=1, dtype=np.int64)
    return distances


def hamming_search(
    ids: npt.NDArray[np.int64],
    hashes: npt.NDArray[np.uint8],
    queries: npt.NDArray[np.uint8],
    threshold: int,
) -> list[list[Match]]:
    """For each query, every (id, distance) with distance <= threshold, by (distance, id)."""
    results: list[list[Match]] = []
    for query in queries:
        if len(hashes) == 0:
            results.append([])
            continue
        distances = hamming_distances(query, hashes)
        hits = [(int(i), int(d)) for i, d in zip(ids, distances, strict=True) if d <= threshold]
        results.append(sorted(hits, key=lambda hit: (hit[1], hit[0])))
    return results


def digest_lookup(
    ids: npt.NDArray[np.int64], keys: npt.NDArray[np.uint8], queries: npt.NDArray[np.uint8]
) -> list[list[Match]]:
    """For each query, every (id, 0) whose key equals it, by id."""
    table: dict[bytes, list[int]] = {}
    for entry_id, key in zip(ids, keys, strict=True):
        table.setdefault(key.tobytes(), []).append(int(entry_id))
    return [[(i, 0) for i in sorted(table.get(q.tobytes(), []))] for q in queries]
