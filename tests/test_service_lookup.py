"""The lookup engine: the same answers as ``Matcher`` with no SQL per lookup, fresh within a
poll of a change made by another process, serving the old view while it catches up, and
memory flat across many changes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from safelight.errors import UsageError
from safelight.lists import HashListStore
from safelight.match import Matcher
from safelight.service.lookup import IndexNotReadyError, LookupEngine
from safelight.service.lookup_state import LookupState
from safelight.store import Database
from tests.service_support import DEADLINE_SECONDS, wait_for

# Generous: a bound on a broken engine, not a timing; a working one answers in a poll.


def random_hex(rng: np.random.Generator, width: int = 32) -> str:
    return bytes(rng.integers(0, 256, width, dtype=np.uint8)).hex()


def flip(value: str, bits: list[int]) -> str:
    number = int(value, 16)
    for bit in bits:
        number ^= 1 << bit
    return f"{number:0{len(value)}x}"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def fill(
    store: HashListStore, name: str, rows: list[dict[str, Any]], tmp: Path, **options: Any
) -> None:
    store.create(name, source=f"source of {name}", terms_of_use="hotlines only", **options)
    if rows:
        store.import_file(name, write_jsonl(tmp / f"{name}.jsonl", rows), fmt="jsonl")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def engine(db: Database, home: Path) -> Iterator[LookupEngine]:
    running = LookupEngine(HashListStore(db), home=home, poll_seconds=0.05)
    yield running
    running.stop()


@pytest.fixture
def world(db: Database, tmp_path: Path) -> dict[str, list[str]]:
    """Three lists: two enabled with different thresholds, one disabled; some entries
    disabled for good or for a while; digests beside PDQ."""
    rng = np.random.default_rng(7)
    store = HashListStore(db)
    values: dict[str, list[str]] = {}
    for name, threshold in (("NEAR", 10), ("FAR", 40), ("OFF", 31)):
        pdq = [random_hex(rng) for _ in range(40)]
        rows = [{"type": "pdq", "value": v, "labels": [name.lower()], "note": "seen"} for v in pdq]
        md5 = [random_hex(rng, 16) for _ in range(5)]
        rows += [{"type": "md5", "value": v} for v in md5]
        fill(store, name, rows, tmp_path, pdq_threshold=threshold)
        values[name] = pdq + md5
    # FAR shares a value with NEAR: one query, matches in two lists at two thresholds
    shared = values["NEAR"][0]
    store.import_file(
        "FAR", write_jsonl(tmp_path / "shared.jsonl", [{"type": "pdq", "value": shared}])
    )
    store.set_enabled("OFF", False)
    near = store.find_entries("NEAR", limit=6)
    store.set_enabled("NEAR", False, entry_ids=[near[1].id, near[2].id])
    later = datetime.now(UTC) + timedelta(days=1)
    store.set_enabled("NEAR", False, entry_ids=[near[3].id], until=later)
    return values


def oracle(db: Database, home: Path, queries: list[tuple[str, str]], lists: Any = None) -> Any:
    return Matcher.open(db, lists, home=home).match_hashes(queries)


def test_lookups_answer_as_the_matcher(
    db: Database, home: Path, engine: LookupEngine, world: dict[str, list[str]]
) -> None:
    engine.refresh()
    rng = np.random.default_rng(3)
    queries = []
    for name in world:
        for value in world[name]:
            width = len(value) * 4
            if width == 256:
                bits = rng.choice(256, int(rng.integers(0, 45)), replace=False).tolist()
                queries.append(("pdq", flip(value, bits)))
            queries.append(("pdq" if width == 256 else "md5", value))
    assert engine.lookup(queries) == oracle(db, home, queries)
    assert engine.lookup(queries, ["FAR"]) == oracle(db, home, queries, ["FAR"])
    found = engine.lookup([("pdq", world["NEAR"][0])])[0]
    assert [m.list_name for m in found] == ["FAR", "NEAR"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from(["NEAR", "FAR", "OFF"]),
            st.integers(0, 44),
            st.lists(st.integers(0, 255), max_size=50),
        ),
        min_size=1,
        max_size=8,
    ),
    lists=st.one_of(st.none(), st.lists(st.sampled_from(["NEAR", "FAR", "OFF", "NONE"]))),
)
def test_property_same_matches_as_the_matcher(
    db: Database,
    home: Path,
    engine: LookupEngine,
    world: dict[str, list[str]],
    picks: list[tuple[str, int, list[int]]],
    lists: list[str] | None,
) -> None:
    if not engine.ready:
        engine.refresh()
    queries = []
    for name, position, bits in picks:
        value = world[name][position]
        kind = "pdq" if len(value) == 64 else "md5"
        queries.append((kind, flip(value, [b % (len(value) * 4) for b in bits])))
    enabled = None if lists is None else [n for n in dict.fromkeys(lists) if n in ("NEAR", "FAR")]
    expected = oracle(db, home, queries, enabled) if enabled != [] else [[] for _ in queries]
    assert engine.lookup(queries, lists) == expected


def test_hits_carry_what_a_reviewer_needs(
    engine: LookupEngine, world: dict[str, list[str]]
) -> None:
    engine.refresh()
    hit = engine.lookup_hits([("pdq", world["FAR"][5])])[0][0].to_dict()
    assert hit["list"] == "FAR" and hit["distance"] == 0 and hit["threshold"] == 40
    assert hit["list_provenance"] == {
        "description": "",
        "source": "source of FAR",
        "terms_of_use": "hotlines only",
    }
    assert hit["note"] == "seen" and hit["labels"] == ["far"]
    assert hit["metadata"]["import"]["source_path"].endswith("FAR.jsonl")


def test_bad_queries_and_not_ready(engine: LookupEngine) -> None:
    with pytest.raises(IndexNotReadyError):
        engine.lookup([("pdq", "0" * 64)])
    engine.refresh()
    with pytest.raises(UsageError, match="query 1"):
        engine.lookup([("pdq", "0" * 64), ("pdq", "zz")])
    with pytest.raises(UsageError, match="vpdq"):
        engine.lookup([("vpdq", "0" * 64)])
    assert engine.lookup([("md5", "0" * 32)]) == [[]]  # no lists: nothing, no error


def test_no_sql_per_lookup(db: Database, engine: LookupEngine, world: dict[str, list[str]]) -> None:
    engine.refresh()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for value in world["NEAR"]:
            engine.lookup([("pdq" if len(value) == 64 else "md5", value)])
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []


CHANGE_SCRIPT = """
import json, sys
from safelight.lists import HashListStore
from safelight.store import Database
url, schema, action, name, arg = sys.argv[1:6]
store = HashListStore(Database.open(url, schema=schema or None))
if action == "disable":
    store.set_enabled(name, False, entry_ids=[int(arg)])
