"""Freshness by the change, not the list: a change made elsewhere (the CLI in another
process, the API) is served by a running engine after reading just the entries it touched;
folds (compaction) under concurrent lookups never give a wrong or missing answer; memory
stays flat over many change + fold cycles."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.lists import HashListStore
from safelight.lists.editing import ListEditor
from safelight.service.lookup import LookupEngine
from safelight.service.roles import Role
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token
from tests.test_service_lookup import (
    DEADLINE_SECONDS,
    fill,
    oracle,
    random_hex,
    rss_bytes,
    wait_for,
    write_jsonl,
)

# The store methods that read a whole list (or every list): a follower that calls one of
# them after its first view pays for the list, not for the change.
WHOLE_LIST_READS = ("find_entries", "entry_states", "index_rows", "iter_entries", "entry_notes")


def cli(db: Database, home: Path, *args: str) -> None:
    """``safelight ARGS`` in another process, on the test's store."""
    env = {**os.environ, "SAFELIGHT_HOME": str(home)}
    env["SAFELIGHT_DATABASE_URL"] = db.engine.url.render_as_string(hide_password=False)
    if db.schema:
        env["SAFELIGHT_DATABASE_SCHEMA"] = db.schema
    command = [sys.executable, "-c", "from safelight.cli import main; main()", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def spy(store: HashListStore, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the calls of the whole-list readers of ``store`` (they still do their work)."""
    calls = dict.fromkeys(WHOLE_LIST_READS, 0)
    for name in WHOLE_LIST_READS:
        real = getattr(store, name)

        def counted(*args: Any, _name: str = name, _real: Any = real, **kw: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kw)

        monkeypatch.setattr(store, name, counted)
    return calls


def seen_within(condition: Callable[[], bool], what: str, timings: dict[str, float]) -> None:
    started = time.monotonic()
    wait_for(condition, what)
    timings[what] = time.monotonic() - started


@pytest.fixture
def big(db: Database, tmp_path: Path) -> list[str]:
    """A list of 3,000 PDQ hashes beside a small one: the list a change must not re-read."""
    rng = np.random.default_rng(21)
    store = HashListStore(db)
    values = [random_hex(rng) for _ in range(3_000)]
    fill(store, "BIG", [{"type": "pdq", "value": v} for v in values], tmp_path)
    fill(store, "SMALL", [{"type": "md5", "value": "ab" * 16}], tmp_path)
    return values


def test_changes_from_the_cli_elsewhere_cost_the_change(
    db: Database, tmp_path: Path, big: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    store = HashListStore(db)
    engine = LookupEngine(store, home=home, poll_seconds=0.05)
    engine.refresh()  # first view (reads everything once) and its save
    calls = spy(store, monkeypatch)
    engine.start()
    timings: dict[str, float] = {}
    try:
        target = big[10]
        (hit,) = engine.lookup([("pdq", target)])[0]
        cli(db, home, "lists", "disable", "BIG", "--entry", str(hit.entry_id))
        seen_within(lambda: engine.lookup([("pdq", target)]) == [[]], "disable", timings)
        cli(db, home, "lists", "enable", "BIG", "--entry", str(hit.entry_id))
        seen_within(lambda: engine.lookup([("pdq", target)]) != [[]], "enable", timings)
        new = random_hex(np.random.default_rng(5))
        path = write_jsonl(tmp_path / "one.jsonl", [{"type": "pdq", "value": new}])
        cli(db, home, "lists", "import", "BIG", str(path))
        seen_within(lambda: engine.lookup([("pdq", new)]) != [[]], "import", timings)
        (added,) = engine.lookup([("pdq", new)])[0]
        until = (datetime.now(UTC) + timedelta(seconds=15)).isoformat()  # CLI start: seconds
        cli(db, home, "lists", "disable", "BIG", "--entry", str(added.entry_id), "--until", until)
        seen_within(lambda: engine.lookup([("pdq", new)]) == [[]], "disable --until", timings)
        seen_within(lambda: engine.lookup([("pdq", new)]) != [[]], "the disable lapses", timings)
        with db.begin() as conn:  # as the API deletes an entry (another connection)
            ListEditor(HashListStore(db)).delete_entry(conn, "BIG", added.entry_id)
        seen_within(lambda: engine.lookup([("pdq", new)]) == [[]], "delete", timings)
    finally:
        engine.stop()
    print("seconds until served:", {k: round(v, 3) for k, v in timings.items()})
    engine.maintain()  # the index caught up too, by the log: the deleted entry gone from it
    index = engine._syncs["pdq"].open()
    assert not index.contains([added.entry_id])[0] and index.contains([hit.entry_id])[0]
    assert engine.last_error is None
    assert calls == dict.fromkeys(WHOLE_LIST_READS, 0), calls
    queries = [("pdq", v) for v in big[:50]] + [("pdq", new)]
    assert engine.lookup(queries) == oracle(db, home, queries)


def started(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as client:
        engine: LookupEngine = app.state.service.extensions["lookup"]
        assert engine.wait_ready(DEADLINE_SECONDS)
        yield client


def test_changes_through_the_api_are_served_in_every_worker(
    db: Database, tmp_path: Path, big: list[str]
) -> None:
    """Two apps on one store stand for two workers: a change through one is served by
    both, each by its own follower (no request there triggers it)."""
    home = tmp_path / "home"
    token = make_token(db, "editor", Role.ADMIN)
    headers = bearer(token)
    apps = [make_app(db, home=home, lookup_poll_seconds=0.05) for _ in range(2)]
    clients = [started(app) for app in apps]
    first, second = (next(c) for c in clients)
    try:
        new = random_hex(np.random.default_rng(8))
        added = first.post(
            "/api/v1/lists/BIG/entries", json={"value": new, "type": "pdq"}, headers=headers
        )
        assert added.status_code == 201, added.text
        params = {"signal_type": "pdq", "value": new}

        def served(client: TestClient) -> bool:
            found = client.get("/api/v1/lookup", params=params, headers=headers).json()
            return [m["entry_id"] for m in found["matches"]] == [added.json()["id"]]

        for client in (first, second):
            wait_for(lambda c=client: served(c), "an entry added through the API")
        entry = added.json()["id"]
        gone = first.delete(f"/api/v1/lists/BIG/entries/{entry}", headers=headers)
        assert gone.status_code == 204
        for client in (first, second):
            wait_for(lambda c=client: not served(c), "an entry deleted through the API")
        readiness = second.get("/readyz").json()["checks"]["index"]
        assert readiness["pdq"]["size"] == 3_000 and "pending" in readiness["pdq"]
    finally:
        for generator in clients:
            generator.close()


OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["add", "disable", "enable", "delete", "relabel"]), st.integers()),
    min_size=1,
    max_size=12,
)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=OPERATIONS)
def test_property_folds_under_concurrent_lookups_answer_as_the_oracle(
    db: Database, tmp_path: Path, big: list[str], operations: list[tuple[str, int]]
) -> None:
    """Changes with a fold after every one (``fold_rows=0``) and index compactions (every
    delete asks for one), while a reader looks up entries no change touches: the reader
    never misses one or gets a wrong answer, and after each step lookups equal the
    Matcher's."""
    store = HashListStore(db)
    home = tmp_path / f"home-{len(operations)}-{operations[0][1]}"
    engine = LookupEngine(store, home=home, fold_rows=0, compact_removed_rows=0)
    engine.refresh()
    stable = big[:20]
    expected = engine.lookup([("pdq", v) for v in stable])
    assert all(len(found) == 1 for found in expected)
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            got = engine.lookup([("pdq", v) for v in stable])
            if got != expected:
                failures.append(f"{got} != {expected}")
                return

    reader = threading.Thread(target=read)
    reader.start()
    rng = np.random.default_rng(abs(operations[0][1]) % 1000)
    editor = ListEditor(store)
    folds = engine.folds
    try:
        for step, (operation, seed) in enumerate(operations):
            entries = store.find_entries("SMALL") + store.find_entries("BIG", after_id=3_000)
            chosen = entries[seed % len(entries)] if entries else None
            with db.begin() as conn:
                if operation == "add" or chosen is None:
                    editor.add_entry(conn, "BIG", random_hex(rng), signal_type="pdq", by="t")
                elif operation == "disable":
                    editor.set_entry_enabled(conn, chosen.list_name, chosen.id, enabled=False)
                elif operation == "enable":
                    editor.set_entry_enabled(conn, chosen.list_name, chosen.id, enabled=True)
                elif operation == "delete":
                    editor.delete_entry(conn, chosen.list_name, chosen.id)
                else:
                    editor.update_entry(conn, chosen.list_name, chosen.id, labels=[f"l{step}"])
            engine.refresh()
            touched = [("pdq", e.value) for e in store.find_entries("BIG", after_id=3_000)]
            queries = touched + [("md5", "ab" * 16), ("pdq", big[-1])]
            assert engine.lookup(queries) == oracle(db, home / "oracle", queries)
            view = engine._view
            assert view is not None
            for signal_type in view.state.base:  # the sizes kept up equal a count afresh
                assert view.state.size(signal_type) == len(view.state.table(signal_type))
    finally:
        stop.set()
        reader.join()
    assert failures == []
    assert engine.folds > folds  # the folds did happen


def test_memory_stays_flat_over_many_changes_and_folds(
    db: Database, tmp_path: Path, big: list[str]
) -> None:
    """Each cycle adds an entry and deletes the one before, folds the state into a new
    saved base (3,000 rows rewritten and mapped again) and compacts the index (a deletion
    asks for it): a base or index generation kept alive by mistake would grow memory by
    about 200 KB a cycle."""
    store = HashListStore(db)
    engine = LookupEngine(store, home=tmp_path / "home", fold_rows=0, compact_removed_rows=0)
    engine.refresh()
    editor = ListEditor(store)
    rng = np.random.default_rng(3)
    last: list[int] = []

    def cycles(times: int) -> None:
        for _ in range(times):
            with db.begin() as conn:
                entry, _ = editor.add_entry(conn, "BIG", random_hex(rng), signal_type="pdq", by="t")
                for entry_id in last:
                    editor.delete_entry(conn, "BIG", entry_id)
            last[:] = [entry.id]
            engine.refresh()
            engine.lookup([("pdq", v) for v in big[:10]])

    folds = engine.folds
    cycles(15)  # warm: allocator pools, mappings, compiled paths
    before = rss_bytes()
    cycles(60)
    growth = rss_bytes() - before
    assert engine.folds - folds >= 75
    assert growth < 6 * 2**20, f"RSS grew {growth / 2**20:.1f} MiB over 60 change + fold cycles"
