"""Benchmark: importing a million PDQ lines into a hash list, against the obvious baselines.

Measured in one run on the same file and database:

* ``import``: ``HashListStore.import_file`` (streaming parse, staging tables, one sorted
  set-based merge), then the same file again (the idempotent path), then streaming the list
  back out with ``iter_entries`` (what an index build reads) and ``export``, then the file
  into a new list with two ``--label`` labels on every entry (``labelled``).
* ``naive``: one ``INSERT ... ON CONFLICT DO NOTHING`` per line in one transaction, the
  obvious code (on the first ``--baseline-rows`` lines: it is too slow for all of them).
* ``direct``: the same parser, batches of 5,000 rows sent with executemany straight into
  the list's table with ``ON CONFLICT DO NOTHING`` (our first design), on all rows.
* ``floor``: parsing the file and handing the bare (type, value) pairs to an unindexed
  table the fastest way the driver offers (executemany on SQLite, COPY on PostgreSQL):
  the cost of merely reading the rows into the database, before any list logic.

Writes ``bench/results/lists_import[_postgresql].json``. Usage::

    .venv/bin/python bench/lists_import.py [--rows 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, text

from safelight.constants import LIST_IMPORT_BATCH_ROWS
from safelight.lists import HashListStore, ParseOptions
from safelight.lists.importer import bulk_insert, insert_ignoring_conflicts
from safelight.lists.models import Record
from safelight.lists.readers import read_lines
from safelight.lists.records import HashingReader
from safelight.store import Database
from safelight.store.lists_tables import hash_entries

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def timed(results: dict[str, Any], name: str, rows: int) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    seconds = time.perf_counter() - wall
    results[name] = {
        "rows": rows,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "rows_per_second": round(rows / seconds),
    }
    print(f"{name:>10}: {rows:>9,} rows in {seconds:7.2f} s = {rows / seconds:>10,.0f} rows/s")


def make_file(path: Path, rows: int) -> None:
    generator = random.Random(20261129)
    with path.open("w") as out:
        for _ in range(rows):
            out.write(f"{generator.getrandbits(256):064x}\n")


def parsed(path: Path, limit: int | None = None) -> Iterator[Record]:
    with path.open("rb") as raw:
        for number, item in enumerate(read_lines(HashingReader(raw), str(path), ParseOptions())):
            if limit is not None and number >= limit:
                return
            assert isinstance(item, Record)
            yield item


def naive(db: Database, list_id: int, path: Path, limit: int) -> None:
    with db.begin() as conn:
        statement = insert_ignoring_conflicts(
            conn, hash_entries, ["list_id", "signal_type", "value_key"]
        )
        for record in parsed(path, limit):
            conn.execute(
                statement.values(
                    list_id=list_id, signal_type=record.signal_type, value_key=record.key
                )
            )


def direct(db: Database, list_id: int, path: Path) -> None:
    with db.begin() as conn:
        statement = insert_ignoring_conflicts(
            conn, hash_entries, ["list_id", "signal_type", "value_key"]
        )
        batch: list[dict[str, Any]] = []
        for record in parsed(path):
            batch.append(
                {"list_id": list_id, "signal_type": record.signal_type, "value_key": record.key}
            )
            if len(batch) >= LIST_IMPORT_BATCH_ROWS:
                conn.execute(statement, batch)
                batch = []
        if batch:
            conn.execute(statement, batch)


def floor(db: Database, path: Path) -> None:
    pairs = [(record.signal_type, record.key) for record in parsed(path)]
    scratch = Table("bench_floor", MetaData(), Column("t", String(16)), Column("k", String(64)))
    with db.begin() as conn:
        scratch.create(conn)
        for start in range(0, len(pairs), LIST_IMPORT_BATCH_ROWS):
            bulk_insert(conn, scratch, pairs[start : start + LIST_IMPORT_BATCH_ROWS])
        scratch.drop(conn)


def run(rows: int, baseline_rows: int, url: str | None, work: Path) -> dict[str, Any]:
    hashes = work / "pdq.txt"
    make_file(hashes, rows)
    schema = f"bench_{os.getpid()}" if url and url.startswith("postgresql") else None
    db = Database.open(url or f"sqlite:///{work / 'bench.db'}", schema=schema)
    store = HashListStore(db)
    results: dict[str, Any] = {}
    try:
        store.create("BENCH")
        with timed(results, "import", rows):
            report = store.import_file("BENCH", hashes)
        assert report.added == rows, report
        with timed(results, "reimport", rows):
            assert store.import_file("BENCH", hashes).added == 0
        with timed(results, "iterate", rows):
            assert sum(1 for _ in store.iter_entries(["BENCH"], "pdq")) == rows
        with timed(results, "export", rows):
            store.export("BENCH", io.StringIO(), fmt="lines")
        store.create("LABELLED")
        two_labels = ParseOptions(extra_labels=frozenset({"INTERPOL baseline", "category A"}))
        with timed(results, "labelled", rows):
            assert (
                store.import_file("LABELLED", hashes, options=two_labels).labels_added == 2 * rows
            )
        naive_list = store.create("NAIVE").id
        with timed(results, "naive", baseline_rows):
            naive(db, naive_list, hashes, baseline_rows)
        direct_list = store.create("DIRECT").id
        with timed(results, "direct", rows):
            direct(db, direct_list, hashes)
        with timed(results, "floor", rows):
            floor(db, hashes)
    finally:
        if schema:
            with db.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        db.dispose()
    rate = {name: results[name]["rows_per_second"] for name in results}
    ratios = {
        "import_vs_naive_rate": round(rate["import"] / rate["naive"], 1),
        "import_vs_direct_rate": round(rate["import"] / rate["direct"], 1),
        "import_vs_floor_rate": round(rate["import"] / rate["floor"], 2),
    }
    for name, value in ratios.items():
        print(f"{name}: {value}x")
    return {
        "name": "lists_import",
        "database": db.dialect,
        "rows": rows,
        "baseline_rows": baseline_rows,
        "results": results,
        "ratios": ratios,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "load_average_at_end": os.getloadavg(),
        },
        "notes": "naive is measured on baseline_rows lines (too slow for all); rates compare.",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=50_000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        data = run(args.rows, args.baseline_rows, args.database_url, Path(work))
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if data["database"] == "sqlite" else f"_{data['database']}"
    out = RESULTS / f"lists_import{suffix}.json"
    out.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
