"""HammingIndex through its public API: exactness, updates, errors, conformance lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.errors import ConflictError, InputError, NotFoundError, UsageError
from safelight.index import HammingIndex, array_to_hex, hex_to_array, oracle, segments, synthetic

from .conftest import conformance_dir

THRESHOLDS = (0, 10, 31, 50, 63)


@pytest.fixture
def small_mih(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give even tiny segments MIH tables, so tests exercise probing, not only scans."""
    monkeypatch.setattr(segments, "MIH_MIN_SEGMENT_ROWS", 0)


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct ids in random order; spread beyond 2**32 when n > 2 (8-byte id encoding)."""
    return (rng.permutation(n).astype(np.int64) - n // 2) * 2_000_003_011 + 17


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 800), clustered=st.booleans())
def test_search_equals_oracle(
    tmp_path_factory: pytest.TempPathFactory, small_mih: None, seed: int, n: int, clustered: bool
) -> None:
    rng = np.random.default_rng(seed)
    if clustered:
        hashes = synthetic.clustered_hashes(rng, n, max_cluster=max(2, n // 3))
    else:
        hashes = synthetic.uniform_hashes(rng, n)
    ids = _ids(rng, n)
    index = HammingIndex.build(tmp_path_factory.mktemp("idx"), ids, hashes)
    queries, _, _ = synthetic.planted_queries(rng, hashes, 30)
    for t in THRESHOLDS:
        expected = oracle.hamming_search(ids, hashes, queries, t)
        for mode in ("auto", "probe", "scan"):
            assert index.search(queries, t, mode=mode).to_lists() == expected, (t, mode)
        assert index.search_batch(queries, t, workers=3).to_lists() == expected


@pytest.fixture
def wide_chunks(monkeypatch: pytest.MonkeyPatch, small_mih: None) -> None:
    """Every segment, however small, cut into 12 chunks of 20 bits (240 of the 256 bits) with
    16-bit offset remainders: the shape of a multi-million-row base at a twentieth of the
    file size (the 10M layout itself is held to the oracle in test_index_kernels.py)."""
    wide = segments.layout.from_widths((20,) * 12)
    monkeypatch.setattr(segments.layout, "chunk_layout", lambda n: wide.copy())


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), clustered=st.booleans())
def test_wide_chunk_segments_equal_oracle_through_the_api(
    tmp_path_factory: pytest.TempPathFactory, wide_chunks: None, seed: int, clustered: bool
) -> None:
    """Base and delta segments with wide chunks, searched through the public API."""
    rng = np.random.default_rng(seed)
    n = 700
    if clustered:
        hashes = synthetic.clustered_hashes(rng, n, max_cluster=200)
    else:
        hashes = synthetic.uniform_hashes(rng, n)
    ids = _ids(rng, n)
    index = HammingIndex.build(tmp_path_factory.mktemp("idx"), ids[:500], hashes[:500])
    index.add(ids[500:], hashes[500:])
    assert all(s.chunks.shape[0] == 12 for s in index._view().segments)
    queries, _, _ = synthetic.planted_queries(rng, hashes, 20)
    for t in THRESHOLDS:
        expected = oracle.hamming_search(ids, hashes, queries, t)
        for mode in ("auto", "probe"):
            assert index.search(queries, t, mode=mode).to_lists() == expected, (t, mode)


def test_planted_neighbours_found_and_near_misses_not(tmp_path: Path, small_mih: None) -> None:
    rng = np.random.default_rng(11)
    hashes = synthetic.uniform_hashes(rng, 3000)
    index = HammingIndex.build(tmp_path, np.arange(3000), hashes)
    queries, rows, dist = synthetic.planted_queries(rng, hashes, 400)
    found = index.search(queries, 31)
    for i in range(len(queries)):
        hits = dict(found[i])
        if dist[i] <= 31:
            assert hits.get(int(rows[i])) == dist[i]
        else:
            assert int(rows[i]) not in hits


def test_segments_without_mih_tables_are_scanned(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    hashes = synthetic.clustered_hashes(rng, 700)
    index = HammingIndex.build(tmp_path, np.arange(700), hashes)
    assert not index._view().segments[0].has_mih
    queries, _, _ = synthetic.planted_queries(rng, hashes, 20)
    assert index.search(queries, 31).to_lists() == oracle.hamming_search(
        np.arange(700), hashes, queries, 31
    )


def test_conformance_haystack_and_needles(tmp_path: Path, small_mih: None) -> None:
    folder = conformance_dir("pdq", "hash-lists")
    haystack = hex_to_array((folder / "haystack.txt").read_text().split())
    needles = hex_to_array((folder / "needles.txt").read_text().split())
    ids = np.arange(len(haystack)) + 1
    index = HammingIndex.build(tmp_path, ids, haystack)
    for t in (0, 31, 63):
        expected = oracle.hamming_search(ids, haystack, needles, t)
        assert index.search_batch(needles, t).to_lists() == expected
    assert sum(len(hits) > 0 for hits in index.search(needles, 31)) > 0


def test_hex_round_trip_and_byte_order() -> None:
    text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    array = hex_to_array([text, text.upper()])
    assert array.shape == (2, 32)
    assert array[0, 0] == 0xF8 and array[0, 31] == 0x22
    assert array_to_hex(array) == [text, text]


def test_bad_hex_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="item 1: expected 64 hex characters, got 3"):
        hex_to_array(["00" * 32, "abc", "zz" * 32])
    with pytest.raises(InputError, match="not hexadecimal"):
        hex_to_array(["zz" * 32])


def test_build_from_skips_and_reports_bad_entries(tmp_path: Path) -> None:
    good = "00" * 32
    entries = [(1, good), (2, "xyz"), (3, "ff" * 32), ("nope", good), (4, b"\x01" * 32)]
    index, problems = HammingIndex.build_from(tmp_path, entries)  # type: ignore[arg-type]
    assert len(index) == 3
    assert [where for where, _ in problems] == ["entry 3", "entry id 2"]
    assert "expected 64 hex characters" in problems[1][1]
    assert index.search([b"\x01" * 32], 0)[0] == [(4, 0)]


def test_argument_errors(tmp_path: Path) -> None:
    index = HammingIndex.build(tmp_path, [1, 2], np.array([[0] * 32, [1] * 32], np.uint8))
    with pytest.raises(UsageError, match="threshold: must be in 0..63, got 64"):
        index.search(np.zeros((1, 32), np.uint8), 64)
    with pytest.raises(UsageError, match="threshold: expected an integer"):
        index.search(np.zeros((1, 32), np.uint8), 3.5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="mode"):
        index.search(np.zeros((1, 32), np.uint8), 3, mode="fast")
    with pytest.raises(InputError, match=r"queries: expected shape \(n, 32\)"):
        index.search(np.zeros((1, 16), np.uint8))
    with pytest.raises(InputError, match="queries: expected dtype uint8"):
        index.search(np.zeros((1, 32), np.int32))
    with pytest.raises(InputError, match="ids: got 1 ids for 2 hashes"):
        index.add([5], np.zeros((2, 32), np.uint8))
    with pytest.raises(InputError, match="duplicate entry ids in one batch: 5"):
        index.add([5, 5], np.zeros((2, 32), np.uint8))
    with pytest.raises(InputError, match="ids: expected integers"):
        index.add([1.5], np.zeros((1, 32), np.uint8))
    with pytest.raises(ConflictError, match="already in the index: 2"):
        index.add([2], np.zeros((1, 32), np.uint8))
    with pytest.raises(UsageError, match="not a 256-bit hash"):
        HammingIndex.build(tmp_path / "x", [1], np.zeros((1, 32), np.uint8), signal_type="md5")
    with pytest.raises(NotFoundError, match="no index at"):
        HammingIndex.open(tmp_path / "missing")
    assert index.search(np.zeros((0, 32), np.uint8)).to_lists() == []
    assert index.search("00" * 32, 0).to_lists() == [[(1, 0)]]


def test_add_disable_enable_remove_compact(tmp_path: Path, small_mih: None) -> None:
    rng = np.random.default_rng(2)
    hashes = synthetic.uniform_hashes(rng, 500)
    index = HammingIndex.build(tmp_path, np.arange(500), hashes, meta={"built_to": 499})
    reader = HammingIndex.open(tmp_path)
    extra = synthetic.flip_bits(rng, hashes[:50], 3)
    index.add(np.arange(1000, 1050), extra, meta={"built_to": 1049})
    assert reader.meta == {"built_to": 1049}
    assert len(reader) == 550
    assert (1000, 0) in reader.search(extra[:1], 0)[0]
    assert reader.disable([0, 1000, 999_999]) == 2
    assert reader.disable([0]) == 0
    assert not reader.contains([0, 1000]).any() and reader.contains([1, 1001]).all()
    assert index.search(hashes[:1], 5)[0] == []
    assert index.enable([0, 5]) == 1
    assert index.search(hashes[:1], 0)[0] == [(0, 0)]
    assert index.remove([1, 1001]) == 2
    assert index.remove([1]) == 0
    with pytest.raises(ConflictError, match="removed but not yet compacted"):
        index.add([1], hashes[:1])
    stats = index.stats()
    assert (stats.rows, stats.entries, stats.disabled, stats.removed) == (550, 547, 1, 2)
    assert stats.needs_compaction
    before = index.search(hashes, 31).to_lists()
    assert index.compact()
    assert not index.compact()  # nothing left to do
    assert index.search(hashes, 31).to_lists() == before
    assert reader.search(hashes, 31).to_lists() == before
    stats = reader.stats()
    assert (stats.rows, stats.entries, stats.segments, stats.removed) == (548, 547, 1, 0)
    index.add([1], hashes[1:2])  # allowed again once compacted away
    assert reader.search(hashes[1:2], 0)[0] == [(1, 0)]


def test_many_small_adds_merge_into_few_deltas(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    index = HammingIndex.build(tmp_path, [0], synthetic.uniform_hashes(rng, 1))
    all_hashes = [index._view().segments[0].hashes().copy()]
    for batch in range(12):
        new = synthetic.uniform_hashes(rng, 10)
        index.add(np.arange(10) + 100 * (batch + 1), new)
        all_hashes.append(new)
    assert index.stats().segments == 2
    hashes = np.concatenate(all_hashes)
    ids = np.concatenate([[0]] + [np.arange(10) + 100 * (b + 1) for b in range(12)])
    assert index.search(hashes, 0).to_lists() == oracle.hamming_search(ids, hashes, hashes, 0)
    files = {p.name for p in tmp_path.iterdir()}
    assert files == {"MANIFEST", "LOCK"} | index._view().manifest.files


def test_add_with_lower_ids_checks_every_segment(tmp_path: Path) -> None:
    index = HammingIndex.build(tmp_path, [10, 20], np.zeros((2, 32), np.uint8))
    index.add([5, 15], np.ones((2, 32), np.uint8))
    with pytest.raises(ConflictError, match="already in the index: 15"):
        index.add([1, 15], np.ones((2, 32), np.uint8))
    index.add([], np.zeros((0, 32), np.uint8), meta={"k": 1})
    assert index.meta == {"k": 1}
    index.set_meta({"k": 2})
    assert HammingIndex.open(tmp_path).meta == {"k": 2}


def test_background_compaction_while_adding(tmp_path: Path, small_mih: None) -> None:
    rng = np.random.default_rng(4)
    hashes = synthetic.uniform_hashes(rng, 400)
    index = HammingIndex.build(tmp_path, np.arange(400), hashes)
    index.add(np.arange(400, 420), synthetic.uniform_hashes(rng, 20))
    future = index.compact_in_background()
    late = synthetic.uniform_hashes(rng, 5)
    index.add(np.arange(900, 905), late)
    assert future.result(timeout=120) in (True, False)
    assert index.search(late, 0).to_lists() == [[(900 + i, 0)] for i in range(5)]
    assert len(index) == 425
    index.compact()
    assert index.stats().segments == 1 and len(index) == 425


def test_empty_index_and_many_hidden_ids(tmp_path: Path) -> None:
    index = HammingIndex.build(tmp_path, [], np.zeros((0, 32), np.uint8))
    assert len(index) == 0
    assert index.search(np.zeros((2, 32), np.uint8), 63).to_lists() == [[], []]
    rng = np.random.default_rng(8)
    hashes = synthetic.clustered_hashes(rng, 3000)
    index.add(np.arange(-1500, 1500), hashes)
    hidden = np.arange(-1500, 1500, 3)
    assert index.disable(hidden) == hidden.size
    queries = hashes[:200]
    visible = ~np.isin(np.arange(-1500, 1500), hidden)
    expected = oracle.hamming_search(np.arange(-1500, 1500)[visible], hashes[visible], queries, 31)
    assert index.search(queries, 31).to_lists() == expected
    assert len(index) == 3000 - hidden.size
