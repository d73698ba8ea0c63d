"""Item hashes, banking into lists with provenance, and known material pre-classified and
never shown again (docs/hotline.md, "Hashes, banking and known material")."""

from __future__ import annotations

from pathlib import Path

import pytest

from safelight.errors import ConflictError, NotFoundError, UsageError, ValidationError
from safelight.hotline.classification import Assessment, State
from safelight.hotline.item_hashes import parse_hash_lines
from safelight.hotline.known import needs_viewing
from safelight.hotline.list_labels import assessment_of
from safelight.hotline.references import display
from safelight.lists.store import HashListStore
from safelight.scan.model import ItemResult
from safelight.scan.runs import RunStore
from safelight.signals.hashes import PdqHash
from safelight.signals.records import HashRecord
from safelight.store import Database
from tests.hotline_class_support import (
    MD5,
    PDQ,
    audit_actions,
    bench,
    flip,
    illegal,
    item,
    report_items,
)


def test_hash_lines_are_typed_by_the_registry() -> None:
    parsed = parse_hash_lines(f"# from the capture tool\npdq {PDQ.upper()}\n\n{MD5}\n")
    assert [(h.signal_type, h.value) for h in parsed] == [("pdq", PDQ), ("md5", MD5)]
    with pytest.raises(ValidationError) as caught:
        parse_hash_lines(f"pdq {PDQ[:-2]}\n{PDQ}\nmd5 {MD5}\nsha1 zz")
    problems = dict(caught.value.problems)
    assert set(problems) == {"hashes[1]", "hashes[2]", "hashes[4]"}
    assert "64 hex characters" in problems["hashes[1]"]
    assert "pdq" in problems["hashes[2]"] and "sha256" in problems["hashes[2]"]  # ambiguous
    with pytest.raises(ValidationError):
        parse_hash_lines("\n# nothing\n")


def test_hashes_are_stored_once_with_provenance(db: Database, tmp_path: Path) -> None:
    _, (item_id,) = report_items(db, "images.example/a")
    hashes = bench(db, tmp_path).hashes
    first = hashes.add_text(item_id, f"pdq {PDQ}\nmd5 {MD5}", by="user:alice")
    again = hashes.add_text(item_id, f"md5 {MD5.upper()}", by="user:bob")
    assert len(first.added) == 2 and again.added == [] and again.already_present == 1
    stored = hashes.list(item_id)
    assert [(h.signal_type, h.source, h.by) for h in stored] == [
        ("pdq", "analyst", "user:alice"),
        ("md5", "analyst", "user:alice"),
    ]
    with pytest.raises(NotFoundError):
        hashes.add_text(12345, f"md5 {MD5}", by="user:alice")


def test_a_scan_run_gives_its_items_hashes(db: Database, tmp_path: Path) -> None:
    _, (item_id,) = report_items(db, "images.example/scanned")
    runs = RunStore(db)
    run_id = runs.create(["/evidence"], [], {})
    good = HashRecord("page/1.jpg", "photo", 10, {"md5": MD5}, pdq=PdqHash(bytes.fromhex(PDQ), 100))
    flat = HashRecord(
        "page/flat.png", "photo", 10, {"md5": "0" * 32}, pdq=PdqHash(bytes.fromhex(flip(PDQ, 9)), 3)
    )
    runs.record(run_id, [ItemResult(good), ItemResult(flat)])
    added = bench(db, tmp_path).hashes.link_scan(item_id, run_id, by="user:alice")
    got = {(h.signal_type, h.value, h.scan_path) for h in added.added}
    assert got == {
        ("md5", MD5, "page/1.jpg"),
        ("pdq", PDQ, "page/1.jpg"),
        ("md5", "0" * 32, "page/flat.png"),
    }
    assert all(h.source == "scan" and h.scan_run_id == run_id for h in added.added)
    assert added.skipped == ["page/flat.png: pdq quality 3 is below 50: not banked"]
    with pytest.raises(NotFoundError):
        bench(db, tmp_path).hashes.link_scan(item_id, 999, by="user:alice")


