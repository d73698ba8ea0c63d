"""The lookup engine serves by the same rules as the Matcher (safelight.match.rules): an
allow-list match suppresses block matches of the query, and paused entries are not served."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import update

from safelight.lists import HashListStore
from safelight.match import Matcher
from safelight.service.lookup import LookupEngine
from safelight.store import Database
from safelight.store.lists_tables import hash_entries

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
OTHER = "0" * 64


def bank(store: HashListStore, name: str, values: list[str], tmp_path: Path, **kw: object) -> None:
    store.create(name, **kw)  # type: ignore[arg-type]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"type": "pdq", "value": v}) + "\n" for v in values))
    store.import_file(name, path)


def test_allow_lists_and_paused_entries_apply_in_the_engine(db: Database, tmp_path: Path) -> None:
    store = HashListStore(db)
    bank(store, "BLOCK", [PDQ, OTHER], tmp_path)
    engine = LookupEngine(store, home=tmp_path / "home")
    engine.refresh()
    assert [m.list_name for m in engine.lookup([("pdq", PDQ)])[0]] == ["BLOCK"]
    bank(store, "KNOWN_FP", [PDQ], tmp_path, allow=True)
    engine.refresh()
    [served] = engine.lookup([("pdq", PDQ)])
    assert served == []  # suppressed by the allow list, as the Matcher does
    matcher = Matcher.open(db, home=tmp_path / "home-matcher")
    assert matcher.match_hashes([("pdq", PDQ)]) == [served]
    other = next(e for e in store.find_entries("BLOCK") if e.value == OTHER)
    with db.begin() as conn:
        conn.execute(
            update(hash_entries)
            .where(hash_entries.c.id == other.id)
            .values(paused_at=store.clock(), paused_reason="test")
        )
        store._bump(conn, store.get("BLOCK").id, [other.id])  # as flood protection does
    engine.refresh()
    assert engine.lookup([("pdq", OTHER)]) == [[]]
