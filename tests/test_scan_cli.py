"""What a new user of ``safelight scan`` and ``scans ls|show`` meets: the default lists,
Ctrl-C, resuming into the run's own output file, option ranges and timestamps."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from safelight.cli import main
from safelight.errors import EXIT_INTERRUPTED
from safelight.lists import HashListStore
from safelight.scan.progress import NullProgress
from safelight.scan.runner import ScanInterrupted, ScanOptions, run_scan
from safelight.scan.runs import RunStore, Tally
from safelight.store import Database
from tests.scan_support import Corpus, build_corpus
from tests.test_scan_runner import _forget_half, lines, results_by_path

# ISO 8601, UTC, explicit offset, to the second (docs/scan.md).
UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return build_corpus(tmp_path, images=4, size=(96, 72))


class InterruptAfter(NullProgress):
    """Progress that presses Ctrl-C once ``batches`` batches are recorded."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def update(self, tally: Tally) -> None:
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def test_scan_without_list_matches_every_enabled_list(
    safelight_env: Path, corpus: Corpus, tmp_path: Path
) -> None:
    db = Database.open()
    corpus.install(db)
    HashListStore(db).create("OFF")
    HashListStore(db).set_enabled("OFF", False)
    db.dispose()
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(corpus.root), "--quiet", "--format", "json"])
    report = json.loads(result.output)
    assert report["matched_items"] == 4
    assert report["lists"] == ["KNOWN"]  # the disabled list is not matched
    shown = runner.invoke(main, ["scans", "show", str(report["run"])])
    assert shown.output.count("lists   KNOWN") == 1
    hashed_only = runner.invoke(main, ["scan", str(corpus.root), "--quiet", "--no-match"])
    assert "matched 0 items" in hashed_only.output
    assert "lists   none (hashed only)" in hashed_only.output
    both = runner.invoke(main, ["scan", str(corpus.root), "--no-match", "--list", "KNOWN"])
    assert both.exit_code == 2 and "exclude" in both.output