def _classified(db: Database, tmp_path: Path, url: str, *, confirm: bool = True) -> int:
    _, (item_id,) = report_items(db, url)
    workbench = bench(db, tmp_path)
    workbench.desk.classify(item_id, illegal(), by="user:alice")
    if confirm:
        workbench.desk.confirm(item_id, 1, by="user:bob")
    return item_id


def test_banking_carries_provenance_and_is_idempotent(db: Database, tmp_path: Path) -> None:
    lists = HashListStore(db)
    lists.create("HOTLINE_CONFIRMED")
    item_id = _classified(db, tmp_path, "images.example/bank")
    workbench = bench(db, tmp_path)
    workbench.add_hashes(item_id, by="user:alice", text=f"pdq {PDQ}\nmd5 {MD5}")
    reference = _reference_of(db, item_id)
    banked = workbench.banker.bank(item_id, "HOTLINE_CONFIRMED", by="user:bob")
    assert len(banked.added) == 2 and banked.already_in_list == []
    entries = lists.find_entries("HOTLINE_CONFIRMED")
    assert {e.signal_type for e in entries} == {"pdq", "md5"}
    for entry in entries:
        assert {
            "hotline:illegality=baseline",
            "INTERPOL baseline",
            "hotline:age_group=pre_pubescent",
            "hotline:gender=female",
            "hotline:site_type=image_host",
            "hotline:commercial=no",
            f"hotline:report={reference}",
            f"hotline:item={item_id}",
        } == set(entry.labels)
        assert entry.note == (
            f"hotline report {display(reference)} item {item_id}: baseline, pre_pubescent, "
            "female, image_host, not commercial (version 1; classified by user:alice, "
            "confirmed by user:bob)"
        )
        info = lists.import_info(entry.import_id)  # type: ignore[arg-type]
        assert info.source_path == f"hotline report {display(reference)} item {item_id}"
        assert info.imported_by == "user:bob"
    generation = lists.get("HOTLINE_CONFIRMED").generation
    again = workbench.banker.bank(item_id, "HOTLINE_CONFIRMED", by="user:bob")
    assert again.added == [] and again.already_banked == 2
    assert len(lists.find_entries("HOTLINE_CONFIRMED")) == 2
    assert lists.get("HOTLINE_CONFIRMED").generation == generation  # nothing touched
    assert [a[1] for a in audit_actions(db)].count("hotline.bank") == 1
    assert workbench.banker.bankings(item_id)[0]["banked_by"] == "user:bob"


def test_an_entry_already_listed_keeps_its_note_and_gains_labels(
    db: Database, tmp_path: Path
) -> None:
    lists = HashListStore(db)
    lists.create("SHARED")
    (tmp_path / "seed.csv").write_text(f"type,value,note\nmd5,{MD5},from a partner\n")
    lists.import_file("SHARED", str(tmp_path / "seed.csv"))
    item_id = _classified(db, tmp_path, "images.example/shared")
    workbench = bench(db, tmp_path)
    workbench.add_hashes(item_id, by="user:alice", text=f"md5 {MD5}")
    banked = workbench.banker.bank(item_id, "SHARED", by="user:bob")
    assert banked.added == [] and len(banked.already_in_list) == 1
    (entry,) = lists.find_entries("SHARED")
    assert entry.note == "from a partner" and "hotline:illegality=baseline" in entry.labels


