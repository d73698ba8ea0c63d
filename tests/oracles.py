"""Slow, obvious oracles the tests hold the library's fast paths to (moved out of the
library: Safelight never runs them). Each is the plain definition of what its fast path
computes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from safelight.constants import (
    NETWORK_LOUVAIN_RESOLUTION,
    NETWORK_MAX_FILE_DEGREE,
    NETWORK_PAGERANK_DAMPING,
    VPDQ_COMPARED_MATCH_PERCENT,
    VPDQ_MATCH_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_QUERY_MATCH_PERCENT,
)
from safelight.network.community import MAX_LEVELS, MAX_SWEEPS, _relabel
from safelight.signals.hashes import hamming_distance
from safelight.signals.vpdq import VpdqFeature, VpdqMatch, _decide


def louvain_reference(
    adjacency: sp.spmatrix, resolution: float = NETWORK_LOUVAIN_RESOLUTION
) -> np.ndarray:
    """The oracle: the same Louvain as ``louvain`` with dicts and loops, no numba."""
    graph = sp.csr_matrix(adjacency, dtype=np.float64)
    n = graph.shape[0]
    membership = list(range(n))
    m2 = float(graph.sum())
    if n == 0 or m2 == 0.0:
        return np.arange(n, dtype=np.int64)
    for _ in range(MAX_LEVELS):
        graph.sort_indices()
        size = graph.shape[0]
        rows = [
            list(
                zip(
                    graph.indices[graph.indptr[i] : graph.indptr[i + 1]].tolist(),
                    graph.data[graph.indptr[i] : graph.indptr[i + 1]].tolist(),
                    strict=True,
                )
            )
            for i in range(size)
        ]
        degree = [sum(w for _, w in row) for row in rows]
        comm = list(range(size))
        tot = list(degree)
        moved_any = False
        for _sweep in range(MAX_SWEEPS):
            moves = 0
            for i in range(size):
                own = comm[i]
                weight_to: dict[int, float] = {}
                for j, w in rows[i]:
                    if j != i:
                        weight_to[comm[j]] = weight_to.get(comm[j], 0.0) + w
                k = degree[i]
                tot[own] -= k
                best = own
                best_gain = weight_to.get(own, 0.0) - resolution * tot[own] * k / m2
                for c, w in weight_to.items():
                    gain = w - resolution * tot[c] * k / m2
                    if gain > best_gain + 1e-12:
                        best, best_gain = c, gain
                tot[best] += k
                if best != own:
                    comm[i] = best
                    moves += 1
            if moves == 0:
                break
            moved_any = True
        if not moved_any:
            break
        labels = _relabel(np.array(comm))
        membership = [int(labels[m]) for m in membership]
        count = int(labels.max()) + 1
        merged: dict[tuple[int, int], float] = {}
        coo = graph.tocoo()
        for r, c, w in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True):
            key = (int(labels[r]), int(labels[c]))
            merged[key] = merged.get(key, 0.0) + w
        keys = sorted(merged)
        graph = sp.csr_matrix(
            ([merged[k] for k in keys], ([k[0] for k in keys], [k[1] for k in keys])),
            shape=(count, count),
        )
    return _relabel(np.array(membership, dtype=np.int64))


def projection_reference(
    incidence: sp.csr_matrix, max_file_degree: int = NETWORK_MAX_FILE_DEGREE
) -> np.ndarray:
    """Oracle: the projection as a dense matrix built pair by pair."""
    dense = (np.asarray(incidence.todense()) > 0).astype(float)
    n, m = dense.shape
    out = np.zeros((n, n))
    for f in range(m):
        holders = np.flatnonzero(dense[:, f])
        d = len(holders)
        if 2 <= d <= max_file_degree:
            for a in holders:
                for b in holders:
                    if a != b:
                        out[a, b] += 1.0 / (d - 1)
    return out


def pagerank_reference(dense: np.ndarray, damping: float = NETWORK_PAGERANK_DAMPING) -> np.ndarray:
    """Oracle: PageRank as the solution of its linear system, densely."""
    n = dense.shape[0]
    out = dense.sum(axis=1)
    transition = np.zeros((n, n))
    for i in range(n):
        transition[:, i] = dense[i] / out[i] if out[i] > 0 else 1.0 / n
    system = np.eye(n) - damping * transition
    return np.asarray(np.linalg.solve(system, np.full(n, (1 - damping) / n)))


def greedy_removal_reference(holdings: list[set[int]], steps: int) -> list[tuple[int, int, int]]:
    """Oracle: the same greedy over Python sets."""
    remaining = {i: set(files) for i, files in enumerate(holdings)}
    out: list[tuple[int, int, int]] = []
    for _ in range(steps):
        count: dict[int, int] = {}
        for files in remaining.values():
            for f in files:
                count[f] = count.get(f, 0) + 1
        best, best_key = -1, (0, 0)
        for i in sorted(remaining):
            files = remaining[i]
            key = (sum(1 for f in files if count[f] == 1), len(files))
            if key > best_key:
                best, best_key = i, key
        if best < 0:
            break
        del remaining[best]
        available = set().union(*remaining.values()) if remaining else set()
        out.append((best, best_key[0], len(available)))
    return out


def match_vpdq_reference(
    query: Sequence[VpdqFeature],
    compared: Sequence[VpdqFeature],
    *,
    distance_threshold: int = VPDQ_MATCH_THRESHOLD,
    quality_threshold: int = VPDQ_QUALITY_THRESHOLD,
    query_match_percent: float = VPDQ_QUERY_MATCH_PERCENT,
    compared_match_percent: float = VPDQ_COMPARED_MATCH_PERCENT,
) -> VpdqMatch:
    """The slow obvious oracle for ``match_vpdq``: python-threatexchange's loops, verbatim."""

    def prepare(features: Sequence[VpdqFeature]) -> list[VpdqFeature]:
        kept: list[VpdqFeature] = []
        for feature in features:
            if feature.quality >= quality_threshold and all(k.pdq != feature.pdq for k in kept):
                kept.append(feature)
        return kept

    def count_in(these: list[VpdqFeature], others: list[VpdqFeature]) -> int:
        return sum(
            any(hamming_distance(a.digest, b.digest) <= distance_threshold for b in others)
            for a in these
        )

    q, c = prepare(query), prepare(compared)
    if not q or not c:
        return VpdqMatch(0.0, 0.0, False)
    return _decide(
        count_in(q, c) * 100 / len(q),
        count_in(c, q) * 100 / len(c),
        query_match_percent,
        compared_match_percent,
    )
