"""The demo's hotline step: a populated workspace seeded through the library, placeholders
only, audited as the demo, once per store (the end-to-end sign-in is in test_demo_serve)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from safelight.demo import hotline_story as story
from safelight.demo.hotline import ACCOUNTS, DEMO_ACTOR, RESOLVER_SOURCE, seed_hotline
from safelight.errors import AuthenticationError
from safelight.hotline.classification import KNOWN, ClassificationDesk, State
from safelight.hotline.i18n import LANGUAGES
from safelight.hotline.metrics import load_metrics
from safelight.hotline.reports import ReportStore, Submission
from safelight.hotline.routing import RouteReason, RoutingPolicy
from safelight.hotline.takedown import EventKind, Takedown
from safelight.lists import HashListStore
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.service.users import UserStore
from safelight.store import Database
from safelight.store.hotline_media_tables import hotline_captures
from safelight.store.hotline_queue_tables import hotline_resolutions
from safelight.store.hotline_tables import hotline_contacts, hotline_items, hotline_reports
from safelight.store.routing_tables import hotline_partners
from tests.service_support import PASSWORD

RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
TEST_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def reserved_host(host: str) -> bool:
    if any(host == name or host.endswith("." + name) for name in RESERVED_DOMAINS):
        return True
    return any(ipaddress.ip_address(host) in net for net in TEST_NETS)


def contact_host(contact: str) -> str:
    return contact.partition("@")[2] if "@" in contact else urlsplit(contact).hostname or ""


def items_by_url(db: Database) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    with db.connect() as conn:
        for row in conn.execute(select(hotline_items).order_by(hotline_items.c.id)).mappings():
            found.setdefault(row["url"], []).append(dict(row))
    return found


def test_the_demo_workspace_is_seeded_through_the_library(db: Database, tmp_path: Path) -> None:
    demo = seed_hotline(db, home=str(tmp_path / "home"))
    assert demo.seeded and demo.password and demo.reports == 9
    assert demo.statuses == {
        "received": 3,
        "in_review": 2,
        "not_illegal": 1,
        "illegal": 2,
        "referred": 2,
        "removed": 5,
    }
    items = items_by_url(db)
    one = {url: rows[-1] for url, rows in items.items()}
    with db.connect() as conn:
        languages = set(conn.execute(select(hotline_reports.c.language)).scalars())
        partners = conn.execute(select(hotline_partners)).mappings().all()
        located = select(hotline_resolutions.c.source, hotline_resolutions.c.outcome)
        sources = {tuple(row) for row in conn.execute(located)}
        captures = conn.execute(select(func.count()).select_from(hotline_captures)).scalar_one()
        contacts = conn.execute(select(func.count()).select_from(hotline_contacts)).scalar_one()
    assert languages == set(LANGUAGES) and contacts == 1 and captures == 0  # media stays off
    # Placeholders only: reserved names, documentation addresses and AS numbers.
    for rows in items.values():
        for item in rows:
            assert reserved_host(item["host"]), item["url"]
            assert item["hosting_ip"] is None or reserved_host(item["hosting_ip"])
            assert item["hosting_asn"] is None or 64496 <= item["hosting_asn"] <= 64511
    assert all(reserved_host(contact_host(partner["contact"])) for partner in partners)
    assert sources == {(RESOLVER_SOURCE, "resolved"), ("", "nxdomain")}  # the table, no DNS
    assert one["https://gone.example.net/invite/abc"]["hosting_country"] is None
    # One URL reported twice while open is one item; one reported again after removal is two.
    assert one["https://blog.example.org/2024/05/post"]["times_reported"] == 2
    again = items["http://www.example.com/gallery/12"]
    assert [item["status"] for item in again] == ["removed", "received"]
    # Four eyes: amira's classification awaits bruno; bruno holds an unclassified item.
    desk = ClassificationDesk(db, AuditLog(db))
    awaiting = desk.latest(one["https://blog.example.org/2024/05/post"]["id"])
    assert awaiting is not None and awaiting.state is State.AWAITING and awaiting.by == "user:amira"
    held = one["https://files.example.com/d/9q2"]
    assert (held["status"], held["assignee"]) == ("in_review", "bruno")
    # Banked, and a later item with the same hashes known from the bank list.
    banked = list(HashListStore(db).find_entries(story.DEMO_BANK_LIST))
    assert {entry.signal_type for entry in banked} == {"pdq", "md5"}
    known = desk.latest(one["https://img.example.net/a/99e0"]["id"])
    assert known is not None and known.source == KNOWN
    assert known.known_list == story.DEMO_BANK_LIST and known.state is State.EFFECTIVE
    # Every routing rule appears; the JP item would go to the fallback (JP's hotline is inactive).
    takedown = Takedown(db, AuditLog(db), RoutingPolicy(story.OWN_COUNTRY, story.FALLBACK_PARTNER))
    reasons = {
        event.reason
        for rows in items.values()
        for item in rows
        for event in takedown.item_timeline(item["id"])
        if event.event == EventKind.REFERRED
    }
    assert reasons == {"national", "partner_hotline", "partner_law_enforcement"}
    jp = takedown.suggest(one["http://203.0.113.77/album/"]["id"])
    assert jp.reason == RouteReason.FALLBACK and jp.partner.name == story.FALLBACK_PARTNER
    notified = one["https://files.example.com/d/5m1"]
    assert notified["status"] == "referred" and notified["notice_count"] == 3
    # The metrics have removals in more than one month and country.
    metrics = load_metrics(db)
    assert metrics.total.removed == 5 and metrics.total.median_days is not None
    assert len([row for row in metrics.months if row.removed]) >= 2
    assert {row.key for row in metrics.countries if row.removed} == {"NL", "DE", "US"}
    assert metrics.total.within[3].removed == 2 and metrics.total.within[7].removed == 4
    # The audit trail holds, and names the demo as the actor of every entry.
    log = AuditLog(db)
    assert log.verify().ok
    entries = list(log.entries())
    assert {entry.actor for entry in entries} == {DEMO_ACTOR}
    acting = {entry.details.get("demo_acting_as") for entry in entries}
    assert acting == {None, "user:amira", "user:bruno"}
    assert {"hotline.classify", "hotline.confirm", "hotline.refer", "hotline.bank"} <= {
        entry.action for entry in entries
    }


def test_a_second_run_gives_the_demo_accounts_a_new_password(db: Database, tmp_path: Path) -> None:
    first = seed_hotline(db, home=str(tmp_path / "home"))
    again = seed_hotline(db, home=str(tmp_path / "home"))
    assert not again.seeded and again.password and again.password != first.password
    assert (again.reports, again.statuses) == (first.reports, first.statuses)  # nothing twice
    users = UserStore(db)
    roles = {name: users.authenticate(name, again.password).roles for name in ACCOUNTS}
    assert roles == {
        "amira": {Role.ANALYST},
        "bruno": {Role.ANALYST},
        "admin": {Role.ADMIN},
    }
    with pytest.raises(AuthenticationError):
        users.authenticate("amira", first.password or "")


@pytest.mark.parametrize("in_use", ["a user", "users named as the demo's", "a report"])
def test_a_store_in_use_is_left_alone(db: Database, tmp_path: Path, in_use: str) -> None:
    users = UserStore(db)
    if in_use == "a report":
        ReportStore(db).submit(Submission(urls=["https://example.org/x"]))
    else:
        names = ACCOUNTS if in_use.startswith("users") else ("someone",)
        for name in names:
            users.add(name, PASSWORD, frozenset({Role.ADMIN}), by="cli:test")
    demo = seed_hotline(db, home=str(tmp_path / "home"))
    assert not demo.seeded and demo.password is None and "seeds only a new store" in demo.note
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(hotline_partners)).scalar_one() == 0
        reports = conn.execute(select(func.count()).select_from(hotline_reports)).scalar_one()
    assert reports == (1 if in_use == "a report" else 0)
    for user in users.list():  # their passwords are theirs still
        assert users.authenticate(user.username, PASSWORD).username == user.username
