"""The partners directory, referral and takedown steps, and timelines, on the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from safelight.errors import ConflictError, InputError, NotFoundError
from safelight.hotline.classification import ClassificationDesk
from safelight.hotline.model import ItemStatus
from safelight.hotline.partners import PartnerDirectory, PartnerRejected
from safelight.hotline.routing import RouteReason, RoutingError, RoutingPolicy
from safelight.hotline.takedown import EventKind, Takedown
from safelight.service.audit import AuditLog
from safelight.store import Database
from tests.hotline_class_support import illegal
from tests.routing_support import assess, item_row, report

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
ADMIN, ANALYST = "user:admin", "user:ana"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def desk(db: Database) -> Takedown:
    db.migrate()
    takedown = Takedown(db, AuditLog(db), RoutingPolicy("GB", "INTERPOL"), clock=Clock(NOW))
    add = takedown.partners.add
    add(
        ADMIN,
        {"country": "GB", "kind": "law_enforcement", "name": "NCA", "contact": "ops@nca.example"},
    )
    add(
        ADMIN,
        {
            "country": "DE",
            "kind": "hotline",
            "name": "eco",
            "contact": "https://eco.example/report",
        },
    )
    add(
        ADMIN,
        {
            "country": "FR",
            "kind": "law_enforcement",
            "name": "INTERPOL",
            "contact": "mailto:cac@interpol.example",
        },
    )
    return takedown


def illegal_item(db: Database, country: str | None, *, url: str = "bad.example/x") -> int:
    _, (item_id,) = report(db, T0, url)
    assess(db, item_id, country=country, at=T0 + timedelta(hours=2))
    return item_id


def audit_actions(db: Database) -> list[tuple[str, str, str, dict[str, Any]]]:
    log = AuditLog(db)
    assert log.verify().ok
    return [(e.actor, e.action, e.target, e.details) for e in log.entries()]


# --- partners ----------------------------------------------------------------------------


def test_partners_are_added_listed_changed_and_audited(desk: Takedown, db: Database) -> None:
    directory = desk.partners
    assert [p.name for p in directory.all()] == ["eco", "INTERPOL", "NCA"]  # by country
    assert directory.all(country="de")[0].contact == "https://eco.example/report"
    interpol = directory.by_name("  interpol ")
    assert interpol is not None and interpol.contact == "cac@interpol.example"  # mailto: dropped
    changed = directory.update(ADMIN, interpol.id, {"notes": "24/7 desk", "active": False})
    assert changed.notes == "24/7 desk" and not changed.active and changed.updated_by == ADMIN
    unchanged = directory.update(ADMIN, interpol.id, {"notes": "24/7 desk"})
    assert unchanged == changed  # nothing changed: nothing written, nothing audited
    assert [p.name for p in directory.all(active_only=True)] == ["eco", "NCA"]
    entries = audit_actions(db)
    assert [e[1] for e in entries] == ["partner.add"] * 3 + ["partner.update"]
    assert entries[0][2].startswith("partner:") and entries[0][3]["country"] == "GB"
    assert entries[-1][3] == {
        "notes": {"from": "", "to": "24/7 desk"},
        "active": {"from": True, "to": False},
    }


def test_bad_partner_fields_are_all_named(desk: Takedown) -> None:
    with pytest.raises(PartnerRejected) as caught:
        desk.partners.add(
            ADMIN,
            {"country": "UK", "kind": "police", "name": "  ", "contact": "javascript:alert(1)"},
        )
    fields = {p.field: p.code for p in caught.value.partner_problems}
    assert fields == {
        "country": "country",
        "kind": "kind",
        "name": "name_empty",
        "contact": "contact",
    }
    assert "the United Kingdom is GB" in caught.value.message
    with pytest.raises(PartnerRejected) as missing:
        desk.partners.add(ADMIN, {"country": "DE"})
    assert {p.field for p in missing.value.partner_problems} == {"kind", "name", "contact"}
    with pytest.raises(PartnerRejected) as active:
        desk.partners.update(ADMIN, 1, {"active": "yes", "colour": "red"})
    assert {p.field for p in active.value.partner_problems} == {"active", "colour"}
    for contact in ("not an address", "a@b", "https://", "ftp://files.example"):
        with pytest.raises(PartnerRejected):
            desk.partners.update(ADMIN, 1, {"contact": contact})


def test_partner_names_are_unique_whatever_their_case(desk: Takedown) -> None:
    with pytest.raises(ConflictError) as caught:
        desk.partners.add(
            ADMIN, {"country": "US", "kind": "hotline", "name": "ECO", "contact": "a@b.example"}
        )
    assert caught.value.code == "partner_exists" and caught.value.field == "name"
    eco = desk.partners.by_name("eco")
    assert eco is not None
    with pytest.raises(ConflictError):
        desk.partners.update(ADMIN, eco.id, {"name": "nca"})
    with pytest.raises(NotFoundError):
        desk.partners.update(ADMIN, 999, {"notes": "x"})


# --- referral ----------------------------------------------------------------------------


def test_referral_at_home_notifies_law_enforcement(desk: Takedown, db: Database) -> None:
    item_id = illegal_item(db, "GB")
    assert desk.suggest(item_id).reason == RouteReason.NATIONAL
    at = T0 + timedelta(hours=3)
    routing = desk.refer(ANALYST, item_id, at=at, note="urgent")
    assert routing.partner.name == "NCA" and routing.notify_host
    row = item_row(db, item_id)
    assert row["status"] == ItemStatus.REFERRED.value
    assert _utc(row["le_notified_at"]) == at
    actor, action, target, details = audit_actions(db)[-1]
    assert (actor, action, target) == (ANALYST, "hotline.refer", f"item:{item_id}")
    assert details["reason"] == "national" and details["partner"] == "NCA"
    assert details["at"] == at.isoformat()


def test_referral_abroad_forwards_to_the_hotline(desk: Takedown, db: Database) -> None:
    item_id = illegal_item(db, "DE")
    routing = desk.refer(ANALYST, item_id)
    assert routing.reason == RouteReason.PARTNER_HOTLINE and not routing.notify_host
    row = item_row(db, item_id)
    assert row["status"] == "referred" and row["le_notified_at"] is None
    # the hotline declines; escalate to INTERPOL: a second referral, law enforcement now
    interpol = desk.partners.by_name("INTERPOL")
    assert interpol is not None
    again = desk.refer(ANALYST, item_id, partner_id=interpol.id)
    assert again.reason == RouteReason.ANALYST_CHOICE and again.alternatives[0].name == "eco"
    assert _utc(item_row(db, item_id)["le_notified_at"]) == NOW
    with pytest.raises(ConflictError) as twice:
        desk.refer(ANALYST, item_id, partner_id=interpol.id)
    assert twice.value.code == "already_referred"


def test_an_item_with_no_partner_goes_to_the_fallback(desk: Takedown, db: Database) -> None:
    item_id = illegal_item(db, "US")
    assert desk.refer(ANALYST, item_id).partner.name == "INTERPOL"


def test_what_cannot_be_referred(desk: Takedown, db: Database) -> None:
    unknown = illegal_item(db, None, url="a.example/1")
    with pytest.raises(RoutingError) as caught:
        desk.refer(ANALYST, unknown, partner_id=1)  # no choosing round an unresolved host
    assert caught.value.code == "hosting_unknown" and caught.value.field == "hosting_country"
    _, (received,) = report(db, T0, "b.example/2")
    with pytest.raises(ConflictError) as early:
        desk.refer(ANALYST, received)
    assert early.value.code == "wrong_status" and "received, not assessed illegal" in str(
        early.value
    )
    item_id = illegal_item(db, "DE", url="c.example/3")
    with pytest.raises(InputError) as before:
        desk.refer(ANALYST, item_id, at=T0 + timedelta(hours=1))  # reported, not yet assessed
    assert before.value.field == "referred_at" and "before the item was assessed" in str(
        before.value
    )
    with pytest.raises(InputError) as future:
        desk.refer(ANALYST, item_id, at=NOW + timedelta(seconds=1))
    assert future.value.code == "in_future" and future.value.field == "referred_at"
    with pytest.raises(NotFoundError):
        desk.refer(ANALYST, 12345)
    with pytest.raises(InputError) as long_note:
        desk.refer(ANALYST, item_id, note="x" * 5000)
    assert long_note.value.field == "note"
    assert item_row(db, item_id)["status"] == "illegal"  # nothing half-done
    assert all(entry[1] != "hotline.refer" for entry in audit_actions(db))


# --- takedown ----------------------------------------------------------------------------


def test_notices_removal_and_the_timeline(desk: Takedown, db: Database) -> None:
    reference, (item_id,) = report(db, T0, "host.example/p")
    second, _ = report(db, T0 + timedelta(hours=1), "host.example/p")  # merged into it
    assess(db, item_id, country="GB", at=T0 + timedelta(hours=2))
    desk.refer(ANALYST, item_id, at=T0 + timedelta(hours=3))
    assert desk.notify_host(ANALYST, item_id, at=T0 + timedelta(hours=3)) == 1
    assert desk.notify_host(ANALYST, item_id, at=T0 + timedelta(days=1, hours=3)) == 2
    with pytest.raises(InputError) as resent:
        desk.notify_host(ANALYST, item_id, at=T0 + timedelta(hours=4))
    assert resent.value.field == "hp_notified_at" and "previous notice" in str(resent.value)
    assert desk.recheck(ANALYST, item_id, online=True, at=T0 + timedelta(days=2)) == (
        EventKind.STILL_ONLINE
    )
    with pytest.raises(InputError) as before_check:
        desk.recheck(ANALYST, item_id, online=False, at=T0 + timedelta(days=1))
    assert before_check.value.field == "removed_at"
    removed_at = T0 + timedelta(days=2, hours=6)
    assert desk.recheck(ANALYST, item_id, online=False, at=removed_at) == EventKind.REMOVED
    row = item_row(db, item_id)
    assert row["status"] == "removed" and _utc(row["removed_at"]) == removed_at
    assert row["notice_count"] == 2 and _utc(row["hp_notified_at"]) == T0 + timedelta(hours=3)
    with pytest.raises(ConflictError) as done:
        desk.notify_host(ANALYST, item_id)
    assert done.value.code == "wrong_status" and "recorded as removed" in str(done.value)

    timeline = desk.item_timeline(item_id)
    assert [(e.event.value, e.occurred_at - T0) for e in timeline] == [
        ("reported", timedelta(0)),
        ("reported", timedelta(hours=1)),
        ("assessed", timedelta(hours=2)),
        ("referred", timedelta(hours=3)),  # same moment as the first notice: referred first
        ("host_notified", timedelta(hours=3)),
        ("host_notified", timedelta(days=1, hours=3)),
        ("still_online", timedelta(days=2)),
        ("removed", timedelta(days=2, hours=6)),
    ]
    assert [e.reference for e in timeline[:2]] == [reference, second]
    assert timeline[3].partner == {
        "id": 1,
        "name": "NCA",
        "country": "GB",
        "kind": "law_enforcement",
    }
    assert timeline[3].reason == "national" and timeline[3].actor == ANALYST
    assert [e.notice for e in timeline[4:6]] == [1, 2]
    assert timeline[-1].recorded_at == NOW and timeline[-1].to_dict()["event"] == "removed"
    assert [e[1] for e in audit_actions(db)][-5:] == [
        "hotline.refer",
        "hotline.host_notice",
        "hotline.host_notice",
        "hotline.recheck",
        "hotline.recheck",
    ]
    assert [e.event for e in desk.report_timeline(second)] == [e.event for e in timeline]


def test_a_reports_timeline_covers_all_its_items(desk: Takedown, db: Database) -> None:
    reference, (first, other) = report(db, T0, "x.example/1", "y.example/2")
    assess(db, other, country="DE", at=T0)  # same moment as the report
    desk.refer(ANALYST, other, at=T0)
    events = desk.report_timeline(reference.lower())
    assert [(e.item_id, e.event.value) for e in events] == [
        (first, "reported"),
        (other, "reported"),
        (other, "assessed"),
        (other, "referred"),
    ]
    assert events[0].url == "http://x.example/1"
    with pytest.raises(NotFoundError):
        desk.report_timeline("ABCDE-FGHJK")


def test_the_assessed_step_names_who_classified_and_who_confirmed(
    desk: Takedown, db: Database
) -> None:
    reference, (four_eyes, known, alone) = report(db, T0, "a.example/1", "b.example/2", "c.example")
    classes = ClassificationDesk(db, AuditLog(db), clock=Clock(T0 + timedelta(hours=1)))
    classes.classify(four_eyes, illegal(), by="user:alice")
    classes.clock = Clock(T0 + timedelta(hours=3))
    classes.confirm(four_eyes, 1, by="user:bob")  # takes effect now: the item is assessed
    with db.begin() as conn:  # what the known-material check records
        classes.record(conn, known, illegal(), by="user:carol", known=("HOTLINE_CONFIRMED", 7))
    alone_desk = ClassificationDesk(
        db, AuditLog(db), four_eyes=False, clock=Clock(T0 + timedelta(hours=4))
    )
    alone_desk.classify(alone, illegal(), by="user:dan")
    assessed = {
        e.item_id: e for e in desk.report_timeline(reference) if e.event is EventKind.ASSESSED
    }
    assert assessed[four_eyes].occurred_at == T0 + timedelta(hours=3)
    assert (assessed[four_eyes].actor, assessed[four_eyes].confirmed_by) == (
        "user:alice",
        "user:bob",
    )
    assert assessed[four_eyes].to_dict()["confirmed_by"] == "user:bob"
    assert (assessed[known].actor, assessed[known].confirmed_by) == ("user:carol", None)
    assert assessed[known].known == {"list": "HOTLINE_CONFIRMED", "entry_id": 7}
    assert assessed[known].to_dict()["known"] == {"list": "HOTLINE_CONFIRMED", "entry_id": 7}
    assert (assessed[alone].actor, assessed[alone].confirmed_by) == ("user:dan", None)
    assert [e.actor for e in desk.item_timeline(four_eyes) if e.event.value == "assessed"] == [
        "user:alice"
    ]


def test_takedown_times_are_checked(desk: Takedown, db: Database) -> None:
    item_id = illegal_item(db, "DE")
    cases: list[tuple[Any, str, str]] = [
        (
            lambda: desk.recheck(ANALYST, item_id, online=False, at=T0 - timedelta(days=1)),
            "removed_at",
            "before the item was reported",
        ),
        (
            lambda: desk.recheck(ANALYST, item_id, online=False, at=NOW + timedelta(days=1)),
            "removed_at",
            "in the future",
        ),
        (
            lambda: desk.recheck(ANALYST, item_id, online=True, at=T0 - timedelta(minutes=1)),
            "checked_at",
            "before the item was reported",
        ),
        (
            lambda: desk.notify_host(ANALYST, item_id, at=T0 - timedelta(seconds=1)),
            "hp_notified_at",
            "before the item was reported",
        ),
    ]
    for action, field, words in cases:
        with pytest.raises(InputError) as caught:
            action()
        assert caught.value.field == field and words in caught.value.message
        assert caught.value.message.startswith(field)
    # a time without a zone is UTC
    desk.recheck(ANALYST, item_id, online=False, at=datetime(2025, 3, 5, 10, 0))
    assert _utc(item_row(db, item_id)["removed_at"]) == datetime(2025, 3, 5, 10, 0, tzinfo=UTC)


def test_a_removal_can_be_recorded_before_any_referral(desk: Takedown, db: Database) -> None:
    item_id = illegal_item(db, "DE")  # the host took it down by itself
    desk.recheck(ANALYST, item_id, online=False, at=T0 + timedelta(hours=5))
    assert item_row(db, item_id)["status"] == "removed"
    with pytest.raises(ConflictError):
        desk.refer(ANALYST, item_id)


def test_a_partner_directory_alone_needs_no_takedown(db: Database) -> None:
    db.migrate()
    directory = PartnerDirectory(db, AuditLog(db))
    made = directory.add(
        ADMIN, {"country": "jp", "kind": "hotline", "name": "IHC", "contact": "https://ihc.example"}
    )
    assert made.country == "JP" and made.active and directory.get(made.id) == made


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
