"""The hotline's items as a referral source: reported URLs hosted in a country that the
hotline's analysts assessed as illegal.

An item is referred when its status is ``illegal`` or ``referred`` and its
``hosting_country`` is the country. Each becomes one row of ``urls.csv``: the URL and host,
where it is hosted (country, address, ASN, network), its classification, its times (reported,
assessed, referred, notified, removed) and the public references of the reports that named
it. Never the reporter's contact, description or the text they typed: a referral carries
what the recipient acts on, not who reported it. The roles decide column by column what a
recipient receives (the hosting address is personal data, as every IP address is).

Which items: every one of the country (``all``), or those named by given report references,
or exactly the given item ids (for a choice made in the workspace: an item that is not of
the country or not assessed illegal is then an error naming it, not silently left out).

When a referral is marked sent, each hotline item it carried gets the package on its
timeline (``record_sent``, through ``safelight.hotline.takedown``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.sql.elements import ColumnElement

from safelight.errors import InputError, NotFoundError, UsageError
from safelight.hotline.model import ItemStatus
from safelight.hotline.references import display, parse_reference
from safelight.hotline.takedown import SentPackage, record_package_sent
from safelight.referrals.content import SourceContent, TimelineEvent
from safelight.referrals.events import Audit
from safelight.store import Database
from safelight.store.hotline_tables import hotline_item_reports, hotline_items, hotline_reports
from safelight.store.referral_tables import referral_items, referrals

KIND = "hotline_items"
REFERRABLE = (ItemStatus.ILLEGAL.value, ItemStatus.REFERRED.value)
# Columns of hotline_items added by migration hotline_0002 (the workspace), read when the
# table has them: hotline_items column -> urls.csv column.
HOSTING_COLUMNS = {
    "hosting_ip": "ip",
    "hosting_asn": "asn",
    "hosting_network": "network",
    "resolved_at": "resolved_at",
}
TIMES = (
    "reported_at",
    "last_reported_at",
    "assessed_at",
    "le_notified_at",
    "hp_notified_at",
    "removed_at",
)


def item_key(item_id: int) -> str:
    """The key a referral records for a hotline item (duplicates are found by it)."""
    return f"hotline_item:{item_id}"


def item_ids(keys: Iterable[str]) -> list[int]:
    """The hotline items among a referral's item keys (other sources' keys are left out)."""
    prefix = item_key(0)[:-1]
    return sorted(
        int(key[len(prefix) :])
        for key in keys
        if key.startswith(prefix) and key[len(prefix) :].isdigit()
    )


def record_sent(
    conn: Connection, package: SentPackage, keys: Iterable[str], *, by: str, audit: Audit
) -> list[int]:
    """Put the package sent on the timeline of each hotline item it carried, in the caller's
    transaction (the one that marks it sent), each audited; the items recorded."""
    return record_package_sent(conn, package, item_ids(keys), actor=by, audit=audit)


def _references(given: Iterable[str]) -> list[str]:
    found, bad = [], []
    for text in given:
        reference = parse_reference(text)
        if reference is None:
            bad.append(text)
        elif reference not in found:
            found.append(reference)
    if bad:
        raise UsageError(
            f"not a report reference: {', '.join(repr(b) for b in bad)} (XXXXX-XXXXX)",
            code="bad_reference",
            field="reports",
        )
    if not found:
        raise UsageError("name at least one report reference", field="reports")
    return found


class HotlineSource:
    """Hotline items assessed illegal and hosted in the country (the module doc says which)."""

    def __init__(
        self,
        db: Database,
        *,
        references: Sequence[str] | None = None,
        item_ids: Sequence[int] | None = None,
    ) -> None:
        if references is not None and item_ids is not None:
            raise UsageError("choose items either by report reference or by id", field="reports")
        self.db = db
        self.references = _references(references) if references is not None else None
        self.item_ids = sorted({int(i) for i in item_ids}) if item_ids is not None else None
        if self.item_ids is not None and not self.item_ids:
            raise UsageError("choose at least one hotline item", field="items")

    @classmethod
    def chosen(cls, db: Database, reports: Sequence[str]) -> HotlineSource:
        """From the words a person gives: ``all`` (every item of the country), or report
        references (each may be comma-separated)."""
        words = [w.strip() for text in reports for w in text.split(",") if w.strip()]
        if any(w.lower() == "all" for w in words):
            if len(words) > 1:
                raise UsageError("reports: 'all' or report references, not both", field="reports")
            return cls(db)
        return cls(db, references=words)

    def describe(self) -> dict[str, Any]:
        if self.references is not None:
            name = "hotline reports " + ", ".join(display(r) for r in self.references)
        elif self.item_ids is not None:
            name = "hotline items " + ", ".join(str(i) for i in self.item_ids)
        else:
            name = "hotline items"
        return {
            "kind": KIND,
            "name": name,
            "references": self.references,
            "items": self.item_ids,
        }

    def collect(self, country: str) -> SourceContent:
        name = "hotline"
        with self.db.connect() as conn:
            rows = self._rows(conn, country)
            ids = [int(row["id"]) for row in rows]
            refs = _report_references(conn, ids)
            referred = _referred_at(conn, ids)
        urls = [_url_row(row, name, refs, referred) for row in rows]
        content = SourceContent(
            description=self.describe(),
            tables={"urls": urls},
            headline={"urls": len(urls)},
            items={item_key(i) for i in ids},
        )
        if not urls:
            with self.db.connect() as conn:
                content.empty_reason = self._why_empty(conn, country)
            return content
        reported = [_utc(row["reported_at"]) for row in rows]
        assessed = [_utc(row["assessed_at"]) for row in rows if row["assessed_at"]]
        content.events.append(
            TimelineEvent(min(reported), name, f"first report of a URL hosted in {country}")
        )
        if assessed:
            content.events.append(
                TimelineEvent(max(assessed), name, f"latest assessment of a URL in {country}")
            )
        return content

    # -- which items ----------------------------------------------------------------------

    def _rows(self, conn: Connection, country: str) -> list[dict[str, Any]]:
        columns = [hotline_items.c[c] for c in ("id", "url", "host", "hosting_country")]
        columns += [hotline_items.c[c] for c in ("status", "classification", "times_reported")]
        columns += [hotline_items.c[c] for c in (*TIMES, "notice_count")]
        columns += [hotline_items.c[c] for c in HOSTING_COLUMNS if c in hotline_items.c]
        query = select(*columns).order_by(hotline_items.c.reported_at, hotline_items.c.id)
        if self.item_ids is not None:
            query = query.where(hotline_items.c.id.in_(self.item_ids))
            rows = [dict(r) for r in conn.execute(query).mappings()]
            _check_chosen(rows, self.item_ids, country)
            return rows
        query = query.where(*self._referrable(country))
        if self.references is not None:
            _check_known(conn, self.references)
            named = (
                select(hotline_item_reports.c.item_id)
                .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
                .where(hotline_reports.c.reference.in_(self.references))
            )
            query = query.where(hotline_items.c.id.in_(named))
        return [dict(r) for r in conn.execute(query).mappings()]

    @staticmethod
    def _referrable(country: str) -> list[ColumnElement[bool]]:
        return [
            hotline_items.c.hosting_country == country,
            hotline_items.c.status.in_(REFERRABLE),
        ]

    def _why_empty(self, conn: Connection, country: str) -> str:
        counts = conn.execute(
            select(hotline_items.c.hosting_country, func.count())
            .where(hotline_items.c.status.in_(REFERRABLE))
            .group_by(hotline_items.c.hosting_country)
        ).all()
        scope = "the reports named" if self.references is not None else "the hotline holds"
        if not counts:
            return f"no URL {scope} is assessed illegal"
        found = ", ".join(
            f"{c or 'unknown'} {n}" for c, n in sorted(counts, key=lambda r: r[0] or "")
        )
        return (
            f"no URL {scope} assessed illegal is hosted in {country} "
            f"(illegal URLs by hosting country: {found})"
        )


def _check_known(conn: Connection, references: list[str]) -> None:
    known = set(
        conn.execute(
            select(hotline_reports.c.reference).where(hotline_reports.c.reference.in_(references))
        ).scalars()
    )
    unknown = [display(r) for r in references if r not in known]
    if unknown:
        raise NotFoundError(
            f"no hotline report has the reference {', '.join(unknown)}",
            code="unknown_reference",
            field="reports",
        )


def _check_chosen(rows: list[dict[str, Any]], chosen: list[int], country: str) -> None:
    """Every chosen item exists, is of the country and assessed illegal; else one error that
    names each item that is not, and why."""
    found = {int(row["id"]): row for row in rows}
    problems = []
    for item_id in chosen:
        row = found.get(item_id)
        if row is None:
            problems.append(f"hotline item {item_id}: no such item")
            continue
        if row["status"] not in REFERRABLE:
            problems.append(
                f"hotline item {item_id}: status {row['status']}; only items assessed "
                "illegal are referred"
            )
        if row["hosting_country"] != country:
            where = row["hosting_country"] or "an unknown country"
            problems.append(f"hotline item {item_id}: hosted in {where}, not {country}")
    if problems:
        raise InputError("; ".join(problems), code="invalid_referral", field="items")


def _report_references(conn: Connection, ids: list[int]) -> dict[int, list[str]]:
    """Each item's reports as public references, oldest report first."""
    out: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = conn.execute(
        select(hotline_item_reports.c.item_id, hotline_reports.c.reference)
        .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
        .where(hotline_item_reports.c.item_id.in_(ids))
        .order_by(hotline_item_reports.c.reported_at, hotline_reports.c.id)
    )
    for item_id, reference in rows:
        out[int(item_id)].append(display(str(reference)))
    return out


