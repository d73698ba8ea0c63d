"""Classification rules: what an analyst must record, four eyes, disagreement, history, and
what the item shows (docs/hotline.md, "Classification")."""

from __future__ import annotations

from pathlib import Path

import pytest

from safelight.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from safelight.hotline.classification import (
    AgeGroup,
    Assessment,
    Gender,
    Illegality,
    State,
)
from safelight.hotline.model import SiteType
from safelight.hotline.reports import ReportStore
from safelight.service.audit import AuditLog
from safelight.store import Database
from tests.hotline_class_support import audit_actions, bench, illegal, item, report_items


def test_an_assessment_names_every_problem_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        Assessment.parse("baseline", age_group="toddler", notes="x" * 5001)
    fields = dict(caught.value.problems)
    assert fields["age_group"].startswith("one of: infant, pre_pubescent, pubescent, unknown")
    assert fields["gender"] == "required for illegal material"
    assert fields["site_type"] == "required for illegal material"
    assert fields["commercial"] == "required for illegal material"
    assert fields["notes"] == "at most 5000 characters"
    with pytest.raises(ValidationError) as caught:
        Assessment.parse(None)
    assert caught.value.problems == [("illegality", "required")]
    with pytest.raises(ValidationError) as caught:
        Assessment.parse("illegal-ish")
    assert caught.value.problems[0][0] == "illegality"


def test_not_illegal_needs_no_victim_details_and_unknown_is_an_answer() -> None:
    assert Assessment.parse("not_illegal").illegality is Illegality.NOT_ILLEGAL
    parsed = Assessment.parse(
        "national", age_group="unknown", gender="unknown", site_type="forum", commercial=True
    )
    assert (parsed.age_group, parsed.gender, parsed.site_type, parsed.commercial) == (
        AgeGroup.UNKNOWN,
        Gender.UNKNOWN,
        SiteType.FORUM,
        True,
    )


def test_four_eyes_a_second_analyst_confirms(db: Database, tmp_path: Path) -> None:
    _, (item_id,) = report_items(db, "images.example/gallery")
    desk = bench(db, tmp_path).desk
    made = desk.classify(item_id, illegal(), by="user:alice")
    assert made.state is State.AWAITING and made.version == 1
    shown = item(db, item_id)
    assert (shown["status"], shown["classification"], shown["assessed_at"]) == (
        "in_review",
        None,
        None,
    )
    confirmed = desk.confirm(item_id, 1, by="user:bob")
    assert confirmed.state is State.CONFIRMED
    assert confirmed.classifiers == ["user:alice", "user:bob"]
    shown = item(db, item_id)
    assert (shown["status"], shown["classification"]) == ("illegal", "baseline")
    assert shown["assessed_at"] is not None
    assert [a[1] for a in audit_actions(db)] == ["hotline.classify", "hotline.confirm"]
    assert AuditLog(db).verify().ok


def test_an_analyst_never_confirms_their_own(db: Database, tmp_path: Path) -> None:
    _, (item_id,) = report_items(db, "images.example/own")
    desk = bench(db, tmp_path).desk
    desk.classify(item_id, illegal(), by="user:alice")
    with pytest.raises(PermissionDeniedError) as caught:
        desk.confirm(item_id, 1, by="user:alice")
    assert caught.value.code == "own_classification"
    with pytest.raises(PermissionDeniedError):
        desk.disagree(item_id, 1, by="user:alice", reason="changed my mind")
    with pytest.raises(PermissionDeniedError) as caught:
        desk.confirm(item_id, 1, by="token:robot")
    assert caught.value.code == "review_needs_a_person"
    assert item(db, item_id)["status"] == "in_review"
    assert desk.latest(item_id).state is State.AWAITING  # type: ignore[union-attr]


