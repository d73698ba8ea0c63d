"""Claiming, assigning and releasing items; locating their hosts; what the item view shows.
SQLite and (SAFELIGHT_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from safelight.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from safelight.hotline import item_view
from safelight.hotline.desk import AnalystDesk
from safelight.hotline.resolver import HostResolver, Outcome
from safelight.service.audit import AuditLog
from safelight.service.roles import Principal, Role
from safelight.service.users import UserStore
from safelight.store import Database
from safelight.store.hotline_tables import hotline_items
from tests.hotline_support import START, Reports, StaticDns, fake_resolver
from tests.service_support import add_user

ALICE = Principal("user", "alice", frozenset({Role.ANALYST}))
BOB = Principal("user", "bob", frozenset({Role.ANALYST}))
ADMIN = Principal("user", "root", frozenset({Role.ADMIN}))
BOT = Principal("token", "bot", frozenset({Role.ANALYST}))


@pytest.fixture
def dns() -> StaticDns:
    return StaticDns()


@pytest.fixture
def desk(db: Database, tmp_path: Path, dns: StaticDns) -> AnalystDesk:
    for name in ("alice", "bob"):
        add_user(db, name, Role.ANALYST)
    add_user(db, "root", Role.ADMIN)
    add_user(db, "auditor", Role.AUDITOR)
    add_user(db, "carol", Role.ANALYST)
    UserStore(db).set_disabled("carol", True, by="test")
    resolver: HostResolver = fake_resolver(tmp_path, dns)
    return AnalystDesk(db, audit=AuditLog(db), resolver=lambda: resolver)


@pytest.fixture
def reports(db: Database) -> Reports:
    return Reports(db)


def new_item(reports: Reports, url: str = "images.example/a", **kwargs: Any) -> int:
    return reports.item_ids(reports.submit(url, **kwargs))[0]


def audit_actions(db: Database, target: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(e.actor, e.action, e.details) for e in AuditLog(db).entries() if e.target == target]


def test_a_claim_takes_the_item_and_locates_it(
    db: Database, desk: AnalystDesk, reports: Reports
) -> None:
    item_id = new_item(reports)
    item = desk.claim(item_id, ALICE)
    assert item["assignee"] == "alice" and item["claimed_at"] is not None
    assert item["status"] == "in_review"
    assert (item["hosting_ip"], item["hosting_country"]) == ("192.0.2.10", "NL")
    assert (item["hosting_asn"], item["hosting_network"]) == (64500, "Example Hosting B.V.")
    assert item["resolved_at"] is not None
    assert [a for _, a, _ in audit_actions(db, f"hotline_item:{item_id}")] == [
        "hotline.claim",
        "hotline.resolve",
    ]
    claim = audit_actions(db, f"hotline_item:{item_id}")[0]
    assert claim[0] == "user:alice"
    assert claim[2] == {"assignee": "alice", "previous": None, "status": "in_review"}
    assert AuditLog(db).verify().ok


def test_claiming_again_changes_nothing(
    db: Database, desk: AnalystDesk, reports: Reports, dns: StaticDns
) -> None:
    item_id = new_item(reports)
    first = desk.claim(item_id, ALICE)
    again = desk.claim(item_id, ALICE)
    assert again["claimed_at"] == first["claimed_at"]
    assert dns.asked == ["images.example"]  # located once; "resolve" locates again
    assert len(audit_actions(db, f"hotline_item:{item_id}")) == 2


def test_an_item_someone_holds_is_a_conflict(desk: AnalystDesk, reports: Reports) -> None:
    item_id = new_item(reports)
    desk.claim(item_id, ALICE)
    with pytest.raises(ConflictError) as caught:
        desk.claim(item_id, BOB)
    assert caught.value.code == "held_by_other"
    assert "held by alice since" in caught.value.message and "admin" in caught.value.message
    with pytest.raises(ConflictError):
        desk.assign(item_id, "bob", BOB)  # an analyst cannot take it either
    with pytest.raises(ConflictError):
        desk.release(item_id, BOB)
    assert desk.item(item_id)["assignee"] == "alice"


def test_an_admin_reassigns_and_releases(db: Database, desk: AnalystDesk, reports: Reports) -> None:
    item_id = new_item(reports)
    desk.claim(item_id, ALICE)
    moved = desk.assign(item_id, "bob", ADMIN)
    assert moved["assignee"] == "bob"
    released = desk.release(item_id, ADMIN)
    assert released["assignee"] is None and released["claimed_at"] is None
    assert released["status"] == "in_review"  # released, not un-reviewed
    actions = audit_actions(db, f"hotline_item:{item_id}")
    assert [(actor, action) for actor, action, _ in actions][-2:] == [
        ("user:root", "hotline.assign"),
        ("user:root", "hotline.release"),
    ]
    assert actions[-2][2] == {"assignee": "bob", "previous": "alice", "status": "in_review"}
    assert actions[-1][2] == {"previous": "bob"}


def test_holders_hand_on_and_release_their_own(desk: AnalystDesk, reports: Reports) -> None:
    item_id = new_item(reports)
    desk.claim(item_id, ALICE)
    assert desk.assign(item_id, "bob", ALICE)["assignee"] == "bob"
    assert desk.release(item_id, BOB)["assignee"] is None
    assert desk.release(item_id, BOB)["assignee"] is None  # releasing an unheld item: no-op
    unheld = new_item(reports, "forum.example/x")
    assert desk.assign(unheld, "alice", BOB)["assignee"] == "alice"  # anyone gives unheld ones
    assert desk.item(unheld)["status"] == "in_review"


@pytest.mark.parametrize(
    ("to", "why"),
    [
        ("nobody", "does not exist"),
        ("auditor", "not an enabled analyst"),
        ("carol", "not an enabled analyst"),
        ("root", "not an enabled analyst"),
    ],
)
def test_items_go_to_enabled_analysts(
    desk: AnalystDesk, reports: Reports, to: str, why: str
) -> None:
    item_id = new_item(reports)
    with pytest.raises(InputError) as caught:
        desk.assign(item_id, to, ADMIN)
    assert caught.value.field == "assignee" and why in caught.value.message
    assert desk.item(item_id)["assignee"] is None


def test_tokens_hold_nothing_and_unknown_items_are_not_found(
    desk: AnalystDesk, reports: Reports
) -> None:
    item_id = new_item(reports)
    for act in (lambda: desk.claim(item_id, BOT), lambda: desk.release(item_id, BOT)):
        with pytest.raises(PermissionDeniedError):
            act()
    with pytest.raises(NotFoundError) as caught:
        desk.claim(999_999, ALICE)
    assert caught.value.code == "unknown_item"


def test_two_analysts_claiming_at_once_end_with_one_holder(
    desk: AnalystDesk, reports: Reports
) -> None:
    item_ids = [new_item(reports, f"files.example/{n}") for n in range(6)]
    outcomes: dict[tuple[str, int], str] = {}
    start = threading.Barrier(2)

    def claim_all(who: Principal) -> None:
        start.wait()
        for item_id in item_ids:
            try:
                desk.claim(item_id, who)
                outcomes[(who.name, item_id)] = "held"
            except ConflictError:
                outcomes[(who.name, item_id)] = "conflict"

    threads = [threading.Thread(target=claim_all, args=(who,)) for who in (ALICE, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for item_id in item_ids:
        results = sorted(outcomes[(name, item_id)] for name in ("alice", "bob"))
        assert results == ["conflict", "held"]
        holder = desk.item(item_id)["assignee"]
        assert outcomes[(holder, item_id)] == "held"


def test_resolving_again_keeps_the_last_good_answer_and_records_failures(
    db: Database, desk: AnalystDesk, reports: Reports, dns: StaticDns
) -> None:
    item_id = new_item(reports, "forum.example/t")
    desk.claim(item_id, ALICE)
    assert desk.item(item_id)["hosting_country"] == "DE"
    dns.table["forum.example"] = Outcome.NXDOMAIN  # the site went away
    found = desk.resolve(item_id, ALICE)
    assert found.outcome == Outcome.NXDOMAIN
    item = desk.item(item_id)
    assert (item["hosting_ip"], item["hosting_country"]) == ("198.51.100.20", "DE")
    dns.table["forum.example"] = ["203.0.113.80"]  # and came back elsewhere
    desk.resolve(item_id, BOB)
    item = desk.item(item_id)
    assert (item["hosting_ip"], item["hosting_country"], item["hosting_asn"]) == (
        "203.0.113.80",
        "JP",
        64502,
    )
    history = desk.view(item_id).resolutions
    assert [r["outcome"] for r in history] == ["resolved", "nxdomain", "resolved"]
    assert [r["actor"] for r in history] == ["user:bob", "user:alice", "user:alice"]
    assert history[0]["addresses"] == [
        {"ip": "203.0.113.80", "country": "JP", "asn": 64502, "network": "Rei Hosting K.K."}
    ]
    assert "forum.example" in history[1]["message"]
    details = [
        d for _, a, d in audit_actions(db, f"hotline_item:{item_id}") if a == "hotline.resolve"
    ]
    assert [d["outcome"] for d in details] == ["resolved", "nxdomain", "resolved"]


def test_an_ip_literal_is_located_without_dns(
    desk: AnalystDesk, reports: Reports, dns: StaticDns
) -> None:
    item_id = new_item(reports, "http://[2001:db8::7]/x")
    assert desk.claim(item_id, ALICE)["hosting_country"] == "FR"
    assert dns.asked == []


def test_the_item_view(
    db: Database, desk: AnalystDesk, reports: Reports, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = new_item(
        reports,
        "images.example/a",
        site_type="image_host",
        description="first",
        contact="me@example.org",
    )
    with db.begin() as conn:  # its item was dealt with and closed
        conn.execute(
            update(hotline_items).where(hotline_items.c.id == first).values(status="removed")
        )
    current = new_item(
        reports,
        "images.example/a",
        at=30,
        site_type="forum",
        description="again",
        contact="secret-contact",
        language="de",
    )
    reports.submit("http://images.example/a", at=31)  # merged into the open item
    new_item(reports, "images.example/b", at=32)
    new_item(reports, "forum.example/elsewhere", at=33)
    # only this section, whichever modules that register theirs were imported before
    monkeypatch.setattr(
        item_view, "_SECTIONS", {"hashes": lambda conn, item: {"known": [], "item": item["id"]}}
    )
    view = desk.view(current)
    out = view.to_dict()
    assert out["item"]["id"] == current and out["item"]["times_reported"] == 2
    assert [r["description"] for r in out["reports"]] == ["again", ""]
    assert out["reports"][0]["site_type"] == "forum" and out["reports"][0]["language"] == "de"
    assert out["reports"][1]["submitted_url"] == "http://images.example/a"
    assert "contact" not in json.dumps(out["reports"][0]) and "secret-contact" not in json.dumps(
        out
    )
    assert [(i["id"], i["status"]) for i in out["same_url"]] == [(first, "removed")]
    assert [i["url"] for i in out["same_host"]["items"]] == ["http://images.example/b"]
    assert out["same_host"]["total"] == 1  # the same URL is counted under same_url only
    assert out["sections"] == {"hashes": {"known": [], "item": current}}
    assert out["resolutions"] == []
    assert datetime.fromisoformat(out["item"]["reported_at"]) == START + timedelta(hours=30)
    with pytest.raises(NotFoundError):
        desk.view(123_456)
