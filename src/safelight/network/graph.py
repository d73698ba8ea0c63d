"""The connection-file graph and what is computed on it: projection, centrality, removal.

``B`` is the bipartite incidence (connections x files, 1 where a connection sighted a file).
Connections are projected through the known files they share, each shared file weighted
1/(d-1) for a file held by d connections (Newman 2001, "Scientific collaboration networks
II"): a file two connections share says more than one everybody holds, and each connection's
weighted degree stays bounded however popular its files are.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from safelight.constants import NETWORK_MAX_FILE_DEGREE, NETWORK_PAGERANK_DAMPING


def projection(
    incidence: sp.csr_matrix, max_file_degree: int = NETWORK_MAX_FILE_DEGREE
) -> sp.csr_matrix:
    """Weighted connection-connection graph over files held by 2..max_file_degree connections."""
    binary = sp.csr_matrix(incidence, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    degree = np.asarray(binary.sum(axis=0)).ravel()
    use = (degree >= 2) & (degree <= max_file_degree)
    weights = np.zeros_like(degree)
    weights[use] = 1.0 / (degree[use] - 1.0)
    scaled = binary @ sp.diags(np.sqrt(weights))
    graph = sp.csr_matrix(scaled @ scaled.T)
    graph.setdiag(0.0)
    graph.eliminate_zeros()
    return graph


def pagerank(
    graph: sp.csr_matrix,
    damping: float = NETWORK_PAGERANK_DAMPING,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """Weighted PageRank by power iteration; dangling nodes spread their rank uniformly."""
    n = graph.shape[0]
    if n == 0:
        return np.zeros(0)
    out_weight = np.asarray(graph.sum(axis=1)).ravel()
    dangling = out_weight == 0
    inv = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out_weight))
    transition = sp.csr_matrix(sp.diags(inv) @ graph).T.tocsr()
    rank = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        spread = damping * (transition @ rank + rank[dangling].sum() / n) + (1 - damping) / n
        if np.abs(spread - rank).sum() < tol * n:
            return np.asarray(spread)
        rank = spread
    return rank


def greedy_removal(incidence: sp.csr_matrix, steps: int) -> list[tuple[int, int, int]]:
    """Which connections, taken offline one by one, cut availability of the files most.

    Each step removes the connection whose loss makes the most files unavailable (files it is
    the last holder of), ties broken by most file copies held, then lowest index. Returns
    (connection, files lost at this step, files still available) per step.
    """
    binary = sp.csr_matrix(incidence, dtype=np.int64, copy=True)
    binary.data[:] = 1
    by_file = binary.tocsc()
    holders = np.asarray(binary.sum(axis=0)).ravel()
    copies = np.asarray(binary.sum(axis=1)).ravel()
    alive = np.ones(binary.shape[0], dtype=bool)
    out: list[tuple[int, int, int]] = []
    for _ in range(min(steps, int(alive.sum()))):
        sole = np.flatnonzero(holders == 1)
        lost = np.zeros(binary.shape[0], dtype=np.int64)
        if len(sole):
            lost = np.asarray(by_file[:, sole].sum(axis=1)).ravel().astype(np.int64)
        key = np.where(alive, lost * (int(copies.max()) + 1) + copies, -1)
        chosen = int(np.argmax(key))
        if key[chosen] <= 0:
            break
        alive[chosen] = False
        row = binary.indices[binary.indptr[chosen] : binary.indptr[chosen + 1]]
        holders[row] -= 1
        copies[chosen] = 0
        out.append((chosen, int(lost[chosen]), int((holders > 0).sum())))
    return out


def file_weights(binary: sp.csr_matrix, max_file_degree: int) -> np.ndarray:
    """1/(d-1) for files held by 2..max_file_degree connections, else 0."""
    degree = np.asarray(binary.sum(axis=0)).ravel()
    use = (degree >= 2) & (degree <= max_file_degree)
    weights = np.zeros(len(degree))
    weights[use] = 1.0 / (degree[use] - 1.0)
    return weights


def pagerank_projected(
    incidence: sp.csr_matrix,
    max_file_degree: int = NETWORK_MAX_FILE_DEGREE,
    damping: float = NETWORK_PAGERANK_DAMPING,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> np.ndarray:
    """PageRank on ``projection(incidence)`` without building it.

    The projection is P = B W B^T minus its diagonal, so P x costs two sparse products with
    B: O(edges) instead of O(sum of squared file degrees). ``pagerank(projection(B))`` is the
    oracle this is tested against.
    """
    binary = sp.csr_matrix(incidence, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    n = binary.shape[0]
    if n == 0:
        return np.zeros(0)
    weights = file_weights(binary, max_file_degree)
    by_file = binary.T.tocsr()
    self_weight = binary @ weights
    out_weight = binary @ (weights * np.asarray(binary.sum(axis=0)).ravel()) - self_weight
    out_weight[np.abs(out_weight) < 1e-12] = 0.0
    dangling = out_weight == 0
    inv = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out_weight))
    rank = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        share = rank * inv
        moved = binary @ (weights * (by_file @ share)) - self_weight * share
        spread = damping * (moved + rank[dangling].sum() / n) + (1 - damping) / n
        if np.abs(spread - rank).sum() < tol * n:
            return np.asarray(spread)
        rank = spread
    return rank


def bipartite_graph(incidence: sp.csr_matrix) -> sp.csr_matrix:
    """Connections and files as one node set (files after connections), linked by holding."""
    binary = sp.csr_matrix(incidence, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    return sp.csr_matrix(sp.bmat([[None, binary], [binary.T, None]], format="csr"))