def _referred_at(conn: Connection, ids: list[int]) -> dict[int, datetime]:
    """When a referral of ours that carried the item was first sent (marked sent)."""
    if not ids:
        return {}
    keys = {item_key(i): i for i in ids}
    rows = conn.execute(
        select(referral_items.c.item, func.min(referrals.c.sent_at))
        .join(referrals, referrals.c.id == referral_items.c.referral_id)
        .where(referral_items.c.item.in_(list(keys)), referrals.c.sent_at.is_not(None))
        .group_by(referral_items.c.item)
    )
    return {keys[str(item)]: _utc(sent) for item, sent in rows}


def _url_row(
    row: dict[str, Any], source: str, refs: dict[int, list[str]], referred: dict[int, datetime]
) -> dict[str, Any]:
    item_id = int(row["id"])
    out: dict[str, Any] = {
        "source": source,
        "url": row["url"],
        "host": row["host"],
        "country": row["hosting_country"],
        "status": row["status"],
        "classification": row["classification"],
        "reports": "|".join(refs.get(item_id, [])),
        "times_reported": row["times_reported"],
        "notice_count": row["notice_count"],
        "referred_at": _text(referred.get(item_id)),
    }
    for column in TIMES:
        out[column] = _text(row[column])
    for column, name in HOSTING_COLUMNS.items():
        value = row.get(column)
        out[name] = _text(value) if isinstance(value, datetime) else value
    return out


def _utc(moment: datetime) -> datetime:
    # SQLite gives naive times back; every time the hotline writes is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else _utc(moment).isoformat(timespec="seconds")
