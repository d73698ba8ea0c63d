"""bench/before_after.py speaks each version's CLI grammar (issue 9 changed it).

The worker chooses each command's arguments from the options the loaded CLI declares, and
checks them by letting click parse them. Shown here on this tree and on the pre-issue-9
tree (de49adc's src, read with ``git archive``, never edited), where the same steps must come
out in the old spellings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "bench" / "before_after_worker.py"
REPORT = ROOT / "bench" / "before_after_report.py"
BEFORE_ISSUE_9 = "de49adc"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_worker() -> ModuleType:
    return load(WORKER)


def test_a_regression_is_a_like_for_like_figure_worse_beyond_the_noise() -> None:
    compare = load(REPORT).compare
    old, slower, jittery = [10.0, 11.0, 10.5], [8.0, 8.4, 8.2], [7.0, 10.0, 12.0]
    worse = compare(old, slower, True, "like for like", "")
    assert worse["verdict"] == "worse" and worse["regression_beyond_noise"]
    assert compare(slower, old, False, "exact vs exact", "")["regression_beyond_noise"]
    within = compare(old, jittery, True, "like for like", "")  # 0.95x, noise 50%
    assert within["verdict"] == "same" and not within["regression_beyond_noise"]
    by_design = compare(old, slower, True, "moved by design", "")
    assert by_design["verdict"] == "worse" and not by_design["regression_beyond_noise"]
    assert compare(old[:2], slower[:2], True, "like for like", "")["verdict"] == (
        "too few repetitions"
    )


def test_this_tree_gets_the_one_grammar(tmp_path: Path) -> None:
    found = load_worker().grammar(tmp_path)
    assert found["scan"][-3:] == ["--format", "json", "--fast"]
    assert found["lists_import"][4:8] == ["--input-format", "lines", "--format", "json"]
    assert found["network_ingest"][-2:] == ["--format", "json"]


def test_the_parse_check_refuses_what_the_cli_refuses(tmp_path: Path) -> None:
    worker = load_worker()
    with pytest.raises(click.UsageError):
        worker.check_parses(["scan", str(tmp_path), "--format", "yaml"])
    with pytest.raises(click.UsageError):
        worker.check_parses(["scan", str(tmp_path), "--no-such-option"])


def test_the_tree_before_issue_9_gets_its_own_grammar(tmp_path: Path) -> None:
    archive = tmp_path / "src.tar"
    with archive.open("wb") as handle:
        done = subprocess.run(
            ["git", "archive", BEFORE_ISSUE_9, "src"], cwd=ROOT, stdout=handle, check=False
        )
    if done.returncode != 0:
        pytest.skip(f"{BEFORE_ISSUE_9} is not in this clone's history")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "old", filter="data")
    (tmp_path / "files").mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "old" / "src")}
    out = subprocess.run(
        [sys.executable, str(WORKER), "--grammar", str(tmp_path / "files")],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = json.loads(out)
    assert found["scan"][-2:] == ["--json", "--fast"]
    assert found["lists_import"][4:8] == ["--format", "lines", "--report", "json"]
    assert found["network_ingest"][-1] == "--json"