elif action == "import":
    store.import_file(name, arg, fmt="jsonl")
elif action == "delete":
    store.delete(name)
"""


def change_elsewhere(db: Database, *args: str) -> None:
    """A change made by another process, as the CLI or another worker would make it."""
    url = db.engine.url.render_as_string(hide_password=False)
    command = [sys.executable, "-c", CHANGE_SCRIPT, url, db.schema or "", *args]
    subprocess.run(command, check=True, capture_output=True, env=None)


def test_a_change_in_another_process_is_served_without_pause(
    db: Database, engine: LookupEngine, world: dict[str, list[str]], tmp_path: Path
) -> None:
    engine.start()
    assert engine.wait_ready(DEADLINE_SECONDS)
    target = world["FAR"][7]
    (hit,) = engine.lookup([("pdq", target)])[0]
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_looking() -> None:  # lookups never fail while the engine catches up
        while not stop.is_set():
            try:
                engine.lookup([("pdq", target), ("md5", world["FAR"][41])])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    reader = threading.Thread(target=keep_looking)
    reader.start()
    try:
        change_elsewhere(db, "disable", "FAR", str(hit.entry_id))
        wait_for(lambda: engine.lookup([("pdq", target)]) == [[]], "a disable is served")
        new = random_hex(np.random.default_rng(99))
        path = write_jsonl(tmp_path / "new.jsonl", [{"type": "pdq", "value": new}])
        change_elsewhere(db, "import", "NEAR", str(path))
        wait_for(lambda: engine.lookup([("pdq", new)]) != [[]], "an import is served")
        change_elsewhere(db, "delete", "NEAR", "-")
        wait_for(lambda: engine.lookup([("pdq", new)]) == [[]], "a deletion is served")
    finally:
        stop.set()
        reader.join()
    assert errors == []


def test_a_timed_disable_lapses_by_itself(
    db: Database, engine: LookupEngine, world: dict[str, list[str]]
) -> None:
    store = HashListStore(db)
    entry = store.find_entries("FAR", signal_type="pdq", limit=1)[0]
    until = datetime.now(UTC) + timedelta(seconds=1)
    store.set_enabled("FAR", False, entry_ids=[entry.id], until=until)
    engine.start()
    assert engine.wait_ready(DEADLINE_SECONDS)
    query = [("pdq", entry.value)]
    if datetime.now(UTC) < until:
        assert all(m.entry_id != entry.id for m in engine.lookup(query)[0])
    wait_for(
        lambda: any(m.entry_id == entry.id for m in engine.lookup(query)[0]),
        "an entry served again when its disable lapses",
    )


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096


def test_memory_stays_flat_across_many_changes(
    db: Database, engine: LookupEngine, tmp_path: Path
) -> None:
    """A big list that never changes beside a small one that changes often: every change
    builds new tables holding the big list's rows, so a view kept alive by mistake grows
    memory by megabytes per change."""
    rng = np.random.default_rng(5)
    store = HashListStore(db)
    big = [{"type": "pdq", "value": random_hex(rng)} for _ in range(30_000)]
    fill(store, "BIG", big, tmp_path)
    fill(store, "SMALL", [{"type": "pdq", "value": random_hex(rng)}], tmp_path)
    entry = store.find_entries("SMALL")[0]

    def churn(times: int) -> None:
        for round_ in range(times):
            rows = [{"type": "pdq", "value": random_hex(rng)} for _ in range(20)]
            store.import_file("SMALL", write_jsonl(tmp_path / f"r{round_}.jsonl", rows))
            store.set_enabled("SMALL", round_ % 2 == 1, entry_ids=[entry.id])
            engine.refresh()
            engine.lookup([("pdq", big[round_]["value"])])

    engine.refresh()
    churn(10)  # warm: allocator pools, index segments mapped, compactions begun
    before = rss_bytes()
    churn(60)
    growth = rss_bytes() - before
    table_bytes = 30_000 * 60  # one kept copy of the big table's rows per change
    assert growth < 60 * table_bytes / 2, f"RSS grew {growth / 2**20:.1f} MiB over 60 changes"


def test_postgresql_notifies_rather_than_waiting_for_a_poll(
    db: Database, home: Path, world: dict[str, list[str]]
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite is polled")
    # A poll interval far beyond the deadline: only a notification can make the change seen.
    engine = LookupEngine(HashListStore(db), home=home, poll_seconds=3600)
    engine.start()
    try:
        assert engine.wait_ready(DEADLINE_SECONDS)
        wait_for(engine.listening.is_set, "the listener subscribes")
        target = world["FAR"][9]
        (hit,) = engine.lookup([("pdq", target)])[0]
        change_elsewhere(db, "disable", "FAR", str(hit.entry_id))
        wait_for(lambda: engine.lookup([("pdq", target)]) == [[]], "a notified disable is served")
    finally:
        engine.stop()


def table_contents(state: LookupState) -> dict[str, Any]:
    """A state's entries as plain values: what two states must agree on."""
    out = {}
    for signal_type, table in state.tables.items():
        out[signal_type] = [
            (
                int(table.ids[row]),
                int(table.list_codes[row]),
                float(table.until[row]),
                table.keys[row].tobytes().hex(),
                state.label_sets[int(table.label_codes[row])],
                int(table.import_ids[row]),
                table.notes.get(int(table.ids[row])),
            )
            for row in range(len(table))
        ]
    return out


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["import", "relabel", "renote", "disable", "enable", "until", "list_off", "drop"]
        ),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=OPERATIONS)
