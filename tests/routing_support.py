"""Helpers for the routing and takedown tests: reported items at chosen times, assessed.

Items are reported through the real intake (``ReportStore`` with a clock); what the
resolver and the classification would record (hosting country and network, status
illegal, ``assessed_at``) is written to the item's columns directly, since those parts
belong to other modules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from safelight.hotline.model import ItemStatus
from safelight.hotline.reports import ReportStore, Submission
from safelight.store import Database
from safelight.store.hotline_tables import hotline_item_reports, hotline_items, hotline_reports


def report(db: Database, when: datetime, *urls: str) -> tuple[str, list[int]]:
    """Report ``urls`` at ``when``: the reference and the ids of the items named."""
    store = ReportStore(db, clock=lambda: when)
    reference = store.submit(Submission(urls=list(urls))).reference
    with db.connect() as conn:
        ids = conn.execute(
            select(hotline_item_reports.c.item_id)
            .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
            .where(hotline_reports.c.reference == reference)
            .order_by(hotline_item_reports.c.item_id)
        ).scalars()
        return reference, [int(item_id) for item_id in ids]


def assess(
    db: Database,
    item_id: int,
    *,
    status: ItemStatus = ItemStatus.ILLEGAL,
    country: str | None = None,
    asn: int | None = None,
    network: str | None = None,
    at: datetime | None = None,
) -> None:
    """What the resolver and the classification record on an item."""
    values: dict[str, Any] = {
        "status": status.value,
        "hosting_country": country,
        "hosting_asn": asn,
        "hosting_network": network,
    }
    if at is not None:
        values["assessed_at"] = at
    with db.begin() as conn:
        conn.execute(update(hotline_items).where(hotline_items.c.id == item_id).values(values))


def item_row(db: Database, item_id: int) -> dict[str, Any]:
    with db.connect() as conn:
        row = conn.execute(select(hotline_items).where(hotline_items.c.id == item_id)).mappings()
        return dict(row.one())
