"""kill -9 matrix: lists import, scan, network ingest and index compaction, each killed at
seeded random moments, again and again (``tests/kill_support.py`` drives it).

After every kill nothing stored is lost, duplicated or corrupt (row counts, SQLite's integrity
check, the index's checksums, the JSONL output), and the next run resumes and ends exactly
where an uninterrupted run ends. ``SAFELIGHT_KILLS`` (default 12 per target) sets how many
kills; ``SAFELIGHT_DATABASE_URL`` runs the stores on PostgreSQL. The deterministic kills at
known moments stay in test_lists_kill.py, test_scan_runner.py and test_index_concurrency.py.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from safelight.errors import NotFoundError
from safelight.index import HammingIndex, synthetic
from safelight.lists import HashListStore
from safelight.network.sightings import get_case, read_part, registered
from safelight.scan.runs import RunStore
from safelight.store.scan_tables import scan_items, scan_runs
from tests.kill_support import (
    KILLS,
    ROOT,
    Work,
    drop,
    end_orphans,
    fresh,
    index_batches,
    run_matrix,
)
from tests.scan_support import Corpus, build_corpus

CLI = "safelight.cli:main"


def _sqlite_ok(work: Work) -> None:
    if work.schema is None:
        with work.database() as db, db.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


# --- lists import -------------------------------------------------------------------------
@dataclass
class ListsImport:
    source: Path
    rows: int
    name: str = "lists-import"
    entry: str = CLI
    preload: tuple[str, ...] = ("safelight.cli", "safelight.lists.commands")
    done_codes: tuple[int, ...] = (0,)

    def prepare(self, work: Work) -> None:
        with work.database() as db:
            HashListStore(db).create("KILL")

    def next_args(self, work: Work) -> list[str]:
        return ["lists", "import", "KILL", str(self.source), "--label", "after"]

    def _entries(self, work: Work) -> list[tuple[Any, ...]]:
        with work.database() as db:
            found = HashListStore(db).find_entries("KILL")
            return sorted((e.signal_type, e.value, tuple(sorted(e.labels))) for e in found)

    def check(self, work: Work) -> None:
        entries = self._entries(work)
        # An import is one transaction: all of it or none of it, each value once.
        assert len(entries) in (0, self.rows), len(entries)
        assert len({value for _, value, _ in entries}) == len(entries)
        _sqlite_ok(work)

    def result(self, work: Work) -> Any:
        with work.database() as db:
            imports = HashListStore(db).summary("KILL", imports=100).imports
        return self._entries(work), sum(i.added for i in imports)


def _hash_lines(path: Path, rows: int) -> Path:
    with path.open("wb") as out:
        for i in range(rows):
            out.write(
                b"sha256 " + hashlib.sha256(i.to_bytes(8, "big")).hexdigest().encode() + b"\n"
            )
    return path


# --- scan -----------------------------------------------------------------------------------
@dataclass
class Scan:
    corpus: Corpus
    name: str = "scan"
    entry: str = CLI
    preload: tuple[str, ...] = ("safelight.cli", "safelight.scan.runner", "safelight.scan.pipeline")
    done_codes: tuple[int, ...] = (0, 1)  # 1: the corpus holds a bad JPEG on purpose

    def prepare(self, work: Work) -> None:
        with work.database() as db:
            self.corpus.install(db)

    def _run(self, work: Work) -> tuple[str, int] | None:
        with work.database() as db, db.connect() as conn:
            found = conn.execute(select(scan_runs.c.id)).first()
            return None if found is None else (RunStore(db).get(found[0]).status, found[0])

    def next_args(self, work: Work) -> list[str] | None:
        out = str(work.folder / "out.jsonl")
        run = self._run(work)
        if run is None:
            root = str(self.corpus.root)
            return ["scan", root, "--list", "KNOWN", "--out", out, "--batch-items", "2", "--quiet"]
        status, run_id = run
        if status == "finished":
            return None
        return ["scan", "--resume", str(run_id), "--out", out, "--quiet"]

    def _rows(self, work: Work) -> tuple[int, int]:
        with work.database() as db, db.connect() as conn:
            total = conn.execute(select(func.count()).select_from(scan_items)).scalar()
            distinct = conn.execute(
                select(func.count(func.distinct(scan_items.c.logical_path))).select_from(scan_items)
            ).scalar()
            return int(total or 0), int(distinct or 0)

    def check(self, work: Work) -> None:
        total, distinct = self._rows(work)
        assert total == distinct, "an item was recorded twice"
        assert total <= len(self.corpus.all_paths)
        out = work.folder / "out.jsonl"
        if out.exists():
            text = out.read_text(encoding="utf-8")
            whole = text[: text.rfind("\n") + 1]  # a torn last line is rebuilt by --resume
            paths = [json.loads(line)["path"] for line in whole.splitlines()]
            assert len(paths) == len(set(paths)), "a JSONL line was written twice"
            assert set(paths) <= self.corpus.all_paths
            assert len(paths) <= total, "a JSONL line for an item the store does not have"
        _sqlite_ok(work)

    def result(self, work: Work) -> Any:
        lines = (work.folder / "out.jsonl").read_text(encoding="utf-8").splitlines()
        rows = sorted((json.loads(line) for line in lines), key=lambda row: row["path"])
        assert [row["path"] for row in rows] == sorted(self.corpus.all_paths)
        return rows, self._rows(work), self._run(work)


# --- network ingest ------------------------------------------------------------------------
@dataclass
class NetworkIngest:
    logs: list[Path]
    name: str = "network-ingest"
    entry: str = CLI
    preload: tuple[str, ...] = ("safelight.cli", "safelight.network.pipeline")
    done_codes: tuple[int, ...] = (0, 1)  # 1: the logs hold bad rows on purpose

    def prepare(self, work: Work) -> None:
        work.home.mkdir()

    def next_args(self, work: Work) -> list[str]:
        return ["network", "ingest", *map(str, self.logs), "--case", "K"]

    def _parts(self, work: Work) -> tuple[list[Any], list[Any]]:
        with work.database() as db:
            try:
                case = get_case(db, "K", work.home)
            except NotFoundError:
                return [], []
            records = registered(db, case)
            tables = [read_part(case.parts_dir / r.part_name) for r in records]
        summary = [(r.content_sha256, r.rows_good, r.rows_bad, r.rows_duplicate) for r in records]
        for record, table in zip(records, tables, strict=True):
            assert table.num_rows == record.rows_good, record
        return summary, tables

    def check(self, work: Work) -> None:
        summary, tables = self._parts(work)
        assert len(summary) <= len(self.logs)
        assert len({sha for sha, *_ in summary}) == len(summary), "a log registered twice"
        hashes = np.concatenate([t.column("row_hash").to_numpy() for t in tables] or [[]])
        assert len(np.unique(hashes)) == len(hashes), "a sighting stored twice"
        _sqlite_ok(work)

    def result(self, work: Work) -> Any:
        summary, tables = self._parts(work)
        rows = sorted(row for t in tables for row in zip(*t.to_pydict().values(), strict=True))
        return sorted(summary), rows


def _logs(folder: Path, files: int, rows: int) -> list[Path]:
    rng = np.random.default_rng(5)
    paths = []
    for f in range(files):
        path = folder / f"log{f}.csv"
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["ts", "ip", "port", "sha1"])
            for r in range(rows):
                # Overlapping rows across files (duplicates) and a bad row now and then.
                n = int(rng.integers(0, rows * files // 2))
                ip = f"198.51.{n % 250}.{n % 200}" if r % 97 else "not-an-ip"
                sha1 = hashlib.sha1(str(n % 500).encode()).hexdigest()
                writer.writerow([f"2024-01-01T00:{n % 60:02d}:{n % 59:02d}Z", ip, n, sha1])
        paths.append(path)
    return paths


# --- index compaction ----------------------------------------------------------------------
INDEX_SEED, INDEX_BATCHES, INDEX_ROWS, INDEX_BASE = 31, 12, 2_000, 60_000


@dataclass
class IndexCompaction:
    base: Path
    name: str = "index-compaction"
    entry: str = "tests.kill_support:index_writer"
    preload: tuple[str, ...] = ("safelight.index",)
    done_codes: tuple[int, ...] = (0,)

    def prepare(self, work: Work) -> None:
        shutil.copytree(self.base, work.folder / "index")

    def next_args(self, work: Work) -> list[str]:
        path = str(work.folder / "index")
        return [path, str(INDEX_SEED), str(INDEX_BATCHES), str(INDEX_ROWS)]

    def _state(self, work: Work) -> tuple[int, int, list[list[tuple[int, int]]]]:
        index = HammingIndex.open(work.folder / "index", verify=True)
        index.verify()
        committed = int(index.meta.get("batches", 0))
        batches = index_batches(INDEX_SEED, INDEX_BATCHES, INDEX_ROWS)
        found = index.search(np.concatenate(batches), 0)
        hits = [found[q] for q in range(len(found))]
        return committed, len(index), hits

    def check(self, work: Work) -> None:
        committed, size, hits = self._state(work)
        # Exactly the committed batches are visible, each whole, each id once.
        assert size == INDEX_BASE + committed * INDEX_ROWS
        for k in range(INDEX_BATCHES):
            block = hits[k * INDEX_ROWS : (k + 1) * INDEX_ROWS]
            ids = [1_000_000 * (k + 1) + i for i in range(INDEX_ROWS)]
            expected = [[(i, 0)] for i in ids] if k < committed else [[]] * INDEX_ROWS
            assert block == expected, f"batch {k} of {committed} committed"

    def result(self, work: Work) -> Any:
        return self._state(work)


def _index_base(folder: Path) -> Path:
    rng = np.random.default_rng(INDEX_SEED + 1)
    HammingIndex.build(folder, np.arange(INDEX_BASE), synthetic.uniform_hashes(rng, INDEX_BASE))
    return folder


# --- the matrix ----------------------------------------------------------------------------
def _report(name: str, report: Any) -> None:
    print(
        f"\nkill -9 matrix {name}: {report.kills} kills survived in {report.rounds} rounds "
        f"({report.completed_before_kill} runs finished before their kill; "
        f"uninterrupted work {report.seconds_uninterrupted:.1f}s)"
    )


@pytest.mark.slow
def test_lists_import_survives_kills(tmp_path: Path) -> None:
    target = ListsImport(_hash_lines(tmp_path / "import.txt", 60_000), 60_000)
    report = run_matrix(target, tmp_path / "runs")
    _report(target.name, report)
    assert report.kills >= KILLS


@pytest.mark.slow
def test_scan_survives_kills(tmp_path: Path) -> None:
    target = Scan(build_corpus(tmp_path / "corpus", images=24, size=(96, 72)))
    report = run_matrix(target, tmp_path / "runs")
    _report(target.name, report)
    assert report.kills >= KILLS


@pytest.mark.slow
def test_network_ingest_survives_kills(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    target = NetworkIngest(_logs(tmp_path / "logs", files=6, rows=4_000))
    report = run_matrix(target, tmp_path / "runs")
    _report(target.name, report)
    assert report.kills >= KILLS


@pytest.mark.slow
def test_index_compaction_survives_kills(tmp_path: Path) -> None:
    target = IndexCompaction(_index_base(tmp_path / "base"))
    report = run_matrix(target, tmp_path / "runs")
    _report(target.name, report)
    assert report.kills >= KILLS


MIGRATION_KILLER = """
import os, signal, sys
from sqlalchemy import event
from safelight.store import Database
db = Database(sys.argv[1])
@event.listens_for(db.engine, "after_cursor_execute")
def die(conn, cursor, statement, *args):
    if statement.lstrip().upper().startswith("CREATE TABLE") and "alembic" not in statement:
        os.kill(os.getpid(), signal.SIGKILL)  # the first table of the schema made, no more
db.migrate()
"""


def test_a_kill_during_the_first_migration_leaves_a_store_that_opens(tmp_path: Path) -> None:
    """Found by the matrix: pysqlite ran the migration's DDL outside a transaction, so a kill
    while a fresh store was being made left some tables and no version: every later command
    failed with 'table store_info already exists'."""
    work = fresh(tmp_path, "store")
    env = work.env()
    process = subprocess.run([sys.executable, "-c", MIGRATION_KILLER, work.url], env=env, cwd=ROOT)
    assert process.returncode == -signal.SIGKILL
    end_orphans(work)
    try:
        with work.database() as db:
            assert db.is_current()
            _sqlite_ok(work)
    finally:
        drop(work)
