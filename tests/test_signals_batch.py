"""Batches: folder expansion, processes, input order, and surviving a worker that dies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safelight.signals import batch
from safelight.signals.batch import expand_paths, hash_paths
from safelight.signals.files import hash_file
from safelight.signals.options import HashOptions
from safelight.signals.records import HashRecord
from safelight.signals.synthetic import photo_like
from safelight.workers import main_script, processes

from .signals_media import save


def _crashing_hasher(path: str, options: HashOptions) -> HashRecord:
    # Stands for a decoder that segfaults on one hostile file: the process just dies.
    if "crash" in os.path.basename(path):
        os._exit(70)
    return hash_file(path, options)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    for index, rel in enumerate(["a/1.jpg", "a/2.png", "b/3.jpg", "b/deep/4.jpg", "z.jpg"]):
        suffix_params = {"quality": 85} if rel.endswith(".jpg") else {}
        save(tmp_path / rel, photo_like(index, 120 + index, 90), **suffix_params)
    (tmp_path / "b" / "notes.txt").write_text("not media")
    (tmp_path / "b" / "broken.jpg").write_text("not a jpeg")
    return tmp_path


def test_recursive_expansion_is_sorted_and_follows_links_once(tree: Path) -> None:
    (tree / "b" / "deep" / "loop").symlink_to(tree)  # a link back up the tree
    items = list(expand_paths([str(tree)], recursive=True))
    names = [os.path.relpath(i.path if isinstance(i, HashRecord) else i, tree) for i in items]
    # Names sorted, depth first (safelight.signals.walk); the loop is recorded, not entered.
    assert names == [
        "a/1.jpg",
        "a/2.png",
        "b/3.jpg",
        "b/broken.jpg",
        "b/deep/4.jpg",
        "b/deep/loop",
        "b/notes.txt",
        "z.jpg",
    ]
    loop = items[5]
    assert isinstance(loop, HashRecord) and loop.error is not None
    assert loop.error.code == "symlink_loop"


def test_jobs_two_gives_the_same_records_in_the_same_order(tree: Path) -> None:
    paths = [str(tree), str(tree / "missing.jpg"), str(tree / "z.jpg")] * 3
    serial = list(hash_paths(paths, jobs=1, recursive=True))
    parallel = list(hash_paths(paths, jobs=2, recursive=True))
    # The folder is walked once per call; files named directly are hashed each time.
    assert len(serial) == 7 + 2 * 3
    assert [r.to_dict() for r in parallel] == [r.to_dict() for r in serial]
    assert sum(1 for r in serial if r.error) == 1 + 3  # broken.jpg once, missing.jpg thrice


def test_a_worker_dying_costs_only_its_file(tree: Path) -> None:
    crash = tree / "crash.jpg"
    crash.write_bytes((tree / "z.jpg").read_bytes())
    good = [str(p) for p in sorted(tree.rglob("*.jpg")) if p.name != "crash.jpg"]
    paths = good[:3] + [str(crash)] + good[3:] + good
    records = list(hash_paths(paths, jobs=2, hasher=_crashing_hasher))
    assert [r.path for r in records] == paths
    crashed = records[3]
    assert crashed.error is not None and crashed.error.code == "internal"
    assert "died" in crashed.error.message and str(crash) in crashed.error.message
    expected = {p: hash_file(p).to_dict() for p in good}
    for record in records[:3] + records[4:]:
        assert record.to_dict() == expected[record.path]


def test_small_inputs_skip_the_pool(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for a handful of files")

    monkeypatch.setattr(processes, "new_pool", no_pool)
    records = list(hash_paths([tree / "z.jpg"] * batch.CHUNK_SIZE, jobs=4))  # Path objects too
    assert len(records) == batch.CHUNK_SIZE and all(r.ok for r in records)
    assert records[0].path == str(tree / "z.jpg") and json.dumps(records[0].to_dict())


def test_no_job_count_means_every_usable_cpu(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def counting(task: Any, chunks: Any, *, jobs: int, **kwargs: Any) -> Iterator[Any]:
        asked.append(jobs)  # then hash here: the pool itself is tested above
        return (task(chunk) for chunk in chunks)

    monkeypatch.setattr(processes, "ordered", counting)
    paths = [str(tree / "z.jpg")] * (batch.CHUNK_SIZE + 1)
    monkeypatch.setattr("safelight.workers.choice.usable_cpus", lambda: 2)
    assert len(list(hash_paths(paths, jobs=None))) == len(paths)
    assert asked == [2]


SCRIPT = """
import os, sys
if __name__ == "__mp_main__":  # run in a process of the pool machinery: say which one
    with open(os.environ["RUNS_LOG"], "a") as log:
        log.write(f"{os.getpid()}\\n")
if __name__ == "__main__":
    from safelight.signals.batch import hash_paths
    records = list(hash_paths(sys.argv[1:], jobs=2))
    print(sum(r.ok for r in records))
"""


def test_the_calling_script_runs_once_in_the_forkserver_not_per_worker(tree: Path) -> None:
    # CPython < 3.13.8 never preloads __main__ (python/cpython#126631): every worker re-ran
    # the script (0.3 s each for the CLI). Workers now fork with it already imported.
    script = tree / "caller.py"
    script.write_text(SCRIPT)
    log = tree / "runs.log"
    images = [str(p) for p in sorted(tree.rglob("*.jpg")) if p.name != "broken.jpg"] * 3
    done = subprocess.run(
        [sys.executable, str(script), *images],
        env={**os.environ, "RUNS_LOG": str(log)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == str(len(images))
    runs = log.read_text().split()
    assert len(runs) == 1  # the server, once; not each of the two workers
    assert main_script.MAIN_PATH_VARIABLE not in os.environ


def test_preload_main_imports_the_named_script_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    monkeypatch.setitem(sys.modules, "__mp_main__", sys.modules["__main__"])
    monkeypatch.delenv(main_script.MAIN_PATH_VARIABLE, raising=False)
    assert main_script.preload_main() is False  # nothing named
    script = tmp_path / "fine.py"
    script.write_text("VALUE = 42\n")
    monkeypatch.setenv(main_script.MAIN_PATH_VARIABLE, str(script))
    assert main_script.preload_main() is True
    assert sys.modules["__main__"].__file__ == str(script)
    assert sys.modules["__main__"].VALUE == 42
    assert main_script.MAIN_PATH_VARIABLE not in os.environ  # consumed
    monkeypatch.setenv(main_script.MAIN_PATH_VARIABLE, str(script))
    assert main_script.preload_main() is True  # already loaded: not run again
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no')\n")
    monkeypatch.setenv(main_script.MAIN_PATH_VARIABLE, str(broken))
    assert main_script.preload_main() is False  # left to the workers, as before
