"""Flood protection: entries matching too many distinct queries in a window are paused for
review, counted across processes through the store, reported, and resumed by review."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from safelight.cli import main
from safelight.errors import UsageError
from safelight.lists.store import HashListStore, utc_now
from safelight.match import Matcher
from safelight.match.flood import FloodCounter, paused_entries, prune, query_key, resume
from safelight.service.audit import AuditLog
from safelight.store import Database
from safelight.store.lists_tables import flood_sightings

from .test_match import add, flip, random_pdq


@pytest.fixture
def store(db: Database) -> HashListStore:
    return HashListStore(db)


@pytest.fixture
def clocked(store: HashListStore) -> list:
    now = [utc_now().replace(minute=1, second=0, microsecond=0)]
    store.clock = lambda: now[0]
    return now


def setup_list(store: HashListStore, tmp_path: Path, **options: object) -> str:
    base = random_pdq()
    store.create("KNOWN", flood_threshold=3, flood_window_s=3600, **options)  # type: ignore[arg-type]
    add(store, tmp_path, "KNOWN", [{"type": "pdq", "value": base}])
    return base


def matcher(store: HashListStore, tmp_path: Path, **options: object) -> Matcher:
    counter = FloodCounter(store, **options)  # type: ignore[arg-type]
    return Matcher(store, home=tmp_path / "home", flood=counter)


def test_threshold_exceeded_across_workers_pauses_the_entry(
    store: HashListStore,
    tmp_path: Path,
    clocked: list,
) -> None:
    base = setup_list(store, tmp_path)
    warned: list[str] = []
    one, two = matcher(store, tmp_path), matcher(store, tmp_path)
    one.warn = warned.append
    queries = [flip(base, bits) for bits in (1, 2, 3, 4)]
    # The same query again and again is one upload; two workers share the count.
    for _ in range(5):
        assert one.match_hashes([("pdq", queries[0])])[0]
    assert two.match_hashes([("pdq", queries[1])])[0]
    assert one.match_hashes([("pdq", queries[2])])[0]  # 3 distinct: at the threshold
    assert not paused_entries(store)
    assert one.match_hashes([("pdq", queries[3])])[0]  # the 4th is served, then pauses
    [paused] = paused_entries(store)
    assert paused.paused_reason and "4 distinct queries" in paused.paused_reason
    assert warned and "paused" in warned[0]
    fresh = Matcher(store, home=tmp_path / "home")
    [ruled] = fresh.match_hashes_ruled([("pdq", base)])
    assert ruled.matches == [] and [m.entry_id for m in ruled.paused] == [paused.id]
    [entry] = [e for e in AuditLog(store.db).entries() if e.action == "entry.flood_pause"]
    assert entry.target == f"KNOWN/{paused.id}" and entry.details["distinct_queries"] == 4
    assert resume(store, "KNOWN", [paused.id], actor="cli:test") == 1
    assert Matcher(store, home=tmp_path / "home").match_hashes([("pdq", base)])[0]
    with pytest.raises(UsageError, match="no entry 999999"):
        resume(store, "KNOWN", [999999], actor="cli:test")


def test_windows_reset_the_count_and_prune_drops_old_ones(
    store: HashListStore,
    tmp_path: Path,
    clocked: list,
) -> None:
    base = setup_list(store, tmp_path)
    m = matcher(store, tmp_path)
    for bits in (1, 2, 3):
        m.match_hashes([("pdq", flip(base, bits))])
    clocked[0] += timedelta(hours=1)  # the next window
    for bits in (4, 5, 6):
        m.match_hashes([("pdq", flip(base, bits))])
    assert not paused_entries(store)
    assert prune(store, before=clocked[0] - timedelta(minutes=30)) == 3
    with store.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(flood_sightings)).scalar_one() == 3


def test_off_for_allow_lists_and_threshold_zero(
    store: HashListStore,
    tmp_path: Path,
    clocked: list,
) -> None:
    base = random_pdq()
    store.create("OFF", flood_threshold=0)
    store.create("FP", allow=True, flood_threshold=1)
    add(store, tmp_path, "OFF", [{"type": "md5", "value": "aa" * 16}])
    add(store, tmp_path, "FP", [{"type": "pdq", "value": base}])
    m = matcher(store, tmp_path)
    for bits in range(1, 6):
        m.match_hashes([("pdq", flip(base, bits)), ("md5", "aa" * 16)])
    assert not paused_entries(store)
    assert store.get("OFF").to_dict()["flood_threshold"] == 0
    default = store.create("DEFAULT").to_dict()
    assert (default["flood_threshold"], default["flood_window_s"]) == (100, 3600)


def test_buffered_sightings_flush_when_full_and_only_then(
    store: HashListStore,
    tmp_path: Path,
    clocked: list,
) -> None:
    base = setup_list(store, tmp_path)
    counter = FloodCounter(store, flush_every=5)
    served = Matcher(store, home=tmp_path / "home").match_hashes([("pdq", base)])[0]
    pauses = [counter.observe(f"q{i}", served) for i in range(5)]
    assert pauses[:4] == [[], [], [], []] and [p.distinct_queries for p in pauses[4]] == [5]
    assert counter.flush() == []
    assert query_key("x") == query_key("x") != query_key("y") and len(query_key("x")) == 32


def test_flooded_and_resume_commands(
    safelight_env: Path,
    tmp_path: Path,
    store: HashListStore,
    clocked: list,
) -> None:
    base = setup_list(store, tmp_path)
    m = matcher(store, tmp_path)
    for bits in range(1, 5):
        m.match_hashes([("pdq", flip(base, bits))])
    runner = CliRunner()
    listing = runner.invoke(main, ["lists", "flooded", "--format", "json"])
    [entry] = json.loads(listing.stdout)
    assert entry["list"] == "KNOWN" and entry["paused_reason"].startswith("flood:")
    table = runner.invoke(main, ["lists", "flooded"])
    assert "KNOWN" in table.stdout and "flood:" in table.stdout
    done = runner.invoke(main, ["lists", "resume", "KNOWN", str(entry["id"])])
    assert done.stdout == "resumed 1 of 1 entries of KNOWN\n"
    assert runner.invoke(main, ["lists", "flooded"]).stdout == "no paused entries\n"


def test_flush_due_waits_for_its_delay(store: HashListStore, tmp_path: Path, clocked: list) -> None:
    base = setup_list(store, tmp_path)
    counter = FloodCounter(store, flush_after_s=3600.0)
    m = Matcher(store, home=tmp_path / "home", flood=counter)
    for bits in range(1, 6):
        m.match_hashes([("pdq", flip(base, bits))])
    assert not paused_entries(store)  # five sightings still buffered
    assert [p.distinct_queries for p in counter.flush()] == [5]
    assert counter.flush_due() == []
