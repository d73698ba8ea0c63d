"""Batches: every fresh item exactly once, in listing order, full until the listing ends, then
shrinking so the workers finish together."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.scan.batching import Batcher, tail_size
from safelight.scan.model import WorkItem
from safelight.scan.runs import path_key


def batch_sizes_oracle(remaining: int, max_items: int, workers: int) -> list[int]:
    """The tail's batch sizes once ``remaining`` items are known (the obvious loop)."""
    sizes = []
    while remaining > 0:
        size = tail_size(remaining, max_items, workers)
        sizes.append(size)
        remaining -= size
    return sizes


def file_items(count: int) -> list[WorkItem]:
    return [WorkItem(f"/p/{i:05d}.jpg", "file", location=f"/p/{i:05d}.jpg") for i in range(count)]


def oracle(items: list[WorkItem], recorded: set[str]) -> tuple[list[str], int]:
    """The obvious filter: skip recorded paths and repeats, keep the order."""
    seen, kept, skipped = set(recorded), [], 0
    for item in items:
        if item.logical_path in seen:
            skipped += 1
            continue
        seen.add(item.logical_path)
        kept.append(item.logical_path)
    return kept, skipped


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.integers(0, 40), max_size=120),
    sizes=st.lists(st.integers(0, 50), min_size=120, max_size=120),
    recorded=st.sets(st.integers(0, 40), max_size=10),
    max_items=st.integers(1, 40),
    max_bytes=st.integers(1, 200),
    workers=st.integers(1, 5),
)
def test_batches_hold_each_fresh_item_once_in_order_within_limits(
    names: list[int],
    sizes: list[int],
    recorded: set[int],
    max_items: int,
    max_bytes: int,
    workers: int,
) -> None:
    items = [
        WorkItem(f"/x/{name}", "inline", data=b"d" * sizes[i], size=sizes[i])
        for i, name in enumerate(names)
    ]
    done = {f"/x/{name}" for name in recorded}
    batcher = Batcher({path_key(path) for path in done}, max_items, max_bytes, workers)
    batches = list(batcher.batches(iter(items)))
    expected, skipped = oracle(items, done)
    assert [item.logical_path for batch in batches for item in batch] == expected
    assert batcher.skipped == skipped
    for batch in batches:
        assert 1 <= len(batch) <= max_items
        payload = sum(item.payload_bytes for item in batch)
        # Cut once the bytes reach the limit: only the last item may cross it.
        assert payload - batch[-1].payload_bytes < max_bytes


def test_batches_are_full_until_the_listing_ends_then_shrink() -> None:
    batches = list(Batcher(set(), 32, 1 << 30, workers=2).batches(iter(file_items(320))))
    sizes = [len(batch) for batch in batches]
    # 96 items remain when the look-ahead (4 batches) first finds the listing's end.
    assert sizes == [32] * 7 + batch_sizes_oracle(96, 32, 2)
    assert sizes[7:] == [24, 18, 14, 10, 8, 6, 4, 4, 4, 4]
    assert sum(sizes) == 320


def test_one_worker_gets_full_batches_to_the_end() -> None:
    sizes = [len(b) for b in Batcher(set(), 32, 1 << 30).batches(iter(file_items(100)))]
    assert sizes == [32, 32, 32, 4]


@given(st.integers(1, 5000), st.integers(1, 64), st.integers(1, 8))
def test_tail_sizes_shrink_and_cover_the_remainder(remaining: int, most: int, workers: int) -> None:
    sizes = batch_sizes_oracle(remaining, most, workers)
    assert sum(sizes) == remaining
    assert all(1 <= size <= most for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    if workers > 1:
        # No tail batch below an eighth of a full one, but for the last few items.
        assert all(size >= max(1, most // 8) for size in sizes[:-1])
    assert tail_size(remaining, most, workers) == sizes[0]
