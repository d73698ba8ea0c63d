"""Hotline items for the referral tests: reports submitted through intake, then assessed the
way the workspace records it (status, hosting country and network, classification, times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from safelight.hotline.reports import ReportStore, Submission
from safelight.store import Database
from safelight.store.hotline_tables import hotline_items

CONTACT = "reporter.person@example.org"
DESCRIPTION = "I found this while searching for something else"
REPORTED = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def submit(db: Database, *urls: str, contact: str | None = CONTACT) -> str:
    """A public report naming ``urls`` (with a contact and a description); its reference."""
    store = ReportStore(db, clock=lambda: REPORTED)
    submitted = store.submit(Submission(urls=list(urls), description=DESCRIPTION, contact=contact))
    return submitted.reference


def item_id(db: Database, url: str) -> int:
    with db.connect() as conn:
        found = conn.execute(
            select(hotline_items.c.id).where(hotline_items.c.url.like(f"%{url}%"))
        ).scalar_one()
    return int(found)


def assess(db: Database, url: str, status: str = "illegal", **values: Any) -> int:
    """Record an assessment of the item of ``url``, as the workspace would."""
    defaults: dict[str, Any] = {
        "status": status,
        "hosting_country": "DE",
        "classification": "baseline",
        "assessed_at": REPORTED + timedelta(hours=2),
        "hosting_ip": "203.0.113.7",
        "hosting_asn": 64501,
        "hosting_network": "203.0.113.0/24 Example Hosting GmbH",
        "resolved_at": REPORTED + timedelta(hours=1),
    }
    found = item_id(db, url)
    with db.begin() as conn:
        conn.execute(
            update(hotline_items).where(hotline_items.c.id == found).values(defaults | values)
        )
    return found