def test_what_cannot_be_banked(db: Database, tmp_path: Path) -> None:
    lists = HashListStore(db)
    lists.create("BLOCK")
    lists.create("FALSE_POSITIVES", allow=True)
    workbench = bench(db, tmp_path)
    awaiting = _classified(db, tmp_path, "images.example/awaiting", confirm=False)
    workbench.add_hashes(awaiting, by="user:alice", text=f"md5 {MD5}")
    with pytest.raises(ConflictError, match="awaits a second analyst") as caught:
        workbench.banker.bank(awaiting, "BLOCK", by="user:alice")
    assert caught.value.code == "not_bankable"
    _, (unclassified,) = report_items(db, "images.example/unclassified")
    with pytest.raises(ConflictError, match="not classified yet"):
        workbench.banker.bank(unclassified, "BLOCK", by="user:alice")
    no_hashes = _classified(db, tmp_path, "images.example/nohash")
    with pytest.raises(ConflictError) as caught:
        workbench.banker.bank(no_hashes, "BLOCK", by="user:alice")
    assert caught.value.code == "no_hashes"
    workbench.add_hashes(no_hashes, by="user:alice", text=f"md5 {MD5}")
    with pytest.raises(UsageError, match="allow list"):
        workbench.banker.bank(no_hashes, "FALSE_POSITIVES", by="user:alice")
    with pytest.raises(NotFoundError, match="did you mean 'BLOCK'"):
        workbench.banker.bank(no_hashes, "block", by="user:alice")
    _, (harmless,) = report_items(db, "images.example/harmless")
    workbench.desk.classify(harmless, Assessment.parse("not_illegal"), by="user:alice")
    workbench.desk.confirm(harmless, 1, by="user:bob")
    with pytest.raises(ConflictError, match="not illegal"):
        workbench.banker.bank(harmless, "BLOCK", by="user:alice")
    assert lists.find_entries("BLOCK") == []


def test_a_banked_hash_preclassifies_the_next_item(db: Database, tmp_path: Path) -> None:
    HashListStore(db).create("HOTLINE_CONFIRMED")
    first = _classified(db, tmp_path, "images.example/first")
    workbench = bench(db, tmp_path)
    workbench.add_hashes(first, by="user:alice", text=f"pdq {PDQ}")
    banked = workbench.banker.bank(first, "HOTLINE_CONFIRMED", by="user:bob")
    _, (second,) = report_items(db, "mirror.example/copy")
    with db.connect() as conn:
        assert needs_viewing(conn, second)
    # the same picture re-encoded: 10 bits away, within the list's PDQ threshold (31)
    state = workbench.add_hashes(second, by="user:carol", text=f"pdq {flip(PDQ, 10)}")
    assert state["needs_viewing"] is False
    (known,) = state["known"]
    assert (known["list"], known["entry_id"], known["distance"]) == (
        "HOTLINE_CONFIRMED",
        banked.added[0],
        10,
    )
    latest = workbench.desk.latest(second)
    assert latest is not None and latest.state is State.EFFECTIVE and latest.source == "known"
    assert latest.assessment.notes == (
        f"known: pre-classified from list HOTLINE_CONFIRMED entry {banked.added[0]}"
    )
    assert latest.assessment.age_group == illegal().age_group
    shown = item(db, second)
    assert (shown["status"], shown["classification"]) == ("illegal", "baseline")
    assert "hotline.known" in [a[1] for a in audit_actions(db)]
    # checking again records nothing twice and adds no classification
    workbench.known.check(second, by="user:carol")
    assert len(workbench.desk.history(second)) == 1
    assert len(workbench.known_state(second)["known"]) == 1


def test_what_is_not_known(db: Database, tmp_path: Path) -> None:
    lists = HashListStore(db)
    lists.create("UNLABELLED")
    lists.create("LABELLED", pdq_threshold=8)
    lists.create("FALSE_POSITIVES", allow=True)
    (tmp_path / "plain.csv").write_text(f"type,value\nmd5,{MD5}\n")
    lists.import_file("UNLABELLED", str(tmp_path / "plain.csv"))
    (tmp_path / "labelled.csv").write_text(
        f"type,value,labels\npdq,{PDQ},INTERPOL baseline\nmd5,{'a' * 32},INTERPOL baseline\n"
    )
    lists.import_file("LABELLED", str(tmp_path / "labelled.csv"))
    (tmp_path / "fp.csv").write_text(f"type,value\nmd5,{'a' * 32}\n")
    lists.import_file("FALSE_POSITIVES", str(tmp_path / "fp.csv"))
    workbench = bench(db, tmp_path)
    _, (item_id,) = report_items(db, "images.example/unknown")
    # in a list without a classification; beyond the labelled list's threshold (8 < 12);
    # an entry an allow-list entry suppresses (a known false positive)
    state = workbench.add_hashes(
        item_id, by="user:alice", text=f"md5 {MD5}\npdq {flip(PDQ, 12)}\nmd5 {'a' * 32}"
    )
    assert state["known"] == [] and state["needs_viewing"] is True
    assert workbench.desk.history(item_id) == []
    assert item(db, item_id)["status"] == "received"
    state = workbench.add_hashes(item_id, by="user:alice", text=f"pdq {flip(PDQ, 8)}")
    assert [k["list"] for k in state["known"]] == ["LABELLED"]


