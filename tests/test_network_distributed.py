"""Where network's maps run: the shared --cluster/--jobs choice, and no import loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from safelight.errors import UsageError
from safelight.network.pipeline import mapper_for
from safelight.workers.mapping import local_map


def test_ingest_and_the_worker_layer_import_each_other_no_more() -> None:
    code = (
        "import sys, importlib\n"
        "importlib.import_module(sys.argv[1])\n"
        "print(sorted(m for m in sys.modules if m.startswith('safelight.')))\n"
    )
    for module in ("safelight.workers.mapping", "safelight.workers.cluster"):
        done = subprocess.run(
            [sys.executable, "-c", code, module], capture_output=True, text=True, check=True
        )
        loaded = done.stdout
        assert "safelight.network." not in loaded and "safelight.scan." not in loaded, loaded
    done = subprocess.run(
        [sys.executable, "-c", code, "safelight.network.ingest"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'safelight.workers.cluster'" not in done.stdout  # Dask only when asked for


def _square(item: int, *, offset: int) -> int:
    return item * item + offset


@pytest.mark.parametrize(
    ("cluster", "jobs"),
    [(None, 1), (None, 2)],
)
def test_jobs_choose_where_maps_run_and_results_are_the_same(
    tmp_path: Path, cluster: str | None, jobs: int
) -> None:
    with mapper_for(cluster, tmp_path, jobs) as mapper:
        if jobs == 1:
            assert mapper is local_map
        assert mapper(_square, [3, 1, 2], offset=1) == [10, 2, 5]
        assert mapper(_square, [4], offset=0) == [16]
    assert list(tmp_path.iterdir()) == []  # shared arguments' files removed


def test_bad_choices_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="must be 1 or more, got 0"):
        mapper_for(None, tmp_path, 0)
    with pytest.raises(UsageError, match="use 'local' or a scheduler"):
        mapper_for("nowhere", tmp_path, 1)


def test_a_local_cluster_has_the_workers_asked_for_as_scan_does(tmp_path: Path) -> None:
    from safelight.workers import Workers
    from safelight.workers.cluster import connect

    with connect(Workers(3, "local")) as cluster:
        info = cluster.client.scheduler_info()["workers"]
        assert len(info) == 3 == cluster.size
        assert all(w["nthreads"] == 1 for w in info.values())
    with mapper_for("local", tmp_path, 1) as mapper:  # --cluster local alone: scan's 2
        assert mapper(_square, [1, 2, 3], offset=0) == [1, 4, 9]
