"""The shared worker layer: one choice (jobs, cluster), the process pool's feeding and order,
a crashing item isolated, and the bound on tasks in flight."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import UsageError
from safelight.workers import DEFAULT_JOBS, LOCAL_CLUSTER_MIN_WORKERS, Workers, processes


def test_one_choice_of_where_work_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("safelight.workers.choice.usable_cpus", lambda: 6)
    assert Workers().kind == "inline"
    assert Workers(1).kind == "inline" and Workers(1).count == 1
    assert Workers(3).kind == "processes" and Workers(3).count == 3
    assert Workers(DEFAULT_JOBS).count == 6 and Workers(None).kind == "processes"
    assert Workers(1, "local").kind == "dask"
    assert Workers(1, "local").local_cluster_size == LOCAL_CLUSTER_MIN_WORKERS == 2
    assert Workers(5, "local").local_cluster_size == 5
    assert Workers(None, "local").local_cluster_size == 6
    assert Workers(1, "tcp://scheduler:8786").kind == "dask"
    assert Workers(1, "tls://10.0.0.1:8786").kind == "dask"


def test_usable_cpus_is_the_affinity_mask() -> None:
    from safelight.workers import usable_cpus

    assert usable_cpus() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("jobs", [0, -1])
def test_a_job_count_below_one_is_refused(jobs: int) -> None:
    with pytest.raises(UsageError, match=f"must be 1 or more, got {jobs}"):
        Workers(jobs)


@pytest.mark.parametrize("cluster", ["", "nowhere", "localhost", "tcp://"])
def test_a_cluster_that_is_neither_local_nor_an_address_is_refused(cluster: str) -> None:
    with pytest.raises(UsageError, match="use 'local' or a scheduler address"):
        Workers(1, cluster)


def _double_or_die(items: list[int]) -> list[int]:
    # Stands for a decoder crashing on one hostile input: the whole process goes.
    if 13 in items and len(items) == 1:
        os._exit(70)
    if 13 in items:
        os._exit(71)
    return [2 * item for item in items]


def test_ordered_keeps_input_order_and_a_crash_costs_only_its_item() -> None:
    items = list(range(30))
    chunks = processes.chunked(items, 4)
    results = [
        value
        for chunk in processes.ordered(_double_or_die, chunks, jobs=2, died=lambda item: -item)
        for value in chunk
    ]
    assert results == [-13 if item == 13 else 2 * item for item in items]


def test_ordered_without_a_crash_is_a_plain_map_with_bounded_chunks_in_flight() -> None:
    pulled = 0

    def source() -> Iterator[list[int]]:
        nonlocal pulled
        for chunk in processes.chunked(range(20, 40), 3):
            pulled += 1
            yield chunk

    results: list[list[int]] = []
    feed = processes.ordered(_double_or_die, source(), jobs=2, died=abs, in_flight_per_job=1)
    for chunk in feed:
        assert pulled - len(results) <= 2  # jobs x in_flight_per_job, this one included
        results.append(chunk)
    assert [value for chunk in results for value in chunk] == [2 * i for i in range(20, 40)]
    assert [len(chunk) for chunk in results] == [3] * 6 + [2]


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=5))
def test_chunked_is_the_input_in_order(items: list[int], size: int) -> None:
    chunks = list(processes.chunked(items, size))
    assert [item for chunk in chunks for item in chunk] == items
    assert all(1 <= len(chunk) <= size for chunk in chunks)
    assert all(len(chunk) == size for chunk in chunks[:-1])


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=6))
def test_unordered_gives_every_result_with_at_most_in_flight_pending(
    count: int, in_flight: int
) -> None:
    pulled = 0

    def source() -> Iterator[int]:
        nonlocal pulled
        for item in range(count):
            pulled += 1
            yield item

    results: list[int] = []
    with ThreadPoolExecutor(3) as pool:
        for result in processes.unordered(pool, abs, source(), in_flight=in_flight):
            # Items taken from the input but not yet given back (this one included).
            assert pulled - len(results) <= in_flight
            results.append(result)
    assert sorted(results) == list(range(count))