def test_an_item_classified_first_keeps_its_classification(db: Database, tmp_path: Path) -> None:
    lists = HashListStore(db)
    lists.create("LABELLED")
    (tmp_path / "l.csv").write_text(f"type,value,labels\nmd5,{MD5},hotline:illegality=national\n")
    lists.import_file("LABELLED", str(tmp_path / "l.csv"))
    item_id = _classified(db, tmp_path, "images.example/decided")
    workbench = bench(db, tmp_path)
    state = workbench.add_hashes(item_id, by="user:alice", text=f"md5 {MD5}")
    assert state["needs_viewing"] is False  # known all the same: not shown again
    assert [c.source for c in workbench.desk.history(item_id)] == ["analyst"]


def test_labels_read_back_as_a_classification() -> None:
    assert assessment_of(["series-7", "NCMEC"]) is None
    assert assessment_of(["interpol BASELINE"]).illegality.value == "baseline"  # type: ignore[union-attr]
    mixed = assessment_of(
        [
            "hotline:illegality=not_illegal",
            "hotline:illegality=national",
            "hotline:gender=both",
            "hotline:commercial=yes",
            "hotline:age_group=teen",  # not a value of ours: left out
        ]
    )
    assert mixed is not None
    assert (mixed.illegality.value, mixed.gender, mixed.commercial, mixed.age_group) == (
        "national",
        "both",
        True,
        None,
    )


def _reference_of(db: Database, item_id: int) -> str:
    from sqlalchemy import select

    from safelight.store.hotline_tables import hotline_reports

    report_id = item(db, item_id)["report_id"]
    with db.connect() as conn:
        query = select(hotline_reports.c.reference).where(hotline_reports.c.id == report_id)
        return str(conn.execute(query).scalar_one())


def test_entries_added_together_are_one_import_or_none(db: Database) -> None:
    from safelight.lists.editing import ListEditor

    lists = HashListStore(db)
    lists.create("TOGETHER")
    editor = ListEditor(lists)
    with pytest.raises(ValidationError) as caught, db.begin() as conn:
        editor.add_entries(conn, "TOGETHER", [("md5", MD5), ("pdq", "12")], by="t", source="s")
    assert caught.value.problems[0][0] == "values[1]"
    assert lists.find_entries("TOGETHER") == []
    with db.begin() as conn:
        added = editor.add_entries(
            conn, "TOGETHER", [("md5", MD5), ("pdq", PDQ)], labels=["x"], by="t", source="s"
        )
    assert [new for _, new in added] == [True, True]
    assert len(lists.summary("TOGETHER").imports) == 1


def test_banking_makes_waiting_items_with_the_same_hash_known(db: Database, tmp_path: Path) -> None:
    HashListStore(db).create("HOTLINE_CONFIRMED")
    workbench = bench(db, tmp_path)
    _, (waiting, unrelated) = report_items(db, "a.example/same", "b.example/other")
    workbench.add_hashes(waiting, by="user:carol", text=f"md5 {MD5}")
    workbench.add_hashes(unrelated, by="user:carol", text=f"md5 {'b' * 32}")
    first = _classified(db, tmp_path, "c.example/first")
    workbench.add_hashes(first, by="user:alice", text=f"md5 {MD5}")
    with db.connect() as conn:
        assert needs_viewing(conn, waiting)
    banked = workbench.bank(first, "HOTLINE_CONFIRMED", by="user:bob")
    assert banked["now_known"] == [waiting]
    with db.connect() as conn:
        assert not needs_viewing(conn, waiting) and needs_viewing(conn, unrelated)
    assert item(db, waiting)["status"] == "illegal"
    assert workbench.bank(first, "HOTLINE_CONFIRMED", by="user:bob")["now_known"] == []
