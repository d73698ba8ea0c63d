"""The numba kernels against the numpy oracle, on uniform and clustered hash sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.constants import MIH_BRUTE_COST_RATIO, MIH_MAX_BYTES_PER_HASH, MIH_MAX_RADIUS
from safelight.index import kernels, layout, oracle, synthetic

from .index_helpers import BINOM, CLASSIC, LEVEL_STARTS, MASKS, as_lists, mih_tables

THRESHOLDS = (0, 10, 31, 50, 63)
NO_CHUNKS = np.zeros((0, 2), dtype=np.int64)


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


def _search(
    tables: tuple[np.ndarray, ...], queries: np.ndarray, t: int, mode: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``search_segment`` over ``mih_tables(...)`` (or bare words and an empty layout)."""
    words, chunks, offsets, bases, postings = tables[:5]
    qwords = np.ascontiguousarray(queries).view(np.uint64)
    return kernels.search_segment(  # type: ignore[no-any-return]
        words, chunks, offsets, bases, postings, qwords, t, MASKS, LEVEL_STARTS, BINOM,
        MIH_BRUTE_COST_RATIO, mode,
    )  # fmt: skip


def _check_layout(hashes: np.ndarray, chunks: np.ndarray, queries: np.ndarray,
                  modes: tuple[int, ...] = (0, 1, 2), block_bits: int | None = None,
                  ) -> None:  # fmt: skip
    tables = mih_tables(hashes, chunks, block_bits)
    order = tables[5]  # row r of the sorted segment holds input row order[r]
    for t in THRESHOLDS:
        expected = oracle.hamming_search(np.arange(len(hashes)), hashes, queries, t)
        for mode in modes:
            qi, rows, dist = _search(tables, queries, t, mode)
            assert as_lists(len(queries), qi, order[rows], dist) == expected, (t, mode)


@pytest.mark.parametrize("width", [1, 2, 5, 16, 23, 32])
def test_colex_masks_give_each_level_exactly_for_any_width(width: int) -> None:
    for p in range(MIH_MAX_RADIUS + 1):
        level = MASKS[LEVEL_STARTS[p] : LEVEL_STARTS[p] + BINOM[width, p]]
        expected = {sum(1 << b for b in c) for c in itertools.combinations(range(width), p)}
        assert set(level.tolist()) == expected and len(level) == len(expected)


@pytest.mark.parametrize("n", [16_384, 100_000, 1_000_000, 10_000_000, 100_000_000])
def test_chosen_layouts_are_disjoint_and_within_budget(n: int) -> None:
    chunks = layout.chunk_layout(n)
    widths = tuple(int(w) for w in chunks[:, 1])
    ends = chunks[:, 0] + chunks[:, 1]
    assert chunks[0, 0] == 0 and np.all(chunks[1:, 0] >= ends[:-1]) and ends[-1] <= 256
    memory = layout.bytes_per_hash(widths, n)
    assert memory <= MIH_MAX_BYTES_PER_HASH or widths == (16,) * 16
    cost = layout.expected_cost(widths, n, 31)
    assert cost <= layout.expected_cost((16,) * 16, n, 31)
    assert layout.expected_cost((32,) * 4, n, 31) == float("inf")  # radius 7: never probed
    if n >= 10_000_000:  # about log2(n) bits per chunk (Norouzi et al.), 4x fewer reads
        assert 21 <= min(widths) and max(widths) <= 24
        assert cost * 4 < layout.expected_cost((16,) * 16, n, 31)


def test_chunk_values_cross_word_boundaries() -> None:
    rng = np.random.default_rng(5)
    hashes = synthetic.uniform_hashes(rng, 50)
    bits = np.unpackbits(hashes, axis=1, bitorder="little")  # bit j of byte j // 8
    chunks = np.array([[0, 23], [60, 8], [100, 32], [250, 6]], dtype=np.int64)
    out = np.empty((4, 50), dtype=np.uint32)
    kernels.chunk_columns(hashes.view(np.uint64), chunks, 0, out)
    for c, (start, width) in enumerate(chunks.tolist()):
        expected = (bits[:, start : start + width] << np.arange(width)).sum(axis=1)
        assert np.array_equal(out[c], expected)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 600),
    clustered=st.booleans(),
    mode=st.sampled_from([0, 1, 2]),
)
def test_search_segment_matches_oracle(seed: int, n: int, clustered: bool, mode: int) -> None:
    hashes = _dataset(seed, n, clustered)
    _check_layout(hashes, CLASSIC, _queries(seed, hashes, 24), (mode,))


