"""Allow lists and paused entries: ``safelight.match.rules`` held to an obvious oracle, and
applied by ``Matcher`` and ``safelight match`` on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from safelight.cli import main
from safelight.lists.store import HashListStore
from safelight.match import Matcher
from safelight.match.results import Match
from safelight.match.rules import apply_rules
from safelight.store import Database

from .test_match import add, flip, random_pdq


@pytest.fixture
def store(db: Database) -> HashListStore:
    return HashListStore(db)


TYPES = ["pdq", "md5", "vpdq"]
LISTS = {"B1": "block", "B2": "block", "A1": "allow", "A2": "allow"}

match_strategy = st.builds(
    lambda lst, eid, dist, kind: Match(lst, eid, "v", dist, frozenset(), kind),
    st.sampled_from(sorted(LISTS)),
    st.integers(1, 30),
    st.integers(0, 31),
    st.sampled_from(TYPES),
)


def oracle(matches: list[Match], paused: set[int]) -> tuple[set[Match], ...]:
    """The documented rule, written out the slow obvious way."""
    allow = {m for m in matches if LISTS[m.list_name] == "allow"}
    suppressed, held, served = set(), set(), set()
    for m in matches:
        if m in allow:
            continue
        if any(a.signal_type in (m.signal_type, "md5") for a in allow):
            suppressed.add(m)
        elif m.entry_id in paused:
            held.add(m)
        else:
            served.add(m)
    return served, allow, suppressed, held


@given(st.lists(match_strategy, max_size=12), st.sets(st.integers(1, 30), max_size=10))
def test_rules_equal_the_oracle_and_drop_nothing(matches: list[Match], paused: set[int]) -> None:
    ruled = apply_rules(matches, LISTS, paused)
    parts = (ruled.matches, ruled.allowed, [s.match for s in ruled.suppressed], ruled.paused)
    assert tuple(set(p) for p in parts) == oracle(matches, paused)
    assert sum(len(p) for p in parts) == len(matches)
    for s in ruled.suppressed:  # each names an allow match that may suppress it
        assert s.by in ruled.allowed
        assert s.by.signal_type in (s.match.signal_type, "md5")


def test_a_pdq_allow_match_does_not_suppress_an_exact_block_match() -> None:
    allow = Match("A1", 1, "a", 4, frozenset(), "pdq")
    block = Match("B1", 2, "b", 0, frozenset(), "md5")
    near = Match("B1", 3, "c", 9, frozenset(), "pdq")
    ruled = apply_rules([block, allow, near], LISTS)
    assert ruled.matches == [block] and [s.match for s in ruled.suppressed] == [near]
    assert ruled.to_dict()["suppressed"][0]["suppressed_by"] == {
        "list": "A1", "entry_id": 1, "signal_type": "pdq", "distance": 4,
    }  # fmt: skip


def test_matcher_suppresses_block_matches_of_an_allowed_query(
    store: HashListStore,
    tmp_path: Path,
) -> None:
    base, md5 = random_pdq(), "ab" * 16
    store.create("KNOWN")
    store.create("FALSE_POSITIVES", allow=True, pdq_threshold=8)
    assert store.get("FALSE_POSITIVES").kind == "allow"
    assert store.get("FALSE_POSITIVES").flood_limits() is None
    add(store, tmp_path, "KNOWN", [
        {"type": "pdq", "value": flip(base, 20)},
        {"type": "md5", "value": md5},
    ])  # fmt: skip
    add(store, tmp_path, "FALSE_POSITIVES", [{"type": "pdq", "value": flip(base, 6, 100)}])
    matcher = Matcher(store, home=tmp_path / "home")
    far = flip(base, 10, 200)  # 16 from the allow entry (beyond its 8), 30 from the block one
    near_ruled, far_ruled, md5_ruled = matcher.match_hashes_ruled(
        [("pdq", base), ("pdq", far), ("md5", md5)]
    )
    assert near_ruled.matches == [] and [m.list_name for m in near_ruled.allowed] == [
        "FALSE_POSITIVES"
    ]
    assert [(s.match.distance, s.by.distance) for s in near_ruled.suppressed] == [(20, 6)]
    assert [m.distance for m in far_ruled.matches] == [30] and not far_ruled.suppressed
    assert [m.signal_type for m in md5_ruled.matches] == ["md5"]
    assert matcher.match_hashes([("pdq", base)]) == [[]]


def test_match_cli_reports_the_suppression(
    safelight_env: Path,
    tmp_path: Path,
    store: HashListStore,
) -> None:
    md5 = "cd" * 16
    runner = CliRunner()
    assert runner.invoke(main, ["lists", "create", "KNOWN"]).exit_code == 0
    created = runner.invoke(main, ["lists", "create", "FP", "--allow"])
    assert created.output == "created allow list FP\n"
    for name in ("KNOWN", "FP"):
        path = tmp_path / f"{name}.txt"
        path.write_text(f"md5 {md5}\n")
        assert runner.invoke(main, ["lists", "import", name, str(path)]).exit_code == 0
    out = runner.invoke(main, ["match", "--hash", md5, "--format", "jsonl"])
    record = json.loads(out.stdout)
    assert record["matches"] == [] and record["allowed"][0]["list"] == "FP"
    assert record["suppressed"][0]["suppressed_by"]["list"] == "FP"
    table = runner.invoke(main, ["match", "--hash", md5, "--format", "table"])
    assert "suppressed by allow list FP" in table.stdout


def test_scan_items_are_flagged_allow_listed_and_paused(
    db: Database, store: HashListStore, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from safelight.scan.matching import MatchConfig, make_matcher
    from safelight.signals.records import HashRecord
    from safelight.store.lists_tables import hash_entries

    md5s = ["a" * 32, "b" * 32, "c" * 32]
    store.create("KNOWN")
    store.create("FP", allow=True)
    add(store, tmp_path, "KNOWN", [{"type": "md5", "value": v} for v in md5s])
    add(store, tmp_path, "FP", [{"type": "md5", "value": md5s[0]}])
    with db.begin() as conn:  # as flood protection would have left it
        conn.execute(
            update(hash_entries)
            .where(hash_entries.c.value_key == md5s[1])
            .values(paused_at=datetime.now(UTC), paused_reason="flood: test")
        )
    names = ("KNOWN", "FP")
    gens = store.generations(list(names))
    config = MatchConfig(names, tuple(gens[n] for n in names), db.url, db.schema, str(tmp_path))
    matcher = make_matcher(config)
    try:
        records = [HashRecord(f"{i}.bin", "other", size=1, digests={"md5": v}) for i, v in
                   enumerate(md5s)]  # fmt: skip
        flagged = matcher.match_flagged(records)
    finally:
        matcher.release()
    assert [(len(m), f) for m, f in flagged] == [
        (0, ("allow_listed",)), (0, ("paused_entry",)), (1, ()),
    ]  # fmt: skip
