"""Helpers for the classification tests: reported items, a workbench, assessments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safelight.hotline.classification import Assessment
from safelight.hotline.reports import ReportStore, Submission
from safelight.hotline.workbench import Workbench
from safelight.lists.store import HashListStore
from safelight.service.audit import AuditLog
from safelight.store import Database

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def flip(hex_value: str, bits: int) -> str:
    """``hex_value`` with its lowest ``bits`` bits flipped (a PDQ that far away)."""
    number = int(hex_value, 16) ^ ((1 << bits) - 1)
    return f"{number:0{len(hex_value)}x}"


def report_items(db: Database, *urls: str) -> tuple[str, list[int]]:
    """A public report of ``urls``: its reference and its items' ids."""
    reports = ReportStore(db)
    submitted = reports.submit(Submission(urls=list(urls)))
    return submitted.reference, [item["id"] for item in reports.items(submitted.reference)]


def item(db: Database, item_id: int) -> dict[str, Any]:
    from sqlalchemy import select

    from safelight.store.hotline_tables import hotline_items

    with db.connect() as conn:
        row = conn.execute(select(hotline_items).where(hotline_items.c.id == item_id)).mappings()
        return dict(row.one())


def bench(db: Database, home: Path, *, four_eyes: bool = True) -> Workbench:
    return Workbench.build(db, AuditLog(db), HashListStore(db), four_eyes=four_eyes, home=home)


def illegal(**changes: Any) -> Assessment:
    values: dict[str, Any] = {
        "age_group": "pre_pubescent",
        "gender": "female",
        "site_type": "image_host",
        "commercial": False,
        "notes": "grid of images",
    }
    values.update(changes)
    return Assessment.parse(values.pop("illegality", "baseline"), **values)


def audit_actions(db: Database) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in AuditLog(db).entries()]