# Random substring splits: 1..16 chunks of 1..20 bits with gaps between them (uncovered
# bits are allowed: the pigeonhole bound needs only disjoint chunks), and offset blocks of
# 2^0..2^8 bucket values.
_splits = st.lists(st.tuples(st.integers(0, 12), st.integers(1, 20)), min_size=1, max_size=16)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 500), clustered=st.booleans(),
       split=_splits, block_bits=st.integers(0, 8))  # fmt: skip
def test_any_substring_split_matches_oracle(
    seed: int, n: int, clustered: bool, split: list[tuple[int, int]], block_bits: int
) -> None:
    widths = [w for _, w in split]
    starts = np.cumsum([gap + width for gap, width in split]) - widths
    if starts[-1] + widths[-1] > 256:
        return
    chunks = np.stack([starts, widths, np.minimum(widths, 8)], axis=1).astype(np.int64)
    hashes = _dataset(seed, n, clustered)
    _check_layout(hashes, chunks, _queries(seed, hashes, 12), block_bits=block_bits)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), width=st.integers(1, 14), block_bits=st.integers(0, 8))
def test_compressed_offsets_give_back_every_offset(seed: int, width: int, block_bits: int) -> None:
    """Including blocks of more than 65,535 rows, which must fall back to smaller blocks."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 3, 1 << width)
    counts[rng.integers(0, 1 << width, 3)] = rng.integers(0, 200_000, 3)  # huge buckets
    full = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint32)
    block, low, bases = layout.compress_offsets(full, min(block_bits, width))
    v = np.arange(full.size)
    assert np.array_equal(bases[v >> block].astype(np.int64) + low, full)
    assert len(bases) == (1 << (width - block)) + 1 and block <= min(block_bits, width)
    if block < min(block_bits, width):  # a larger block would have overflowed 16 bits
        span = full[np.minimum(v | ((1 << (block + 1)) - 1), full.size - 1)] - full[
            v & ~((1 << (block + 1)) - 1)]  # fmt: skip
        assert span.max() > 0xFFFF


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), clustered=st.booleans())
def test_the_10m_layout_matches_oracle(seed: int, clustered: bool) -> None:
    """The split a 10M-row segment gets (11 chunks of 22-23 bits), on a small set."""
    hashes = _dataset(seed, 400, clustered)
    _check_layout(hashes, layout.chunk_layout(10_000_000), _queries(seed, hashes, 16))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300))
def test_scan_without_mih_tables_matches_oracle(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    hashes = synthetic.uniform_hashes(rng, n)
    queries = synthetic.uniform_hashes(rng, 5) if n == 0 else _queries(seed, hashes, 10)
    none = np.zeros((0, 0), dtype=np.uint32)
    for t in THRESHOLDS:
        tables = (hashes.view(np.uint64), NO_CHUNKS, np.zeros(0, np.uint16), none.ravel(), none)
        qi, rows, dist = _search(tables, queries, t, 0)
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
    queries = synthetic.flip_bits(rng, centre, 5)
    for chunks in (CLASSIC, layout.from_widths((22,) * 11)):
        tables = mih_tables(hashes, chunks)
        answers = [_search(tables, queries, 31, mode) for mode in (0, 1, 2)]
        lists = [as_lists(1, qi, tables[5][rows], d) for qi, rows, d in answers]
        assert lists[0] == lists[1] == lists[2]
        assert len(lists[0][0]) >= 3000


def test_crowded_chunks_get_the_small_radius() -> None:
    """4,000 rows share the query's value in chunks 1..4 (and are far from it elsewhere): the
    plan gives those chunks the small radius or none, and must still find every match."""
    rng = np.random.default_rng(11)
    query = synthetic.uniform_hashes(rng, 1)
    crowd = synthetic.uniform_hashes(rng, 4000)
    crowd[:, 2:10] = query[0, 2:10]  # chunks 1..4 of 16 bits equal the query's: 4000 rows
    near = synthetic.flip_bits(rng, np.repeat(query, 20, 0), np.arange(20) + 20)
    hashes = np.concatenate([crowd, near])
    tables = mih_tables(hashes, CLASSIC)
    lists = [
        as_lists(1, qi, tables[5][rows], d)
        for qi, rows, d in (_search(tables, query, 31, mode) for mode in (1, 2))
    ]
    assert lists[0] == lists[1] == oracle.hamming_search(np.arange(4020), hashes, query, 31)
    assert len(lists[0][0]) == 12  # the planted rows at 20..31 bits
    values = [kernels.chunk_value(query.view(np.uint64), 0, 16 * c, 16) for c in range(1, 5)]
    columns = np.empty((16, len(hashes)), dtype=np.uint32)
    kernels.chunk_columns(hashes.view(np.uint64), CLASSIC, 0, columns)
    assert min(np.count_nonzero(columns[c] == v) for c, v in enumerate(values, 1)) >= 4000


def test_counting_order_is_a_stable_bucket_sort() -> None:
    rng = np.random.default_rng(3)
    hashes = synthetic.uniform_hashes(rng, 5000)
    words = hashes.view(np.uint64)
    offsets = np.zeros(kernels.BUCKETS + 1, dtype=np.uint32)
    order = np.empty(5000, dtype=np.int64)
    columns = np.empty((2, 5000), dtype=np.uint32)
    kernels.chunk_columns(words, CLASSIC, 4, columns)
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


@pytest.mark.parametrize("widths", [(), (0, 8), (33,), (16,) * 17])
def test_impossible_widths_are_refused(widths: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="bad chunk widths"):
        layout.from_widths(widths)


def test_a_bucket_of_more_than_65535_rows_searches_exactly() -> None:
    """70,000 near-duplicates share chunk 0's value: that chunk's offsets cannot use 16-bit
    remainders in blocks of 256 values and fall back to smaller blocks; answers must not
    change (probe-only against scan-only, which the oracle tests hold exact)."""
    rng = np.random.default_rng(13)
    centre = synthetic.uniform_hashes(rng, 1)
    crowd = synthetic.flip_bits(rng, np.repeat(centre, 70_000, 0), rng.integers(0, 20, 70_000))
    crowd[:, :2] = centre[0, :2]  # chunk 0 (bits 0-15) equal in every row
    hashes = np.concatenate([crowd, synthetic.uniform_hashes(rng, 2_000)])
    tables = mih_tables(hashes, CLASSIC)
    assert tables[1][0, 2] < 8 and np.all(tables[1][1:, 2] == 8)
    queries = np.concatenate(
        [synthetic.flip_bits(rng, np.repeat(centre, 3, 0), [5, 25, 40]), hashes[-3:]]
    )
    for t in (10, 31):
        answers = [as_lists(6, *_search(tables, queries, t, mode)) for mode in (1, 2)]
        assert answers[0] == answers[1] and sum(map(len, answers[0])) > 1000


@pytest.mark.parametrize("bits", [10, 19, 21])
def test_bucket_order_is_a_stable_sort_with_exact_offsets(bits: int) -> None:
    """Both sorts: one counting pass up to 2^18 buckets, partition-then-count above."""
    rng = np.random.default_rng(bits)
    values = rng.integers(0, 1 << bits, 50_000).astype(np.uint32)
    values[:5_000] = values[0]  # a crowded bucket
    offsets = np.empty((1 << bits) + 1, dtype=np.uint32)
    order = np.empty(values.size, dtype=np.uint32)
    kernels.bucket_order(values, offsets, order)
    assert np.array_equal(order, np.argsort(values, kind="stable"))
    expected = np.concatenate([[0], np.cumsum(np.bincount(values, minlength=1 << bits))])
    assert np.array_equal(offsets, expected)
