"""Flood protection's cost per lookup: ``Matcher.match_hashes`` with and without a
``FloodCounter``, one query per call (the service's shape) and batches of 100, on SQLite
(or $SAFELIGHT_DATABASE_URL). Small list, every query a match: the worst case for the
counter, which writes only sightings of served matches.

    python bench/flood.py [--entries 1000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from safelight.lists.store import HashListStore
from safelight.match import Matcher
from safelight.match.flood import FloodCounter
from safelight.store import Database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    values = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(args.entries)]
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("SAFELIGHT_DATABASE_URL") or f"sqlite:///{tmp}/store.db"
        # A schema of its own on PostgreSQL (dropped after), never the shared default one.
        schema = None if url.startswith("sqlite") else f"bench_flood_{os.getpid()}"
        db = Database.open(url, schema=schema)
        store = HashListStore(db)
        store.create("BENCH", flood_threshold=10**9)
        path = Path(tmp) / "list.txt"
        path.write_text("".join(f"pdq {v}\n" for v in values))
        store.import_file("BENCH", path)
        # Distinct queries (one bit flipped each), each matching one entry.
        queries = [
            ("pdq", f"{int(values[i % len(values)], 16) ^ (1 << (i % 256)):064x}")
            for i in range(args.lookups)
        ]
        out = {}
        variants = (
            ("without", None),
            ("with, flush per call", FloodCounter(store, audit=False)),
            ("with, flush every 1 s", FloodCounter(store, audit=False, flush_after_s=1.0)),
        )
        for label, flood in variants:
            matcher = Matcher(store, home=Path(tmp) / "home", flood=flood)
            matcher.match_hashes(queries[:10])  # index built, warm
            start = time.perf_counter()
            for query in queries:
                matcher.match_hashes([query])
            single = (time.perf_counter() - start) / len(queries)
            start = time.perf_counter()
            for i in range(0, len(queries), 100):
                matcher.match_hashes(queries[i : i + 100])
            batched = (time.perf_counter() - start) / len(queries)
            out[label] = {
                "us_per_lookup_1_per_call": single * 1e6,
                "us_per_lookup_100_per_call": batched * 1e6,
            }
        # The counter alone, as an engine uses it: observe per lookup, flush per 1000.
        counter = FloodCounter(store, audit=False)
        served = Matcher(store, home=Path(tmp) / "home").match_hashes([queries[0]])[0]
        start = time.perf_counter()
        for i in range(args.lookups):
            counter.observe(f"q{i}", served)
        counter.flush()
        out["counter_only_us_per_lookup"] = (time.perf_counter() - start) / args.lookups * 1e6
        out["dialect"] = db.dialect
        if schema:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        db.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