def test_disagreement_needs_a_reason_and_sends_the_item_back(db: Database, tmp_path: Path) -> None:
    _, (item_id,) = report_items(db, "images.example/disputed")
    desk = bench(db, tmp_path).desk
    desk.classify(item_id, illegal(illegality="national"), by="user:alice")
    with pytest.raises(ValidationError) as caught:
        desk.disagree(item_id, 1, by="user:bob", reason="  ")
    assert caught.value.problems == [("reason", "required")]
    disputed = desk.disagree(item_id, 1, by="user:bob", reason="adult, not a child")
    assert disputed.state is State.DISAGREED
    assert disputed.review is not None and disputed.review.reason == "adult, not a child"
    assert item(db, item_id)["status"] == "in_review"
    with pytest.raises(ConflictError) as caught_conflict:
        desk.confirm(item_id, 1, by="user:carol")
    assert caught_conflict.value.code == "not_awaiting_confirmation"
    assert "disagreed by user:bob" in caught_conflict.value.message
    # classified again (by the one who disagreed), confirmed by the first analyst
    desk.classify(item_id, Assessment.parse("not_illegal", notes="adult"), by="user:bob")
    desk.confirm(item_id, 2, by="user:alice")
    shown = item(db, item_id)
    assert (shown["status"], shown["classification"]) == ("not_illegal", "not_illegal")
    history = desk.history(item_id)
    assert [(c.version, c.state, c.by) for c in history] == [
        (1, State.DISAGREED, "user:alice"),
        (2, State.CONFIRMED, "user:bob"),
    ]
    actions = [a[1] for a in audit_actions(db)]
    assert actions == [
        "hotline.classify",
        "hotline.disagree",
        "hotline.classify",
        "hotline.confirm",
    ]


def test_only_the_latest_version_is_confirmed(db: Database, tmp_path: Path) -> None:
    _, (item_id,) = report_items(db, "images.example/changed")
    desk = bench(db, tmp_path).desk
    desk.classify(item_id, illegal(), by="user:alice")
    desk.classify(item_id, illegal(age_group="infant"), by="user:alice")
    with pytest.raises(ConflictError) as caught:
        desk.confirm(item_id, 1, by="user:bob")
    assert caught.value.code == "classification_changed"
    assert desk.confirm(item_id, 2, by="user:bob").assessment.age_group is AgeGroup.INFANT


def test_a_change_under_review_keeps_the_standing_classification(
    db: Database, tmp_path: Path
) -> None:
    _, (item_id,) = report_items(db, "images.example/reclassified")
    desk = bench(db, tmp_path).desk
    desk.classify(item_id, illegal(), by="user:alice")
    desk.confirm(item_id, 1, by="user:bob")
    first_assessed = item(db, item_id)["assessed_at"]
    desk.classify(item_id, illegal(illegality="national"), by="user:bob")
    shown = item(db, item_id)
    assert (shown["status"], shown["classification"]) == ("in_review", "baseline")
    desk.confirm(item_id, 2, by="user:alice")
    shown = item(db, item_id)
    assert (shown["status"], shown["classification"]) == ("illegal", "national")
    assert shown["assessed_at"] == first_assessed  # time to assessment counts the first


def test_four_eyes_off_takes_effect_at_once(db: Database, tmp_path: Path) -> None:
    reference, (item_id,) = report_items(db, "images.example/solo")
    desk = bench(db, tmp_path, four_eyes=False).desk
    made = desk.classify(item_id, Assessment.parse("not_illegal"), by="user:alice")
    assert made.state is State.EFFECTIVE and not made.needs_confirmation
    assert item(db, item_id)["status"] == "not_illegal"
    assert ReportStore(db).status(reference).status.value == "completed"
    with pytest.raises(ConflictError) as caught:
        desk.confirm(item_id, 1, by="user:bob")
    assert "needs no confirmation" in caught.value.message


def test_unknown_items_and_unclassified_items(db: Database, tmp_path: Path) -> None:
    desk = bench(db, tmp_path).desk
    with pytest.raises(NotFoundError) as caught:
        desk.classify(999, illegal(), by="user:alice")
    assert caught.value.code == "unknown_item"
    _, (item_id,) = report_items(db, "images.example/new")
    with pytest.raises(ConflictError) as caught_conflict:
        desk.confirm(item_id, 1, by="user:bob")
    assert caught_conflict.value.code == "unclassified"
    assert desk.history(item_id) == []


def test_a_later_stage_keeps_its_status(db: Database, tmp_path: Path) -> None:
    from sqlalchemy import update

    from safelight.store.hotline_tables import hotline_items

    _, (item_id,) = report_items(db, "images.example/referred")
    desk = bench(db, tmp_path, four_eyes=False).desk
    desk.classify(item_id, illegal(), by="user:alice")
    with db.begin() as conn:
        conn.execute(
            update(hotline_items).where(hotline_items.c.id == item_id).values(status="referred")
        )
    desk.classify(item_id, illegal(illegality="national"), by="user:bob")
    shown = item(db, item_id)
    assert (shown["status"], shown["classification"]) == ("referred", "national")
