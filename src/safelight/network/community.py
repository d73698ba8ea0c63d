"""Louvain community detection (Blondel et al. 2008) on a weighted undirected graph.

Our own implementation (igraph and leidenalg are GPL): a numba kernel for the local-moving
sweeps, scipy.sparse for collapsing communities into super-nodes, repeated until no move
improves modularity. Nodes are visited in index order and ties keep the current community,
so results are deterministic. ``louvain_reference`` (tests/oracles.py) is the same
algorithm written plainly in Python, the oracle the kernel is tested against.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

from safelight.constants import NETWORK_LOUVAIN_RESOLUTION

MAX_SWEEPS = 50
MAX_LEVELS = 20


@njit(cache=True)
def _sweeps(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    degree: np.ndarray,
    comm: np.ndarray,
    tot: np.ndarray,
    m2: float,
    resolution: float,
    max_sweeps: int,
) -> int:
    n = len(degree)
    weight_to = np.zeros(n, dtype=np.float64)
    seen = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)
    moves_total = 0
    for _ in range(max_sweeps):
        moves = 0
        for i in range(n):
            own = comm[i]
            count = 0
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if j == i:
                    continue
                c = comm[j]
                if not seen[c]:
                    seen[c] = True
                    touched[count] = c
                    count += 1
                weight_to[c] += data[p]
            k = degree[i]
            tot[own] -= k
            best = own
            best_gain = weight_to[own] - resolution * tot[own] * k / m2
            for t in range(count):
                c = touched[t]
                gain = weight_to[c] - resolution * tot[c] * k / m2
                if gain > best_gain + 1e-12:
                    best_gain = gain
                    best = c
            tot[best] += k
            if best != own:
                comm[i] = best
                moves += 1
            for t in range(count):
                c = touched[t]
                weight_to[c] = 0.0
                seen[c] = False
            weight_to[own] = 0.0
        moves_total += moves
        if moves == 0:
            break
    return moves_total


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Communities numbered 0.. in order of their lowest member."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)


def louvain(adjacency: sp.spmatrix, resolution: float = NETWORK_LOUVAIN_RESOLUTION) -> np.ndarray:
    """Community of every node of a symmetric non-negative adjacency matrix."""
    graph = sp.csr_matrix(adjacency, dtype=np.float64)
    n = graph.shape[0]
    membership = np.arange(n, dtype=np.int64)
    m2 = float(graph.sum())
    if n == 0 or m2 == 0.0:
        return membership
    for _ in range(MAX_LEVELS):
        graph.sort_indices()
        degree = np.asarray(graph.sum(axis=1)).ravel()
        comm = np.arange(graph.shape[0], dtype=np.int64)
        tot = degree.copy()
        moved = _sweeps(
            graph.indptr.astype(np.int64),
            graph.indices.astype(np.int64),
            graph.data,
            degree,
            comm,
            tot,
            m2,
            resolution,
            MAX_SWEEPS,
        )
        if moved == 0:
            break
        comm = _relabel(comm)
        membership = comm[membership]
        size = int(comm.max()) + 1
        collapse = sp.csr_matrix(
            (np.ones(len(comm)), (np.arange(len(comm)), comm)), shape=(len(comm), size)
        )
        graph = sp.csr_matrix(collapse.T @ graph @ collapse)
    return _relabel(membership)


def modularity(
    adjacency: sp.spmatrix, labels: np.ndarray, resolution: float = NETWORK_LOUVAIN_RESOLUTION
) -> float:
    """Newman-Girvan modularity of a partition (self-loops counted as in the adjacency)."""
    graph = sp.csr_matrix(adjacency, dtype=np.float64)
    m2 = float(graph.sum())
    if m2 == 0.0:
        return 0.0
    coo = graph.tocoo()
    inside = np.bincount(
        labels[coo.row],
        weights=coo.data * (labels[coo.row] == labels[coo.col]),
        minlength=int(labels.max()) + 1,
    )
    degree = np.asarray(graph.sum(axis=1)).ravel()
    tot = np.bincount(labels, weights=degree, minlength=int(labels.max()) + 1)
    return float(np.sum(inside / m2 - resolution * (tot / m2) ** 2))
