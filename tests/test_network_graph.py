"""The fast paths (numba Louvain, sparse projection, PageRank, greedy removal) against their
plain oracles, and against networkx where it has the same algorithm."""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.network.community import louvain, modularity
from safelight.network.graph import (
    greedy_removal,
    pagerank,
    projection,
)

from .oracles import (
    greedy_removal_reference,
    louvain_reference,
    pagerank_reference,
    projection_reference,
)


@st.composite
def incidences(draw: st.DrawFn) -> sp.csr_matrix:
    n = draw(st.integers(1, 14))
    m = draw(st.integers(1, 12))
    cells = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, m - 1)), max_size=60))
    counts = draw(st.lists(st.integers(1, 5), min_size=len(cells), max_size=len(cells)))
    if not cells:
        return sp.csr_matrix((n, m))
    rows, cols = zip(*cells, strict=True)
    return sp.csr_matrix((counts, (rows, cols)), shape=(n, m))


@st.composite
def weighted_graphs(draw: st.DrawFn) -> sp.csr_matrix:
    n = draw(st.integers(1, 24))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))
    weights = draw(
        st.lists(
            st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]), min_size=len(pairs), max_size=len(pairs)
        )
    )
    dense = np.zeros((n, n))
    for (a, b), w in zip(pairs, weights, strict=True):
        if a != b:
            dense[a, b] += w
            dense[b, a] += w
    return sp.csr_matrix(dense)


@settings(max_examples=60, deadline=None)
@given(weighted_graphs())
def test_louvain_kernel_matches_the_plain_oracle(graph: sp.csr_matrix) -> None:
    fast = louvain(graph)
    assert np.array_equal(fast, louvain_reference(graph))
    # Never worse than every node alone.
    assert modularity(graph, fast) >= modularity(graph, np.arange(graph.shape[0])) - 1e-12


@settings(max_examples=30, deadline=None)
@given(weighted_graphs())
def test_modularity_matches_networkx(graph: sp.csr_matrix) -> None:
    labels = louvain(graph)
    g = nx.from_scipy_sparse_array(graph)
    if g.number_of_edges() == 0:
        assert modularity(graph, labels) == 0.0
        return
    parts = [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]
    assert abs(modularity(graph, labels) - nx.community.modularity(g, parts)) < 1e-9


def test_louvain_recovers_planted_partition() -> None:
    g = nx.planted_partition_graph(8, 25, 0.5, 0.01, seed=3)
    labels = louvain(nx.to_scipy_sparse_array(g, format="csr"))
    planted = np.repeat(np.arange(8), 25)
    # Same partition up to naming: every planted block is one community and vice versa.
    pairs = set(zip(planted.tolist(), labels.tolist(), strict=True))
    assert len(pairs) == 8 and len(set(labels.tolist())) == 8


@settings(max_examples=60, deadline=None)
@given(incidences(), st.integers(2, 6))
def test_projection_matches_pairwise_oracle(incidence: sp.csr_matrix, cap: int) -> None:
    assert np.allclose(projection(incidence, cap).toarray(), projection_reference(incidence, cap))


@settings(max_examples=40, deadline=None)
@given(weighted_graphs())
def test_pagerank_matches_linear_solution_and_networkx(graph: sp.csr_matrix) -> None:
    rank = pagerank(graph)
    assert np.allclose(rank, pagerank_reference(graph.toarray()), atol=1e-8)
    assert abs(rank.sum() - 1.0) < 1e-8
    g = nx.from_scipy_sparse_array(graph)
    expected = nx.pagerank(g, alpha=0.85, weight="weight", tol=1e-12, max_iter=10_000)
    assert np.allclose(rank, [expected[i] for i in range(graph.shape[0])], atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(incidences(), st.integers(1, 6))
def test_greedy_removal_matches_set_oracle(incidence: sp.csr_matrix, steps: int) -> None:
    holdings = [set(incidence[i].indices.tolist()) for i in range(incidence.shape[0])]
    assert greedy_removal(incidence, steps) == greedy_removal_reference(holdings, steps)


def test_greedy_removal_takes_the_sole_holder_first() -> None:
    # Connection 0 holds 3 widely shared files; connection 2 alone holds files 3 and 4.
    incidence = sp.csr_matrix(
        np.array([[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 0, 0, 1, 1]], dtype=float)
    )
    steps = greedy_removal(incidence, 3)
    assert steps[0] == (2, 2, 3)  # takes 2 files offline, 3 still available
    assert steps[1] == (0, 0, 3)
    assert steps[2] == (1, 3, 0)