def test_property_catching_up_equals_loading_afresh(
    db: Database, home: Path, world: dict[str, list[str]], tmp_path: Path, operations: Any
) -> None:
    """After any sequence of changes, the state caught up change by change holds exactly
    what a state loaded from scratch holds, and lookups answer as the Matcher."""
    store = HashListStore(db)
    engine = LookupEngine(store, home=home)
    engine.refresh()
    rng = np.random.default_rng(len(operations))
    for step, (operation, seed) in enumerate(operations):
        names = [hl.name for hl in store.list()]
        if not names:
            fill(store, f"L{seed}", [], tmp_path)
            names = [f"L{seed}"]
        name = names[seed % len(names)]
        entries = store.find_entries(name)
        path = tmp_path / f"op{seed}-{step}.jsonl"
        if operation == "import":
            rows = [{"type": "pdq", "value": random_hex(rng), "note": f"n{seed}"}]
            store.import_file(name, write_jsonl(path, rows + [{"type": "md5", "value": "a" * 32}]))
        elif operation == "relabel" and entries:
            again = entries[seed % len(entries)]
            row = {"type": again.signal_type, "value": again.value, "labels": [f"x{seed}"]}
            store.import_file(name, write_jsonl(path, [row]))
        elif operation == "renote" and entries:
            again = entries[seed % len(entries)]
            row = {"type": again.signal_type, "value": again.value, "note": f"renoted {seed}"}
            store.import_file(name, write_jsonl(path, [row]))
        elif operation in ("disable", "enable", "until") and entries:
            chosen = [e.id for e in entries[seed % len(entries) :: 3]]
            until = datetime.now(UTC) + timedelta(hours=1) if operation == "until" else None
            store.set_enabled(name, operation == "enable", entry_ids=chosen, until=until)
        elif operation == "list_off":
            store.set_enabled(name, not store.get(name).enabled)
        elif operation == "drop" and seed % 3 == 0:
            store.delete(name)
        engine.refresh()
    caught_up = engine._view.state if engine._view else None
    assert caught_up is not None
    afresh = table_contents(LookupState.load(store, engine.signal_types))
    for signal_type, rows in table_contents(caught_up).items():
        wanted = afresh[signal_type]
        assert rows == wanted, (set(rows) - set(wanted), set(wanted) - set(rows))
        assert caught_up.size(signal_type) == len(wanted)  # kept up, not counted afresh
    queries = [("pdq" if len(v) == 64 else "md5", v) for vs in world.values() for v in vs]
    assert engine.lookup(queries) == oracle(db, home, queries)


