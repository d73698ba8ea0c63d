"""The numba kernels against the numpy oracle, on uniform and clustered hash sets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.constants import MIH_BRUTE_COST_RATIO
from safelight.index import kernels, oracle, synthetic

from .index_helpers import as_lists, mih_tables

MASKS, ENDS = kernels.flip_masks()
THRESHOLDS = (0, 10, 31, 50, 63)


def _dataset(seed: int, n: int, clustered: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if clustered:
        return synthetic.clustered_hashes(rng, n, max_cluster=max(2, n // 4))
    return synthetic.uniform_hashes(rng, n)


def _queries(seed: int, hashes: np.ndarray, count: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    planted, _, _ = synthetic.planted_queries(rng, hashes, count, max_distance=35)
    far = synthetic.flip_bits(rng, hashes[rng.integers(0, len(hashes), 4)], [40, 48, 56, 63])
    return np.concatenate([planted, far, synthetic.uniform_hashes(rng, 2)])


def test_flip_masks_cover_each_radius_exactly() -> None:
    popcounts = np.array([bin(int(m)).count("1") for m in MASKS])
    assert list(ENDS) == [1, 17, 137, 697]
    assert np.all(np.diff(popcounts) >= 0)
    assert len(set(MASKS.tolist())) == len(MASKS)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 600),
    clustered=st.booleans(),
    mode=st.sampled_from([0, 1, 2]),
)
def test_search_segment_matches_oracle(seed: int, n: int, clustered: bool, mode: int) -> None:
    hashes = _dataset(seed, n, clustered)
    words, offsets, postings, order = mih_tables(hashes)
    ids = order  # row r of the sorted segment holds input row order[r]
    queries = _queries(seed, hashes, 24)
    qwords = np.ascontiguousarray(queries).view(np.uint64)
    for t in THRESHOLDS:
        qi, rows, dist = kernels.search_segment(
            words, offsets, postings, qwords, t, MASKS, ENDS, MIH_BRUTE_COST_RATIO, mode
        )
        got = as_lists(len(queries), qi, ids[rows], dist)
        assert got == oracle.hamming_search(np.arange(n), hashes, queries, t), (t, mode)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300))
def test_scan_without_mih_tables_matches_oracle(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    hashes = synthetic.uniform_hashes(rng, n)
    queries = synthetic.uniform_hashes(rng, 5) if n == 0 else _queries(seed, hashes, 10)
    none = np.zeros((0, 0), dtype=np.uint32)
    for t in THRESHOLDS:
        qi, rows, dist = kernels.search_segment(
            hashes.view(np.uint64), none, none, queries.view(np.uint64), t, MASKS, ENDS, 12, 0
        )
        got = as_lists(len(queries), qi, rows, dist)
        assert got == oracle.hamming_search(np.arange(n), hashes, queries, t)


def test_heavy_cluster_sends_costly_queries_to_a_scan_with_the_same_answer() -> None:
    rng = np.random.default_rng(7)
    centre = synthetic.uniform_hashes(rng, 1)
    hashes = np.concatenate(
        [
            synthetic.flip_bits(rng, np.repeat(centre, 3000, 0), 3),
            synthetic.uniform_hashes(rng, 500),
        ]
    )
    words, offsets, postings, order = mih_tables(hashes)
    queries = synthetic.flip_bits(rng, centre, 5)
    qwords = queries.view(np.uint64)
    answers = [
        kernels.search_segment(words, offsets, postings, qwords, 31, MASKS, ENDS, 12, m)
        for m in (0, 1, 2)
    ]
    lists = [as_lists(1, qi, order[rows], d) for qi, rows, d in answers]
    assert lists[0] == lists[1] == lists[2]
    assert len(lists[0][0]) >= 3000


def test_counting_order_is_a_stable_bucket_sort() -> None:
    rng = np.random.default_rng(3)
    hashes = synthetic.uniform_hashes(rng, 5000)
    words = hashes.view(np.uint64)
    offsets = np.zeros(kernels.BUCKETS + 1, dtype=np.uint32)
    order = np.empty(5000, dtype=np.int64)
    columns = np.empty((2, 5000), dtype=np.uint16)
    kernels.chunk_columns(words, 4, columns)
    kernels.bucket_order(columns[1], offsets, order)
    chunk = hashes[:, 10].astype(np.int64) | (hashes[:, 11].astype(np.int64) << 8)
    assert np.array_equal(order, np.argsort(chunk, kind="stable"))
    assert offsets[-1] == 5000
    assert np.array_equal(np.diff(offsets.astype(np.int64)), np.bincount(chunk, minlength=65536))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), width=st.sampled_from([16, 20, 32]))
def test_digest_ranges_match_oracle(seed: int, n: int, width: int) -> None:
    rng = np.random.default_rng(seed)
    distinct = synthetic.uniform_hashes(rng, max(1, n // 3), width)
    distinct[: len(distinct) // 2, :2] = 7  # many keys share a prefix bucket
    keys = distinct[rng.integers(0, len(distinct), n)]  # duplicates on purpose
    order = np.lexsort([keys[:, b] for b in range(width - 1, -1, -1)])
    sorted_keys = np.ascontiguousarray(keys[order])
    buckets = sorted_keys[:, 0].astype(np.int64) * 256 + sorted_keys[:, 1]
    prefix = np.zeros(kernels.BUCKETS + 1, dtype=np.uint32)
    prefix[1:] = np.cumsum(np.bincount(buckets, minlength=kernels.BUCKETS))
    queries = np.concatenate([distinct, synthetic.uniform_hashes(rng, 5, width)])
    starts = np.empty(len(queries), dtype=np.int64)
    stops = np.empty(len(queries), dtype=np.int64)
    kernels.digest_ranges(sorted_keys, prefix, queries, starts, stops)
    expected = oracle.digest_lookup(np.arange(n), keys, queries)
    for i in range(len(queries)):
        got = sorted(order[starts[i] : stops[i]].tolist())
        assert got == [hit[0] for hit in expected[i]]
