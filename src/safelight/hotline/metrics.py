"""Notice-and-takedown figures: reports and items by month, hosting country and network,
time to removal (median, p90) and the shares removed within 3 and 7 days.

Definitions (docs/hotline.md, "Takedown metrics", states them for readers):

- An item counts in the period when it was first reported in it (``reported_at``, UTC);
  months group items by that month. A report counts in a row when it was received in the
  period (in that month, for a month row) and named at least one item of the row.
- Illegal items: those assessed illegal (status ``illegal``, ``referred`` or ``removed``).
  Removed: recorded removed by a re-check (``removed_at``). Still online: illegal and not
  recorded removed.
- Time to removal: ``removed_at - reported_at`` of removed items only, in days. Median and
  p90 use linear interpolation between order statistics (type 7 of Hyndman and Fan, as
  numpy's default and Excel's PERCENTILE.INC). Items still online are not in it: they are
  counted apart (``still_online``), since their time is not known yet.
- Removed within N days: removed items with a time to removal of at most N x 24 hours,
  over the items whose outcome at N days is known: every removed item, and every item
  still online that was reported at least N days before ``as_of``. Items still online and
  younger than N days are left out of both (they may yet be removed in time).
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from safelight import csvguard
from safelight.constants import HOTLINE_REMOVAL_QUANTILES, HOTLINE_REMOVAL_WINDOWS_DAYS
from safelight.errors import InputError
from safelight.hotline.model import ItemStatus
from safelight.store import Database
from safelight.store.hotline_tables import hotline_item_reports, hotline_items

ILLEGAL = frozenset({ItemStatus.ILLEGAL, ItemStatus.REFERRED, ItemStatus.REMOVED})
UNKNOWN = "unknown"  # the row of items whose country or network is not resolved
DAY = 86_400.0
MEDIAN, P90 = HOTLINE_REMOVAL_QUANTILES


@dataclass(frozen=True)
class ItemFacts:
    """What the figures need of one item."""

    item_id: int
    reported_at: datetime
    status: ItemStatus
    removed_at: datetime | None
    country: str | None
    network: str | None
    reports: tuple[tuple[int, datetime], ...] = ()  # (report id, when it named the item)

    @property
    def illegal(self) -> bool:
        return self.status in ILLEGAL

    @property
    def removal_days(self) -> float | None:
        if self.removed_at is None or self.status != ItemStatus.REMOVED:
            return None
        return (self.removed_at - self.reported_at).total_seconds() / DAY


@dataclass(frozen=True)
class Share:
    removed: int  # removed within the window
    counted: int  # items whose outcome at the window's end is known

    @property
    def value(self) -> float | None:
        return self.removed / self.counted if self.counted else None


@dataclass(frozen=True)
class Figures:
    key: str
    reports: int
    items: int
    illegal: int
    removed: int
    still_online: int
    median_days: float | None
    p90_days: float | None
    within: dict[int, Share] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "reports": self.reports,
            "items": self.items,
            "illegal": self.illegal,
            "removed": self.removed,
            "still_online": self.still_online,
            "median_days": self.median_days,
            "p90_days": self.p90_days,
        }
        for days, share in sorted(self.within.items()):
            out[f"removed_within_{days}d"] = share.removed
            out[f"counted_{days}d"] = share.counted
            out[f"share_within_{days}d"] = share.value
        return out


@dataclass(frozen=True)
class Metrics:
    as_of: datetime
    since: str | None  # first month, "YYYY-MM"
    until: str | None  # last month
    total: Figures
    months: list[Figures]
    countries: list[Figures]
    networks: list[Figures]

    TABLES = ("months", "countries", "networks")

    def table(self, name: str) -> list[Figures]:
        if name not in self.TABLES:
            raise InputError(
                f"table {name!r}: one of {', '.join(self.TABLES)}",
                code="unknown_table",
                field="table",
            )
        rows: list[Figures] = getattr(self, name)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "since": self.since,
            "until": self.until,
            "windows_days": list(HOTLINE_REMOVAL_WINDOWS_DAYS),
            "total": self.total.to_dict(),
            **{name: [row.to_dict() for row in self.table(name)] for name in self.TABLES},
        }


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (not empty), interpolating linearly (type 7)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figures(
    key: str,
    items: Iterable[ItemFacts],
    as_of: datetime,
) -> Figures:
    """One row of figures over ``items``."""
    chosen = list(items)
    illegal = [item for item in chosen if item.illegal]
    times = [days for item in illegal if (days := item.removal_days) is not None]
    reports = {report_id for item in chosen for report_id, _ in item.reports}
    return Figures(
        key=key,
        reports=len(reports),
        items=len(chosen),
        illegal=len(illegal),
        removed=len(times),
        still_online=len(illegal) - len(times),
        median_days=quantile(times, MEDIAN) if times else None,
        p90_days=quantile(times, P90) if times else None,
        within={days: _share(illegal, days, as_of) for days in HOTLINE_REMOVAL_WINDOWS_DAYS},
    )


def _share(illegal: list[ItemFacts], days: int, as_of: datetime) -> Share:
    removed = counted = 0
    for item in illegal:
        taken = item.removal_days
        if taken is not None:
            counted += 1
            removed += taken <= days
        elif item.reported_at <= as_of - timedelta(days=days):
            counted += 1
    return Share(removed, counted)


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), both included."""
    year, month = (int(part) for part in first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def by_month(items: Sequence[ItemFacts], as_of: datetime) -> list[Figures]:
    """A row per month from the first to the last with an item or a report (gaps filled);
    reports by the month they came in (a report may name an item first reported earlier)."""
    grouped: dict[str, list[ItemFacts]] = defaultdict(list)
    reports: dict[str, set[int]] = defaultdict(set)
    for item in items:
        grouped[month_of(item.reported_at)].append(item)
        for report_id, when in item.reports:
            reports[month_of(when)].add(report_id)
    months = set(grouped) | set(reports)
    if not months:
        return []
    return [
        replace(figures(month, grouped.get(month, []), as_of), reports=len(reports[month]))
        for month in months_between(min(months), max(months))
    ]


def by_key(
    items: Sequence[ItemFacts], as_of: datetime, key: Callable[[ItemFacts], str | None]
) -> list[Figures]:
    """A row per value of ``key`` (None: ``unknown``), most illegal items first, ``unknown``
    last."""
    grouped: dict[str, list[ItemFacts]] = defaultdict(list)
    for item in items:
        grouped[key(item) or UNKNOWN].append(item)
    rows = [figures(name, members, as_of) for name, members in grouped.items()]
    rows.sort(key=lambda row: (row.key == UNKNOWN, -row.illegal, -row.items, row.key))
    return rows


def compute(
    items: Sequence[ItemFacts],
    as_of: datetime,
    *,
    since: str | None = None,
    until: str | None = None,
) -> Metrics:
    """Every table over ``items`` (already limited to the period)."""
    return Metrics(
        as_of=as_of,
        since=since,
        until=until,
        total=figures("all", items, as_of),
        months=by_month(items, as_of),
        countries=by_key(items, as_of, lambda item: item.country),
        networks=by_key(items, as_of, lambda item: item.network),
    )


def network_label(asn: int | str | None, network: str | None) -> str | None:
    """How a network is named in the tables: ``AS64500 Example Hosting``, or either part."""
    number = str(asn).strip().upper().removeprefix("AS") if asn not in (None, "") else ""
    name = (network or "").strip()
    parts = [f"AS{number}" if number else "", name]
    label = " ".join(part for part in parts if part)
    return label or None


def csv_text(rows: Sequence[Figures], key_name: str) -> str:
    """``rows`` as CSV (numbers as numbers; text cells guarded against formulas: a network
    name comes from outside). Shares are fractions (0.5), times in days."""
    columns = [name for name in figures("", [], datetime.now(UTC)).to_dict() if name != "key"]
    out = io.StringIO()
    write = csvguard.writer(out, lineterminator="\n")
    write.writerow([key_name, *columns])
    for row in rows:
        values = row.to_dict()
        write.writerow([values["key"], *("" if values[c] is None else values[c] for c in columns)])
    return out.getvalue()


def parse_month(text: str | None, field_name: str) -> str | None:
    """``YYYY-MM`` (or None), or an InputError naming the field."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        parsed = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise InputError(
            f"{field_name}: {value!r} is not a month (YYYY-MM, e.g. 2025-03)",
            code="bad_month",
            field=field_name,
        ) from None
    return parsed.strftime("%Y-%m")


def month_start(month: str) -> datetime:
    return datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)


def next_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"


def load_metrics(
    db: Database,
    *,
    since: str | None = None,
    until: str | None = None,
    as_of: datetime | None = None,
) -> Metrics:
    """The figures of the store's items first reported from month ``since`` to month
    ``until`` (both included; either open)."""
    first, last = parse_month(since, "since"), parse_month(until, "until")
    if first and last and first > last:
        raise InputError(
            f"until: {last} is before since ({first})", code="bad_period", field="until"
        )
    moment = as_of or datetime.now(UTC)
    return compute(load_items(db, first, last), moment, since=first, until=last)


def load_items(db: Database, since: str | None, until: str | None) -> list[ItemFacts]:
    items = hotline_items
    query = select(
        items.c.id,
        items.c.reported_at,
        items.c.status,
        items.c.removed_at,
        items.c.hosting_country,
        items.c.hosting_asn,
        items.c.hosting_network,
    ).order_by(items.c.id)
    links = select(
        hotline_item_reports.c.item_id,
        hotline_item_reports.c.report_id,
        hotline_item_reports.c.reported_at,
    ).join(items, items.c.id == hotline_item_reports.c.item_id)
    # Items first reported in the period, and the reports received in it that named them.
    link_time = hotline_item_reports.c.reported_at
    if since:
        start = month_start(since)
        query = query.where(items.c.reported_at >= start)
        links = links.where(items.c.reported_at >= start, link_time >= start)
    if until:
        end = month_start(next_month(until))
        query = query.where(items.c.reported_at < end)
        links = links.where(items.c.reported_at < end, link_time < end)
    named: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    with db.connect() as conn:
        for link in conn.execute(links):
            named[int(link.item_id)].append((int(link.report_id), _utc(link.reported_at)))
        return [
            ItemFacts(
                item_id=int(row.id),
                reported_at=_utc(row.reported_at),
                status=ItemStatus(row.status),
                removed_at=_utc(row.removed_at) if row.removed_at is not None else None,
                country=row.hosting_country,
                network=network_label(row.hosting_asn, row.hosting_network),
                reports=tuple(named.get(int(row.id), ())),
            )
            for row in conn.execute(query)
        ]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