def test_a_restart_maps_the_saved_state_and_catches_up(
    db: Database, home: Path, world: dict[str, list[str]], tmp_path: Path
) -> None:
    store = HashListStore(db)
    first = LookupEngine(store, home=home)
    first.refresh()
    assert first.loaded_from == "store"
    # changes while no engine runs: every kind of catch-up
    rng = np.random.default_rng(11)
    new = [{"type": "pdq", "value": random_hex(rng), "labels": ["new"]}]
    store.import_file("FAR", write_jsonl(tmp_path / "more.jsonl", new))
    store.set_enabled("NEAR", False, entry_ids=[store.find_entries("NEAR", limit=1)[0].id])
    store.delete("OFF")
    fill(store, "FRESH", [{"type": "md5", "value": "b" * 32}], tmp_path)
    second = LookupEngine(store, home=home)
    second.refresh()
    assert second.loaded_from == "snapshot"
    view = second._view
    assert view is not None
    afresh = table_contents(LookupState.load(store, second.signal_types))
    assert table_contents(view.state) == afresh
    queries = [("pdq", new[0]["value"]), ("md5", "b" * 32)]
    queries += [("pdq" if len(v) == 64 else "md5", v) for v in world["NEAR"]]
    assert second.lookup(queries) == oracle(db, home, queries)
    assert second.lookup(queries[:2]) != [[], []]
    # unchanged since the save: the columns are the saved files, mapped (pages shared)
    third = LookupEngine(store, home=home)
    third.refresh()
    assert third._view is not None
    assert isinstance(third._view.state.tables["pdq"].keys, np.memmap)


def test_a_damaged_save_is_ignored(db: Database, home: Path, world: dict[str, list[str]]) -> None:
    store = HashListStore(db)
    LookupEngine(store, home=home).refresh()
    (saved,) = home.glob("indexes/*/lookup-state-*/meta.json")
    saved.write_text("{not json", encoding="utf-8")
    engine = LookupEngine(store, home=home)
    engine.refresh()
    assert engine.loaded_from == "store"
    queries = [("pdq", v) for v in world["FAR"][:40]]
    assert engine.lookup(queries) == oracle(db, home, queries)


def test_lookups_go_on_while_the_indexes_catch_up(
    db: Database, engine: LookupEngine, world: dict[str, list[str]]
) -> None:
    """The index sync held back: lookups still answer at once, and a deleted list is no
    longer served (the state is swapped in first; hits are checked against it)."""
    engine.refresh()
    entered, gate = threading.Event(), threading.Event()
    for sync in engine._syncs.values():
        real = sync.open

        def held(real: Callable[[], Any] = real) -> Any:
            entered.set()
            gate.wait(DEADLINE_SECONDS)
            return real()

        sync.open = held  # type: ignore[method-assign]
    target = [("pdq", world["FAR"][7])]
    assert engine.lookup(target) != [[]]
    HashListStore(db).delete("FAR")
    refresher = threading.Thread(target=engine.refresh)
    refresher.start()
    try:
        wait_for(entered.is_set, "the index sync starts")
        assert engine.lookup(target) == [[]]
        assert engine.lookup([("pdq", world["NEAR"][0])]) != [[]]
    finally:
        gate.set()
        refresher.join()
    assert engine.lookup(target) == [[]]