def test_interrupted_run_is_counted_resumable_and_says_how(
    db: Database, corpus: Corpus, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    options = ScanOptions([str(corpus.root)], out=out, batch_items=2)
    with pytest.raises(ScanInterrupted) as info:
        run_scan(db, options, progress=InterruptAfter(2))
    summary = info.value.summary
    assert summary.status == "interrupted" and summary.total.items == 4
    (listed,) = RunStore(db).list_runs()
    assert (listed.status, listed.items) == ("interrupted", 4)
    assert RunStore(db).get(summary.run_id).finished_at is None
    # Resumed without --out: the run's own file is rewritten whole.
    resumed = run_scan(db, ScanOptions(), resume=summary.run_id)
    assert resumed.status == "finished"
    assert set(results_by_path(out)) == corpus.all_paths
    assert len(lines(out)) == len(corpus.all_paths)


def test_killed_run_is_counted_in_the_listing(db: Database, corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first = run_scan(db, ScanOptions([str(corpus.root)], out=out))
    complete = results_by_path(out)
    kept = _forget_half(db, first.run_id)  # status "running", as after kill -9
    out.write_text(out.read_text().splitlines()[0] + "\n")
    (listed,) = RunStore(db).list_runs()
    assert (listed.status, listed.items) == ("running", kept)
    assert RunStore(db).get(first.run_id).items == kept
    run_scan(db, ScanOptions(), resume=first.run_id)
    assert results_by_path(out) == complete


def test_resume_into_a_vanished_folder_creates_it_again(
    db: Database, corpus: Corpus, tmp_path: Path
) -> None:
    # The one rule for outputs (safelight.outputs): missing folders above --out are created.
    folder = tmp_path / "results"
    folder.mkdir()
    out = folder / "out.jsonl"
    first = run_scan(db, ScanOptions([str(corpus.root)], out=out))
    complete = results_by_path(out)
    _forget_half(db, first.run_id)
    out.unlink()
    folder.rmdir()
    run_scan(db, ScanOptions(), resume=first.run_id)
    assert results_by_path(out).keys() == complete.keys()


def test_ctrl_c_exits_130_with_the_resume_command(
    safelight_env: Path, corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("safelight.scan.commands._progress", lambda quiet: InterruptAfter(1))
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    args = ["scan", str(corpus.root), "--batch-items", "2", "--out", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == EXIT_INTERRUPTED == 130, result.output
    assert "Aborted" not in result.output
    assert "scan run 1: interrupted" in result.output
    assert "safelight scan --resume 1`" in result.output
    listing = runner.invoke(main, ["scans", "ls"])
    assert re.search(r"\b1  interrupted\s+\S+\s+2\b", listing.output), listing.output
    monkeypatch.setattr("safelight.scan.commands._progress", lambda quiet: NullProgress())
    resumed = runner.invoke(main, ["scan", "--resume", "1", "--format", "json"])
    assert json.loads(resumed.output)["items"] == len(corpus.all_paths)
    assert len(lines(out)) == len(corpus.all_paths)


def test_interrupt_before_the_run_starts_exits_130(
    safelight_env: Path, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("safelight.scan.runner.run_scan", stop)
    result = CliRunner().invoke(main, ["scan", str(corpus.root)])
    assert result.exit_code == 130 and "nothing was recorded" in result.output


@pytest.mark.parametrize(
    "option",
    [
        ["--batch-items", "0"],
        ["--max-depth", "-1"],
        ["--jobs", "-1"],
        ["--max-members", "0"],
        ["--max-member-bytes", "0"],
        ["--max-archive-bytes", "-5"],
        ["--max-ratio", "0.5"],
    ],
)
def test_out_of_range_options_are_usage_errors(
    safelight_env: Path, tmp_path: Path, option: list[str]
) -> None:
    result = CliRunner().invoke(main, ["scan", str(tmp_path), *option])
    assert result.exit_code == 2 and option[0] in result.output


def test_max_depth_zero_hashes_archives_as_files(safelight_env: Path, corpus: Corpus) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(corpus.root), "--max-depth", "0", "--format", "json"])
    report = json.loads(result.output)
    db = Database.open()
    paths = {r.logical_path: r for r in RunStore(db).iter_results(report["run"])}
    db.dispose()
    bundle = str(corpus.root / "bundle.zip")
    assert bundle in paths and paths[bundle].record.digests.get("sha256") is not None
    assert not any("!/" in path for path in paths)
    one = runner.invoke(main, ["scan", str(corpus.root), "--max-depth", "1", "--format", "json"])
    db = Database.open()
    opened = {r.logical_path for r in RunStore(db).iter_results(json.loads(one.output)["run"])}
    db.dispose()
    assert f"{bundle}!/photos/a.jpg" in opened
    assert not any(path.count("!/") > 1 for path in opened)


def test_run_timestamps_carry_their_offset(safelight_env: Path, corpus: Corpus) -> None:
    runner = CliRunner()
    runner.invoke(main, ["scan", str(corpus.root), "--quiet"])
    (run,) = json.loads(runner.invoke(main, ["scans", "ls", "--format", "json"]).output)
    assert UTC_STAMP.match(run["started_at"]) and UTC_STAMP.match(run["finished_at"])
    listing = runner.invoke(main, ["scans", "ls"]).output.splitlines()
    assert UTC_STAMP.match(listing[1].split()[2])
    shown = json.loads(runner.invoke(main, ["scans", "show", "1", "--format", "json"]).output)
    assert UTC_STAMP.match(shown["started_at"])
    text = runner.invoke(main, ["scans", "show", "1"]).output
    started = re.search(r"started (\S+)  finished (\S+)", text)
    assert started and UTC_STAMP.match(started[1]) and UTC_STAMP.match(started[2])


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_real_ctrl_c_mid_run_then_resume_without_out(
    safelight_env: Path, tmp_path: Path, jobs: str
) -> None:
    """SIGINT to the whole process group, as a terminal sends it: exit 130, the resume
    command, no traceback from the scan or its workers; the resume completes the JSONL."""
    corpus = build_corpus(tmp_path, images=6, size=(96, 72))
    # The second SOURCE is a FIFO manifest: the scan blocks on it after the corpus items are
    # listed. Opening its write end succeeds only once the scan has it open for reading, so
    # the interrupt comes at a known point (no race against the clock); the write end stays
    # open, so the scan stays blocked reading it.
    manifest = tmp_path / "more.txt"
    os.mkfifo(manifest)
    out = tmp_path / "run.jsonl"
    command = [sys.executable, "-c", "from safelight.cli import main; main()", "scan"]
    command += [str(corpus.root), f"@{manifest}", "--out", str(out), "--batch-items", "1"]
    command += ["--jobs", jobs, "--quiet"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # As from a terminal: a test run started in the background (`cmd &` in a script)
        # ignores SIGINT, and the scan would inherit that and never see the Ctrl-C.
        preexec_fn=_default_sigint,
    )
    writer = None
    try:
        deadline = time.monotonic() + 120  # a hang guard, not a timing assertion
        while writer is None and process.poll() is None and time.monotonic() < deadline:
            try:
                writer = os.open(manifest, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                time.sleep(0.05)
        assert writer is not None and process.poll() is None
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = (text.decode() for text in process.communicate(timeout=120))
    finally:
        if writer is not None:
            os.close(writer)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pipe in (process.stdout, process.stderr):  # a hang must not leak them to later tests
            if pipe is not None:
                pipe.close()
    assert process.returncode == 130, stderr
    assert "scan run 1: interrupted" in stdout
    assert "finish it with `safelight scan --resume 1`" in stderr
    assert "Traceback" not in stderr and "Aborted" not in stderr
    manifest.unlink()
    extra = tmp_path / "extra.txt"
    extra.write_text("found later")
    manifest.write_text(f"{extra}\n")
    resumed = CliRunner().invoke(main, ["scan", "--resume", "1", "--format", "json"])
    assert json.loads(resumed.output)["status"] == "finished"
    assert set(results_by_path(out)) == corpus.all_paths | {str(extra)}
    assert len(lines(out)) == len(corpus.all_paths) + 1
