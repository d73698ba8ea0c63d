"""The entry change log (``safelight.lists.changes``): every change of a list's entries, by
any path of the library, logs the entries it touched at the list's new generation, in the
change's own transaction; bulk changes and pruned rows say "read the list whole"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from safelight.errors import ValidationError
from safelight.hma.banks import HmaBanks
from safelight.hma.signals import hma_type
from safelight.lists import HashListStore, importer
from safelight.lists import changes as change_log
from safelight.lists.editing import ListEditor
from safelight.match.flood import resume
from safelight.store import Database
from safelight.store.lists_tables import hash_entry_changes

A, B, C = "a" * 32, "b" * 32, "c" * 32


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def store(db: Database) -> HashListStore:
    return HashListStore(db)


def logged_since(store: HashListStore, name: str, after: int) -> tuple[tuple[int, ...], bool]:
    """The entry ids logged for a list since generation ``after``, and completeness."""
    hash_list = store.get(name)
    found = store.entry_changes(hash_list.id, after, hash_list.generation)
    return found.entry_ids, found.complete


def ids_of(store: HashListStore, name: str, *values: str) -> tuple[int, ...]:
    by_value = {e.value: e.id for e in store.find_entries(name)}
    return tuple(sorted(by_value[v] for v in values))


def test_every_kind_of_change_logs_the_entries_it_touched(
    store: HashListStore, tmp_path: Path
) -> None:
    store.create("L")
    rows = [{"type": "md5", "value": v} for v in (A, B)]
    report = store.import_file("L", write_jsonl(tmp_path / "first.jsonl", rows))
    assert report.generation == store.get("L").generation == 1
    assert logged_since(store, "L", 0) == (ids_of(store, "L", A, B), True)
    # a second import: one new entry, one already there (relabelled): both touched
    again = [{"type": "md5", "value": B, "labels": ["x"]}, {"type": "md5", "value": C}]
    store.import_file("L", write_jsonl(tmp_path / "again.jsonl", again))
    assert logged_since(store, "L", 1) == (ids_of(store, "L", B, C), True)
    a, b, c = ids_of(store, "L", A, B, C)
    generation = store.get("L").generation
    store.set_enabled("L", False, entry_ids=[a], until=datetime.now(UTC) + timedelta(hours=1))
    assert logged_since(store, "L", generation) == ((a,), True)
    generation = store.get("L").generation
    store.set_enabled("L", False)  # the list itself: no entry rows, the generation moves
    assert store.get("L").generation == generation + 1
    assert logged_since(store, "L", generation) == ((), True)
    editor = ListEditor(store)
    generation = store.get("L").generation
    with store.db.begin() as conn:
        editor.update_entry(conn, "L", b, labels=["y"])
        editor.set_entry_enabled(conn, "L", c, enabled=False)
        added, _ = editor.add_entry(conn, "L", "d" * 32, signal_type="md5", by="test")
        editor.delete_entry(conn, "L", a)
    assert logged_since(store, "L", generation) == (tuple(sorted((a, b, c, added.id))), True)
    assert logged_since(store, "L", store.get("L").generation) == ((), True)


def test_a_failed_change_logs_nothing(store: HashListStore, tmp_path: Path) -> None:
    store.create("L")
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"type": "md5", "value": A}, {"type": "md5"}])
    with pytest.raises(ValidationError):
        store.import_file("L", bad)
    with store.db.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(hash_entry_changes)).scalar_one()
    assert (rows, store.get("L").generation) == (0, 0)


def test_a_deleted_list_takes_its_rows_along(store: HashListStore, tmp_path: Path) -> None:
    store.create("GONE")
    store.create("KEPT")
    rows = [{"type": "md5", "value": A}]
    store.import_file("GONE", write_jsonl(tmp_path / "g.jsonl", rows))
    store.import_file("KEPT", write_jsonl(tmp_path / "k.jsonl", rows))
    kept = store.get("KEPT").id
    store.delete("GONE")
    with store.db.connect() as conn:
        left = conn.execute(select(hash_entry_changes.c.list_id).distinct()).scalars().all()
    assert left == [kept]


def test_bulk_changes_log_one_reload_row(
    store: HashListStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "LIST_CHANGE_LOG_MAX_ROWS", 2)
    monkeypatch.setattr(change_log, "LIST_CHANGE_LOG_MAX_ROWS", 2)
    store.create("L")
    rows = [{"type": "md5", "value": v} for v in (A, B, C)]
    store.import_file("L", write_jsonl(tmp_path / "big.jsonl", rows))
    assert logged_since(store, "L", 0) == ((), False)
    generation = store.get("L").generation
    store.set_enabled("L", False, entry_ids=list(ids_of(store, "L", A, B, C)))
    assert logged_since(store, "L", generation)[1] is False
    generation = store.get("L").generation
    store.set_enabled("L", True, entry_ids=list(ids_of(store, "L", A, B)))
    assert logged_since(store, "L", generation) == (ids_of(store, "L", A, B), True)


def test_pruning_leaves_a_horizon(store: HashListStore, tmp_path: Path) -> None:
    store.create("L")
    store.import_file("L", write_jsonl(tmp_path / "a.jsonl", [{"type": "md5", "value": A}]))
    store.import_file("L", write_jsonl(tmp_path / "b.jsonl", [{"type": "md5", "value": B}]))
    hash_list = store.get("L")
    now = datetime.now(UTC)
    with store.db.begin() as conn:
        assert change_log.prune(conn, hash_list.id, now + timedelta(seconds=1), now) == 2
    # A follower from before the horizon must read the list whole; one after it need not.
    assert logged_since(store, "L", 0) == ((), False)
    assert logged_since(store, "L", 1) == ((), False)
    assert logged_since(store, "L", 2) == ((), True)
    store.import_file("L", write_jsonl(tmp_path / "c.jsonl", [{"type": "md5", "value": C}]))
    assert logged_since(store, "L", 2) == (ids_of(store, "L", C), True)


def test_pruned_every_so_often_as_the_list_changes(
    store: HashListStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows older than the retention go on the list's every PRUNE_EVERY-th change."""
    monkeypatch.setattr(change_log, "LIST_CHANGE_LOG_PRUNE_EVERY", 4)
    monkeypatch.setattr(change_log, "LIST_CHANGE_LOG_RETENTION_DAYS", -1)  # all are old
    store.create("L")
    store.import_file("L", write_jsonl(tmp_path / "a.jsonl", [{"type": "md5", "value": A}]))
    (entry,) = ids_of(store, "L", A)
    for _ in range(3):
        store.set_enabled("L", False, entry_ids=[entry])  # generations 2, 3, 4 (pruned)
    with store.db.connect() as conn:
        ops = conn.execute(select(hash_entry_changes.c.op)).scalars().all()
    assert ops == ["horizon"]  # every row was old: one horizon at generation 4 instead
    assert logged_since(store, "L", 3)[1] is False
    assert logged_since(store, "L", 4) == ((), True)


def test_flood_pauses_resumes_and_hma_content_are_logged(
    store: HashListStore, tmp_path: Path
) -> None:
    store.create("L")
    store.import_file("L", write_jsonl(tmp_path / "a.jsonl", [{"type": "md5", "value": A}]))
    (entry,) = ids_of(store, "L", A)
    generation = store.get("L").generation
    resume(store, "L", [entry], actor="test")  # not paused: nothing changes, nothing logged
    assert store.get("L").generation == generation
    banks = HmaBanks(store)
    bank = banks.bank("L")
    pdq = hma_type("pdq")
    assert bank is not None and pdq is not None
    content = banks.add_content(bank, {pdq: "f" * 64})
    assert logged_since(store, "L", generation) == ((content,), True)
    generation = store.get("L").generation
    item = banks.content(content)
    assert item is not None
    banks.update_content(item, {"note": "reviewed"})
    banks.delete_content(content)
    assert logged_since(store, "L", generation) == ((content,), True)
