"""Where network's maps run: scan's --cluster/--jobs settings, and no import loop."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from safelight.errors import UsageError
from safelight.network.aggregate import local_map
from safelight.network.pipeline import mapper_for


def test_ingest_and_distributed_import_each_other_no_more() -> None:
    code = (
        "import sys, importlib\n"
        "importlib.import_module(sys.argv[1])\n"
        "print(sorted(m for m in sys.modules if m.startswith('safelight.network.')))\n"
    )
    for module, absent in (
        ("safelight.network.distributed", "safelight.network.ingest"),
        ("safelight.network.ingest", "safelight.network.distributed"),
    ):
        done = subprocess.run(
            [sys.executable, "-c", code, module], capture_output=True, text=True, check=True
        )
        assert f"'{absent}'" not in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("cluster", "jobs", "expected"),
    [
        (None, 1, None),
        (None, 3, ("local", 3)),
        ("local", 2, ("local", 2)),
        ("tcp://h:1", 1, ("tcp://h:1", 1)),
    ],
)
def test_jobs_and_cluster_choose_where_maps_run(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cluster: str | None,
    jobs: int,
    expected: tuple[str, int] | None,
) -> None:
    asked: list[tuple[str, int]] = []

    @contextmanager
    def fake(address: str, shared: Path, workers: int) -> Iterator[Any]:
        asked.append((address, workers))
        yield "dask"

    monkeypatch.setattr("safelight.network.distributed.dask_mapper", fake)
    with mapper_for(cluster, tmp_path, jobs) as mapper:
        assert mapper is (local_map if expected is None else "dask")
    assert asked == ([] if expected is None else [expected])


def test_zero_jobs_is_a_usage_error(tmp_path: Path) -> None:
    with (
        pytest.raises(UsageError, match="must be 1 or more, got 0") as info,
        mapper_for(None, tmp_path, 0),
    ):
        pass
    assert info.value.field == "jobs"


def test_a_local_cluster_has_the_workers_asked_for() -> None:
    from safelight.network.distributed import dask_client

    with dask_client("local", 3) as client:
        info = client.scheduler_info()["workers"]
        assert len(info) == 3
        assert all(w["nthreads"] == 1 for w in info.values())
