"""The vPDQ frame index finds exactly the matches of comparing every entry (the oracle)."""

from __future__ import annotations

import gc
import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.match.vpdq_frames import VpdqCandidates
from safelight.signals.vpdq import VpdqFeature

from .oracles import match_vpdq_reference


def _flip(digest: bytes, bits: list[int]) -> str:
    value = bytearray(digest)
    for bit in bits:
        value[bit // 8] ^= 1 << (bit % 8)
    return value.hex()


@st.composite
def libraries(draw: st.DrawFn) -> tuple[list[tuple[int, list[VpdqFeature]]], list[VpdqFeature]]:
    """Entries built from a few base frames plus noise, and a query near some of them, so
    that matches, near misses (distance 28-40) and non-matches all occur."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bases = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(6)]

    def frame(i: int) -> VpdqFeature:
        base = bases[int(rng.integers(0, len(bases)))]
        flips = rng.choice(256, size=int(rng.integers(0, 41)), replace=False).tolist()
        quality = int(rng.choice([100, 90, 49, 0])) if rng.random() < 0.2 else 100
        return VpdqFeature(i, float(i), _flip(base, flips), quality)

    entries = [
        (entry_id, [frame(i) for i in range(int(rng.integers(0, 12)))])
        for entry_id in sorted(rng.choice(10_000, size=draw(st.integers(0, 25)), replace=False))
    ]
    query = [frame(i) for i in range(draw(st.integers(0, 10)))]
    return [(int(e), f) for e, f in entries], query


def _oracle(
    entries: list[tuple[int, list[VpdqFeature]]], query: list[VpdqFeature]
) -> dict[int, tuple[float, float]]:
    out = {}
    for entry_id, features in entries:
        result = match_vpdq_reference(query, features)
        if result.matched:
            out[entry_id] = (result.query_percent, result.compared_percent)
    return out


@settings(max_examples=60, deadline=None)
@given(libraries())
def test_frame_index_matches_the_every_entry_oracle(
    case: tuple[list[tuple[int, list[VpdqFeature]]], list[VpdqFeature]],
) -> None:
    entries, query = case
    indexed = VpdqCandidates(entries, min_frames=0)
    assert indexed.indexed == (indexed.frames > 0)
    expected = _oracle(entries, query)
    assert indexed.match(query) == expected
    assert VpdqCandidates(entries).match(query) == expected  # small: the compare-all path


def test_candidates_skip_entries_without_a_near_frame() -> None:
    near = bytes(32)
    far = bytes([0xFF]) * 32
    entries = [
        (1, [VpdqFeature(0, 0.0, near.hex(), 100)]),
        (2, [VpdqFeature(0, 0.0, far.hex(), 100)]),
        (3, [VpdqFeature(0, 0.0, near.hex(), 10)]),  # unreliable frame: never indexed
    ]
    index = VpdqCandidates(entries, min_frames=0)
    assert index.indexed and index.frames == 2
    assert index.candidates([VpdqFeature(0, 0.0, _flip(near, [1, 2, 3]), 100)]) == [1]
    assert index.candidates([VpdqFeature(0, 0.0, near.hex(), 20)]) == []
    assert index.match([VpdqFeature(0, 0.0, near.hex(), 100)]) == {1: (100.0, 100.0)}


def test_the_index_folder_goes_with_the_object() -> None:
    entries = [(1, [VpdqFeature(0, 0.0, bytes(32).hex(), 100)])]
    index = VpdqCandidates(entries, min_frames=0)
    folder = str(index._index.path) if index._index is not None else None
    assert folder is not None and os.path.isdir(folder)
    del index
    gc.collect()
    assert not os.path.exists(os.path.dirname(folder))
