"""What an analyst sees of one item: the item, the reports that named it, what came before.

- ``reports``: every report that named the item, with what its reporter said (site type,
  description, language, the URL as typed) and never the reporter's contact, which stays
  in ``hotline_contacts`` (personal data, retention-limited);
- ``same_url``: earlier items of the same URL (same ``url_key``: a URL reported again
  after its item was closed becomes a new item), with how each ended;
- ``same_host``: other URLs reported on the same host (the newest HOTLINE_RELATED_ITEMS,
  and how many in all);
- ``resolutions``: the attempts to locate the host, newest first;
- ``sections``: what other parts of the workspace add, by key (``register_item_section``):
  ``hashes`` (the item's hashes and known matches, from ``hotline.known``) and ``timeline``
  (its takedown timeline, from ``hotline.takedown``), where those modules are loaded (the
  service loads them all).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from safelight.constants import HOTLINE_RELATED_ITEMS
from safelight.errors import NotFoundError
from safelight.hotline.model import utc
from safelight.store.hotline_queue_tables import hotline_resolutions
from safelight.store.hotline_tables import hotline_item_reports, hotline_items, hotline_reports

# (connection, item row) -> JSON-serialisable data shown under the section's key.
ItemSection = Callable[[Connection, dict[str, Any]], Any]
_SECTIONS: dict[str, ItemSection] = {}
RELATED_COLUMNS = (
    hotline_items.c.id,
    hotline_items.c.url,
    hotline_items.c.status,
    hotline_items.c.classification,
    hotline_items.c.times_reported,
    hotline_items.c.reported_at,
    hotline_items.c.assessed_at,
    hotline_items.c.removed_at,
    hotline_items.c.hosting_country,
)


def register_item_section(key: str, load: ItemSection) -> None:
    """Add ``load``'s answer to every item view under ``key`` (e.g. ``"hashes"``: the hash
    matches known for the item). Registering a key again replaces it."""
    _SECTIONS[key] = load


def item_sections() -> dict[str, ItemSection]:
    return dict(_SECTIONS)


@dataclass(frozen=True)
class ItemView:
    item: dict[str, Any]
    reports: list[dict[str, Any]]
    same_url: list[dict[str, Any]]
    same_host: list[dict[str, Any]]
    same_host_total: int
    resolutions: list[dict[str, Any]]
    sections: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": jsonable(self.item),
            "reports": [jsonable(row) for row in self.reports],
            "same_url": [jsonable(row) for row in self.same_url],
            "same_host": {
                "items": [jsonable(row) for row in self.same_host],
                "total": self.same_host_total,
            },
            "resolutions": [jsonable(row) for row in self.resolutions],
            "sections": self.sections,
        }


def item_view(conn: Connection, item_id: int) -> ItemView:
    item = conn.execute(select(hotline_items).where(hotline_items.c.id == item_id)).mappings()
    found = item.one_or_none()
    if found is None:
        raise NotFoundError(f"hotline item {item_id} does not exist", code="unknown_item")
    row = dict(found)
    same_url, same_host, same_host_total = related_items(conn, row)
    return ItemView(
        item=row,
        reports=reports_of(conn, item_id),
        same_url=same_url,
        same_host=same_host,
        same_host_total=same_host_total,
        resolutions=resolutions_of(conn, item_id),
        sections={key: load(conn, row) for key, load in _SECTIONS.items()},
    )


def related_items(
    conn: Connection, item: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Earlier items of the item's URL; other URLs on its host (the newest few) and how
    many of those there are in all."""
    same_url = _related(
        conn, hotline_items.c.url_key == item["url_key"], hotline_items.c.id != item["id"]
    )
    on_host = (hotline_items.c.host == item["host"], hotline_items.c.url_key != item["url_key"])
    total = conn.execute(select(func.count()).select_from(hotline_items).where(*on_host))
    return same_url, _related(conn, *on_host), int(total.scalar_one())


def reports_of(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    """The reports that named the item, oldest first: what their reporters said, and no
    contact details."""
    rows = conn.execute(
        select(
            hotline_reports.c.reference,
            hotline_item_reports.c.reported_at,
            hotline_item_reports.c.submitted_url,
            hotline_reports.c.site_type,
            hotline_reports.c.description,
            hotline_reports.c.language,
            hotline_reports.c.channel,
        )
        .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
        .where(hotline_item_reports.c.item_id == item_id)
        .order_by(hotline_item_reports.c.reported_at, hotline_reports.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def resolutions_of(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(hotline_resolutions)
        .where(hotline_resolutions.c.item_id == item_id)
        .order_by(hotline_resolutions.c.id.desc())
        .limit(HOTLINE_RELATED_ITEMS)
    ).mappings()
    out = []
    for row in rows:
        attempt = dict(row)
        attempt["addresses"] = json.loads(attempt["addresses"])
        del attempt["item_id"]
        out.append(attempt)
    return out


def _related(conn: Connection, *where: Any) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(*RELATED_COLUMNS)
        .where(*where)
        .order_by(hotline_items.c.reported_at.desc(), hotline_items.c.id.desc())
        .limit(HOTLINE_RELATED_ITEMS)
    ).mappings()
    return [dict(row) for row in rows]


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: utc(value).isoformat() if isinstance(value, datetime) else value
        for key, value in row.items()
    }
