"""The Dask path: inline bytes sent straight to the least-loaded worker, resent via the
scheduler when that worker is lost; the LocalCluster's worker settings; same results."""

from __future__ import annotations

import json
import os
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import pytest

from safelight.scan.executors import DaskExecutor, _DaskRun
from safelight.scan.model import ItemResult, WorkItem
from safelight.scan.pipeline import PipelineConfig, process_batch
from safelight.scan.runner import ScanOptions, run_scan
from safelight.store import Database
from safelight.workers.cluster import worker_settings
from tests.scan_support import build_corpus


class _Future:
    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class _Client:
    """Just enough of distributed.Client: scattered data is a tuple naming its worker."""

    def __init__(self, lost: set[str]) -> None:
        self.lost = lost
        self.calls: list[tuple[str, str]] = []

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {"tcp://b": {}, "tcp://a": {}}}

    def scatter(self, data: list[Any], *, direct: bool, workers: list[str], hash: bool) -> Any:
        assert direct and not hash
        return [("scattered", workers[0], data[0])]

    def submit(self, func: Any, config: PipelineConfig, arg: Any, *, pure: bool) -> _Future:
        assert not pure
        if isinstance(arg, tuple):
            _, worker, batch = arg
            self.calls.append(("scattered", worker))
            if worker in self.lost:
                return _Future(error=CancelledError())
            return _Future(func(config, batch))
        self.calls.append(("plain", ""))
        return _Future(func(config, arg))


def _all_done(futures: list[Any], return_when: str) -> tuple[set[Any], set[Any]]:
    return set(futures), set()


def _inline(name: str) -> WorkItem:
    return WorkItem(name, "inline", data=name.encode(), size=len(name))


def test_inline_batches_go_to_the_least_loaded_worker_and_survive_its_loss() -> None:
    client = _Client(lost={"tcp://b"})
    config = PipelineConfig()
    run = _DaskRun(client, _all_done, config, scatter=True)
    batches = [[_inline("i1"), _inline("i2")], [_inline("i3")], [WorkItem("f", "failed")]]
    for batch in batches:
        run.submit(batch)
    assert client.calls == [("scattered", "tcp://a"), ("scattered", "tcp://b"), ("plain", "")]
    results: list[ItemResult] = []
    while run.pending:
        for done in run.collect():
            results.extend(done)
    # The batch scattered to the lost worker was sent again with its bytes, via the scheduler.
    assert client.calls[-1] == ("plain", "")
    expected = [result for batch in batches for result in process_batch(config, batch)]
    key = lambda result: result.logical_path  # noqa: E731
    assert sorted(results, key=key) == sorted(expected, key=key)
    assert run.load == {"tcp://a": 0, "tcp://b": 0}


def test_without_scatter_every_batch_goes_through_the_scheduler() -> None:
    client = _Client(lost=set())
    run = _DaskRun(client, _all_done, PipelineConfig(), scatter=False)
    run.submit([_inline("i1")])
    assert client.calls == [("plain", "")]


def test_local_cluster_scan_matches_single_process(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an earlier LocalCluster with Dask's defaults leaves in this process's environment.
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    corpus = build_corpus(tmp_path)
    known = corpus.install(db)
    single, on_dask = tmp_path / "single.jsonl", tmp_path / "dask.jsonl"
    run_scan(db, ScanOptions([str(corpus.root)], [known], out=single))
    executor = DaskExecutor("local", 2)
    try:
        # Workers run without Dask's malloc trimming and without the task profiler.
        settings = executor.client.run(worker_settings)
        assert list(settings.values()) == [{"MALLOC_TRIM_THRESHOLD_": None, "profile": False}] * 2
        options = ScanOptions([str(corpus.root)], [known], out=on_dask, batch_items=2)
        run_scan(db, options, executor=executor)
    finally:
        executor.close()
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # put back for this process

    def rows(path: Path) -> dict[str, Any]:
        parsed = [json.loads(line) for line in path.read_text().splitlines()]
        return {row["path"]: row for row in parsed}

    assert rows(on_dask) == rows(single)
    assert any(path.endswith("inner.jpg") for path in rows(on_dask))


def test_a_failed_scatter_falls_back_to_the_scheduler() -> None:
    client = _Client(lost=set())

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("worker gone")

    client.scatter = unreachable  # type: ignore[method-assign]
    run = _DaskRun(client, _all_done, PipelineConfig(), scatter=True)
    run.submit([_inline("i1")])
    assert client.calls == [("plain", "")]
    assert run.load == {}  # asks the scheduler for its workers again next time
    assert [result.logical_path for done in run.collect() for result in done] == ["i1"]
