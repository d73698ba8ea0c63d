"""Whole runs: results in the store and JSONL, summaries, resume after a crash, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from safelight.cli import main
from safelight.errors import ConflictError, NotFoundError, UsageError
from safelight.lists import HashListStore
from safelight.scan.runner import ScanOptions, run_scan
from safelight.scan.runs import RunStore
from safelight.store import Database
from safelight.store.scan_tables import scan_items, scan_runs
from tests.scan_support import Corpus, build_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    return build_corpus(tmp_path)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def results_by_path(path: Path) -> dict[str, dict[str, object]]:
    return {str(row["path"]): row for row in lines(path)}


def test_scan_records_every_item_and_finds_the_planted_ones(
    db: Database, corpus: Corpus, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    known = corpus.install(db)
    options = ScanOptions([str(corpus.root)], [known], out=out, batch_items=3)
    summary = run_scan(db, options)
    rows = results_by_path(out)
    assert set(rows) == corpus.all_paths
    matched = {path for path, row in rows.items() if row["matches"]}
    assert matched == corpus.known_paths
    near = rows[str(corpus.root / "sub" / "photo001.jpg")]["matches"]
    (pdq_entry,) = HashListStore(db).find_entries(known, signal_type="pdq")
    assert near == [
        {
            "list": "KNOWN",
            "entry_id": pdq_entry.id,
            "value": pdq_entry.value,
            "distance": 3,
            "labels": ["known", "series-a"],
            "signal_type": "pdq",
        }
    ]
    clip_match = rows[str(corpus.root / "clip.mp4")]["matches"]
    assert clip_match[0]["signal_type"] == "vpdq" and clip_match[0]["compared_percent"] == 100.0  # type: ignore[index]
    assert summary.status == "finished"
    report = summary.to_dict()
    assert report["items"] == len(corpus.all_paths)
    assert report["matched_items"] == 4
    assert report["matches_per_list"] == {"KNOWN": 4}
    assert report["matches_per_label"] == {"known": 2, "series-a": 1, "series-b": 1, "series-v": 1}
    assert report["errors_per_code"] == {"truncated": 1}
    assert rows[str(corpus.root / "notes.txt")]["media"] == "other"
    clip = rows[str(corpus.root / "clip.mp4")]
    assert clip["media"] == "video" and len(clip["vpdq"]) == 2  # type: ignore[arg-type]
    run = RunStore(db).get(summary.run_id)
    assert (run.status, run.items, run.matched_items, run.errors) == (
        "finished",
        len(corpus.all_paths),
        4,
        1,
    )
    stored = {r.logical_path: r.to_dict() for r in RunStore(db).iter_results(summary.run_id)}
    assert stored == rows


def test_process_pool_gives_the_same_results(db: Database, corpus: Corpus, tmp_path: Path) -> None:
    single, pooled = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    known = corpus.install(db)
    run_scan(db, ScanOptions([str(corpus.root)], [known], out=single))
    options = ScanOptions([str(corpus.root)], [known], out=pooled, jobs=2)
    options.batch_items = 2
    run_scan(db, options)
    assert results_by_path(single) == results_by_path(pooled)


def _forget_half(db: Database, run_id: int) -> int:
    """Make a finished run look like one killed half-way: drop half its rows."""
    with db.begin() as conn:
        query = select(scan_items.c.id).where(scan_items.c.run_id == run_id)
        ids = [row[0] for row in conn.execute(query.order_by(scan_items.c.id))]
        doomed = ids[len(ids) // 2 :]
        conn.execute(scan_items.delete().where(scan_items.c.id.in_(doomed)))
        conn.execute(update(scan_runs).where(scan_runs.c.id == run_id).values(status="running"))
    return len(ids) - len(doomed)


def test_resume_finishes_without_rehashing_or_duplicates(
    db: Database, corpus: Corpus, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    first = run_scan(db, ScanOptions([str(corpus.root)], [corpus.install(db)], out=out))
    complete = results_by_path(out)
    kept = _forget_half(db, first.run_id)
    with out.open("a") as handle:
        handle.write('{"path": "torn')  # a line cut by the crash
    resumed = run_scan(db, ScanOptions(out=out), resume=first.run_id)
    assert resumed.skipped == kept
    assert resumed.this_session.items == len(corpus.all_paths) - kept
    assert results_by_path(out) == complete
    assert len(lines(out)) == len(complete)
    with db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(scan_items)).scalar()
    assert count == len(complete)
    with pytest.raises(ConflictError):
        run_scan(db, ScanOptions(), resume=first.run_id)


def test_resume_rejects_other_sources(db: Database, corpus: Corpus, tmp_path: Path) -> None:
    first = run_scan(db, ScanOptions([str(corpus.root)]))
    _forget_half(db, first.run_id)
    with pytest.raises(UsageError):
        run_scan(db, ScanOptions([str(tmp_path)]), resume=first.run_id)
    with pytest.raises(UsageError):
        run_scan(db, ScanOptions(lists=["KNOWN"]), resume=first.run_id)


def test_scan_needs_a_source_and_a_place_for_its_output(db: Database, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        run_scan(db, ScanOptions())
    # An output that is a folder is refused, naming the library's field, not a flag.
    with pytest.raises(UsageError) as info:
        run_scan(db, ScanOptions([str(tmp_path)], out=tmp_path))
    assert info.value.field == "out" and "--" not in info.value.message
    with pytest.raises(UsageError) as info:
        run_scan(db, ScanOptions([str(tmp_path)], jobs=0))
    assert info.value.field == "jobs" and "--" not in info.value.message
    with pytest.raises(NotFoundError) as info:
        run_scan(db, ScanOptions([str(tmp_path)], ["NO_SUCH_LIST"]))
    assert "NO_SUCH_LIST" in info.value.message
    assert RunStore(db).list_runs() == []
    # Missing folders above the output are created (the one rule: safelight.outputs).
    (tmp_path / "empty").mkdir()
    run_scan(db, ScanOptions([str(tmp_path / "empty")], out=tmp_path / "new" / "out.jsonl"))
    assert (tmp_path / "new" / "out.jsonl").is_file()


def test_dask_local_cluster_matches_single_process_and_resumes(
    db: Database, corpus: Corpus, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    single, dask_out = tmp_path / "single.jsonl", tmp_path / "dask.jsonl"
    known = corpus.install(db)
    run_scan(db, ScanOptions([str(corpus.root)], [known], out=single))
    # One cluster for both runs (starting worker processes is the slow part); the scan
    # connects to it by address, as it would to a remote scheduler.
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        options = ScanOptions([str(corpus.root)], [known], out=dask_out, cluster=address)
        options.batch_items = 2
        on_dask = run_scan(db, options)
        assert results_by_path(dask_out) == results_by_path(single)
        # Resumability is the runner's, whatever executes the batches.
        kept = _forget_half(db, on_dask.run_id)
        resumed = run_scan(db, ScanOptions(out=dask_out, cluster=address), resume=on_dask.run_id)
        assert resumed.skipped == kept
        assert resumed.this_session.items == len(corpus.all_paths) - kept
        assert results_by_path(dask_out) == results_by_path(single)


def test_unreachable_scheduler_is_a_usage_error_and_leaves_no_run(
    db: Database, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("safelight.workers.cluster.CONNECT_TIMEOUT", "1s")
    with pytest.raises(UsageError) as info:
        run_scan(db, ScanOptions([str(corpus.root)], cluster="tcp://127.0.0.1:1"))
    assert "tcp://127.0.0.1:1" in info.value.message
    assert RunStore(db).list_runs() == []


def test_cli_scan_and_scans_commands(safelight_env: Path, corpus: Corpus, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli.jsonl"
    db = Database.open()
    corpus.install(db)
    md5_entry = HashListStore(db).find_entries(
        "KNOWN", signal_type="md5", value=corpus.entries[1][1]
    )
    db.dispose()
    args = ["scan", str(corpus.root), "--list", "KNOWN", "--out", str(out)]
    result = runner.invoke(main, [*args, "--quiet"])
    assert result.exit_code == 1, result.output  # one truncated JPEG: some items failed
    assert "matched 4 items" in result.output and "truncated: 1" in result.output
    assert len(lines(out)) == len(corpus.all_paths)
    listing = runner.invoke(main, ["scans", "ls", "--format", "json"])
    (run,) = json.loads(listing.output)
    assert run["status"] == "finished" and run["matched_items"] == 4
    shown = runner.invoke(main, ["scans", "show", str(run["id"]), "--matches"])
    assert shown.exit_code == 0
    assert f"photo002.jpg: KNOWN#{md5_entry[0].id} md5 d=0" in shown.output
    as_json = json.loads(
        runner.invoke(main, ["scans", "show", str(run["id"]), "--format", "json"]).output
    )
    assert as_json["matches_per_label"]["series-b"] == 1
    missing = runner.invoke(main, ["scans", "show", "999"])
    assert missing.exit_code == 3 and "999" in missing.output
    usage = runner.invoke(main, ["scan", str(tmp_path / "absent")])
    assert usage.exit_code == 2 and "absent" in usage.output
    no_list = runner.invoke(main, ["scan", str(corpus.root), "--list", "NOPE"])
    assert no_list.exit_code == 3 and "NOPE" in no_list.output
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("a")
    ok = runner.invoke(
        main, ["scan", str(clean), "--format", "json", "--quiet", "--exact-reference"]
    )
    assert ok.exit_code == 0 and json.loads(ok.output)["items"] == 1
    runs = json.loads(runner.invoke(main, ["scans", "ls", "--format", "json"]).output)
    assert len(runs) == 2
    both = runner.invoke(main, ["scan", str(clean), "--fast", "--exact-reference"])
    assert both.exit_code == 2 and "exclude" in both.output


def _count_rows(db: Database, run_id: int) -> int:
    with db.connect() as conn:
        query = select(func.count()).select_from(scan_items).where(scan_items.c.run_id == run_id)
        return int(conn.execute(query).scalar() or 0)


def test_kill_9_mid_run_then_resume(safelight_env: Path, tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, images=40, size=(96, 72))
    first_part = len(corpus.all_paths)
    setup = Database.open()
    corpus.install(setup)
    setup.dispose()
    # The second SOURCE is a manifest that is a FIFO: the scan blocks opening it, after every
    # item of the corpus is committed (batches of 1). That is where it gets killed: mid-run,
    # deterministically, with no race against the clock.
    manifest = tmp_path / "more.txt"
    os.mkfifo(manifest)
    out = tmp_path / "killed.jsonl"
    command = [
        sys.executable,
        "-c",
        "from safelight.cli import main; main()",
        "scan",
        str(corpus.root),
        f"@{manifest}",
        "--list",
        "KNOWN",
        "--out",
        str(out),
        "--batch-items",
        "1",
        "--quiet",
    ]
    log = (tmp_path / "stderr.txt").open("wb")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    db = Database.open()
    try:
        deadline = time.monotonic() + 120  # a hang guard, not a timing assertion
        while process.poll() is None and time.monotonic() < deadline:
            if _run_exists(db) and _count_rows(db, 1) == first_part:
                break
            time.sleep(0.05)
        assert process.poll() is None, (tmp_path / "stderr.txt").read_text()
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
        assert RunStore(db).get(1).status == "running"  # killed, not finished
        before = _count_rows(db, 1)
        assert before == first_part
        # Every JSONL line written before the kill is a committed row.
        assert len(out.read_text().splitlines()) <= before
        manifest.unlink()
        extra = tmp_path / "extra.txt"
        extra.write_text("found later")
        manifest.write_text(f"{extra}\n")
        result = CliRunner().invoke(
            main, ["scan", "--resume", "1", "--out", str(out), "--format", "json"]
        )
        summary = json.loads(result.output)
        assert summary["status"] == "finished"
        assert summary["skipped_already_recorded"] == before
        assert summary["items"] == first_part + 1
        assert _count_rows(db, 1) == first_part + 1
        final = results_by_path(out)
        assert set(final) == corpus.all_paths | {str(extra)}
        assert len(lines(out)) == len(final)
        assert {p for p, row in final.items() if row["matches"]} == corpus.known_paths
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        db.dispose()


def _run_exists(db: Database) -> bool:
    with db.connect() as conn:
        return conn.execute(select(scan_runs.c.id).where(scan_runs.c.id == 1)).first() is not None
