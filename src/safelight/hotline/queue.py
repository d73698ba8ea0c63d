"""The analyst queue: hotline items filtered, sorted and paged (docs/hotline.md).

One query shape serves the JSON API and the workspace page: ``parse_query`` reads request
parameters (each problem named by its parameter), ``list_items`` answers one page with the
total count. Filters combine with AND; several values of one filter (``status=received&
status=in_review``) with OR.

- ``status``: item statuses; ``country``: hosting countries (ISO alpha-2, or ``none`` for
  items not located yet; ``DE, NL`` in one value is two); ``site_type``: types of site
  named by any report of the item;
- ``reported_from`` / ``reported_to``: first reported on or after / on or before (a date
  means that whole day, UTC; a date and time is exact); ``older_than_days``: first reported
  at least that many days ago;
- ``assignee``: a user name, ``mine`` or ``unassigned``; ``search``: part of the URL;
- ``sort`` (reported_at, last_reported_at, times_reported, status, country) and ``order``
  (asc, desc); statuses sort in workflow order, items without a country last;
- ``page`` (from 1) and ``page_size`` (capped at HOTLINE_QUEUE_MAX_PAGE_SIZE).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, case, exists, func, or_, select

from safelight.constants import HOTLINE_QUEUE_MAX_PAGE_SIZE, HOTLINE_QUEUE_PAGE_SIZE
from safelight.errors import ValidationError
from safelight.hotline.model import ItemStatus, SiteType, utc
from safelight.store.hotline_tables import hotline_item_reports, hotline_items, hotline_reports

UNASSIGNED = "unassigned"
MINE = "mine"
NO_COUNTRY = "none"
MAX_SEARCH = 200
MAX_AGE_DAYS = 36_500
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
E = TypeVar("E", bound=StrEnum)


class SortKey(StrEnum):
    REPORTED_AT = "reported_at"
    LAST_REPORTED_AT = "last_reported_at"
    TIMES_REPORTED = "times_reported"
    STATUS = "status"
    COUNTRY = "country"


@dataclass(frozen=True)
class QueueQuery:
    statuses: frozenset[ItemStatus] = frozenset()
    countries: frozenset[str] = frozenset()  # upper-case alpha-2, or NO_COUNTRY
    site_types: frozenset[SiteType] = frozenset()
    reported_from: date | datetime | None = None
    reported_to: date | datetime | None = None
    older_than_days: int | None = None
    assignee: str | None = None  # a user name, MINE or UNASSIGNED
    search: str = ""
    sort: SortKey = SortKey.REPORTED_AT
    descending: bool = False  # oldest first: a queue is worked from its oldest end
    page: int = 1
    page_size: int = HOTLINE_QUEUE_PAGE_SIZE

    def to_params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query (with ``changes``) as request parameters, defaults left out: what
        sorting and paging links carry so they keep the filters."""
        query = replace(self, **changes)
        out: list[tuple[str, str]] = []
        out += [("status", s.value) for s in ItemStatus if s in query.statuses]
        out += [("country", c) for c in sorted(query.countries)]
        out += [("site_type", t.value) for t in SiteType if t in query.site_types]
        for name in ("reported_from", "reported_to"):
            value = getattr(query, name)
            if value is not None:
                out.append((name, value.isoformat()))
        if query.older_than_days is not None:
            out.append(("older_than_days", str(query.older_than_days)))
        if query.assignee:
            out.append(("assignee", query.assignee))
        if query.search:
            out.append(("search", query.search))
        if query.sort != SortKey.REPORTED_AT or query.descending:
            out += [("sort", query.sort.value), ("order", "desc" if query.descending else "asc")]
        if query.page != 1:
            out.append(("page", str(query.page)))
        if query.page_size != HOTLINE_QUEUE_PAGE_SIZE:
            out.append(("page_size", str(query.page_size)))
        return out


@dataclass(frozen=True)
class QueueItem:
    id: int
    url: str
    host: str
    host_is_ip: bool
    status: ItemStatus
    times_reported: int
    reported_at: datetime
    last_reported_at: datetime
    age_days: int
    hosting_country: str | None
    assignee: str | None
    claimed_at: datetime | None
    classification: str | None
    site_types: tuple[SiteType, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "host": self.host,
            "host_is_ip": self.host_is_ip,
            "status": self.status.value,
            "times_reported": self.times_reported,
            "reported_at": self.reported_at.isoformat(),
            "last_reported_at": self.last_reported_at.isoformat(),
            "age_days": self.age_days,
            "hosting_country": self.hosting_country,
            "assignee": self.assignee,
            "claimed_at": None if self.claimed_at is None else self.claimed_at.isoformat(),
            "classification": self.classification,
            "site_types": [site_type.value for site_type in self.site_types],
        }


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [item.to_dict() for item in self.items],
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "pages": self.pages,
        }


def parse_query(params: Iterable[tuple[str, str]], *, ignore: Iterable[str] = ()) -> QueueQuery:
    """The query in request parameters (name, value pairs; empty values are left out, as
    forms send them), or a ValidationError with one problem per bad parameter."""
    given: dict[str, list[str]] = {}
    for name, value in params:
        if value.strip():
            given.setdefault(name, []).append(value.strip())
    reader = _Reader(given)
    query = QueueQuery(
        statuses=frozenset(reader.choices("status", ItemStatus)),
        countries=frozenset(reader.countries()),
        site_types=frozenset(reader.choices("site_type", SiteType)),
        reported_from=reader.moment("reported_from"),
        reported_to=reader.moment("reported_to"),
        older_than_days=reader.integer("older_than_days", 0, MAX_AGE_DAYS),
        assignee=reader.single("assignee", 150),
        search=reader.single("search", MAX_SEARCH) or "",
        sort=(reader.choices("sort", SortKey, many=False) or [SortKey.REPORTED_AT])[0],
        descending=reader.order(),
        page=reader.integer("page", 1, 10**9) or 1,
        page_size=min(
            reader.integer("page_size", 1, 10**9) or HOTLINE_QUEUE_PAGE_SIZE,
            HOTLINE_QUEUE_MAX_PAGE_SIZE,
        ),
    )
    for name in sorted(set(given) - reader.known - set(ignore)):
        reader.problem(name, "not a filter of the queue")
    if reader.problems:
        raise ValidationError(
            "the queue query is not valid: "
            + "; ".join(f"{where}: {why}" for where, why in reader.problems),
            reader.problems,
        )
    return query


class _Reader:
    def __init__(self, given: dict[str, list[str]]) -> None:
        self.given = given
        self.known: set[str] = set()
        self.problems: list[tuple[str, str]] = []

    def problem(self, name: str, reason: str) -> None:
        self.problems.append((name, reason))

    def values(self, name: str) -> list[str]:
        self.known.add(name)
        return self.given.get(name, [])

    def single(self, name: str, longest: int) -> str | None:
        values = self.values(name)
        if len(values) > 1:
            self.problem(name, "give it once")
        if values and len(values[0]) > longest:
            self.problem(name, f"at most {longest} characters")
            return None
        return values[0] if values else None

    def choices(self, name: str, kind: type[E], many: bool = True) -> list[E]:
        values = self.values(name) if many else [v for v in [self.single(name, 40)] if v]
        chosen = []
        for value in values:
            try:
                chosen.append(kind(value.lower()))
            except ValueError:
                known = ", ".join(member.value for member in kind)
                self.problem(name, f"{value[:40]!r} is not one of: {known}")
        return chosen

    def countries(self) -> list[str]:
        chosen = []
        typed = [part for value in self.values("country") for part in re.split(r"[,\s]+", value)]
        for value in filter(None, typed):  # "DE, NL" as one form field, or repeated
            if value.lower() == NO_COUNTRY:
                chosen.append(NO_COUNTRY)
            elif _COUNTRY.match(value):
                chosen.append(value.upper())
            else:
                self.problem("country", f"{value[:40]!r}: a two-letter country code, or none")
        return chosen

    def integer(self, name: str, lowest: int, highest: int) -> int | None:
        value = self.single(name, 12)
        if value is None:
            return None
        if not value.isdigit() or not lowest <= int(value) <= highest:
            self.problem(name, f"a whole number from {lowest} to {highest}")
            return None
        return int(value)

    def moment(self, name: str) -> date | datetime | None:
        value = self.single(name, 40)
        if value is None:
            return None
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.problem(name, "a date (2026-01-31) or date and time (2026-01-31T12:00Z)")
            return None
        # stored times are UTC (SQLite compares them as text): bring the bound to UTC
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    def order(self) -> bool:
        value = self.single("order", 4)
        if value is not None and value.lower() not in {"asc", "desc"}:
            self.problem("order", "asc or desc")
        return (value or "").lower() == "desc"


def list_items(conn: Connection, query: QueueQuery, *, me: str, now: datetime) -> QueuePage:
    """One page of the queue; ``me`` is who ``assignee=mine`` means."""
    where = conditions(query, me=me, now=now)
    total = int(
        conn.execute(select(func.count()).select_from(hotline_items).where(*where)).scalar_one()
    )
    rows = conn.execute(
        select(hotline_items)
        .where(*where)
        .order_by(*_ordering(query))
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    ).mappings()
    items = [dict(row) for row in rows]
    kinds = site_types_of(conn, [item["id"] for item in items])
    return QueuePage(
        [_queue_item(item, kinds.get(item["id"], ()), now) for item in items],
        total,
        query.page,
        query.page_size,
    )


def conditions(query: QueueQuery, *, me: str, now: datetime) -> list[ColumnElement[bool]]:
    items = hotline_items.c
    found: list[ColumnElement[bool]] = []
    if query.statuses:
        found.append(items.status.in_(sorted(s.value for s in query.statuses)))
    if query.countries:
        named = sorted(c for c in query.countries if c != NO_COUNTRY)
        either = [items.hosting_country.in_(named)] if named else []
        if NO_COUNTRY in query.countries:
            either.append(items.hosting_country.is_(None))
        found.append(or_(*either))
    if query.site_types:
        found.append(
            exists(
                select(hotline_item_reports.c.item_id)
                .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
                .where(
                    hotline_item_reports.c.item_id == items.id,
                    hotline_reports.c.site_type.in_(sorted(t.value for t in query.site_types)),
                )
            )
        )
    if query.reported_from is not None:
        found.append(items.reported_at >= _start(query.reported_from))
    if query.reported_to is not None:
        to = query.reported_to
        if isinstance(to, datetime):
            found.append(items.reported_at <= to)
        else:
            found.append(items.reported_at < _start(to + timedelta(days=1)))
    if query.older_than_days is not None:
        found.append(items.reported_at <= now - timedelta(days=query.older_than_days))
    if query.assignee == UNASSIGNED:
        found.append(items.assignee.is_(None))
    elif query.assignee:
        found.append(items.assignee == (me if query.assignee == MINE else query.assignee))
    if query.search:
        found.append(func.lower(items.url).contains(query.search.lower(), autoescape=True))
    return found


def _start(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time(0), tzinfo=UTC)


def _ordering(query: QueueQuery) -> list[Any]:
    items = hotline_items.c
    column: Any = {
        SortKey.REPORTED_AT: items.reported_at,
        SortKey.LAST_REPORTED_AT: items.last_reported_at,
        SortKey.TIMES_REPORTED: items.times_reported,
        SortKey.STATUS: case(
            {status.value: rank for rank, status in enumerate(ItemStatus)},
            value=items.status,
            else_=len(ItemStatus),
        ),
        SortKey.COUNTRY: items.hosting_country,
    }[query.sort]
    ordering: list[Any] = []
    if query.sort == SortKey.COUNTRY:
        ordering.append(items.hosting_country.is_(None))  # not located yet: last either way
    if query.descending:
        return [*ordering, column.desc(), items.id.desc()]
    return [*ordering, column.asc(), items.id.asc()]


def site_types_of(conn: Connection, item_ids: list[int]) -> dict[int, tuple[SiteType, ...]]:
    """The types of site the reports of each item named (in SiteType order)."""
    if not item_ids:
        return {}
    rows = conn.execute(
        select(hotline_item_reports.c.item_id, hotline_reports.c.site_type)
        .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
        .where(
            hotline_item_reports.c.item_id.in_(item_ids), hotline_reports.c.site_type.is_not(None)
        )
        .distinct()
    )
    named: dict[int, set[SiteType]] = {}
    for item_id, site_type in rows:
        named.setdefault(int(item_id), set()).add(SiteType(site_type))
    return {key: tuple(t for t in SiteType if t in kinds) for key, kinds in named.items()}


def _queue_item(row: dict[str, Any], kinds: tuple[SiteType, ...], now: datetime) -> QueueItem:
    reported_at = utc(row["reported_at"])
    return QueueItem(
        id=int(row["id"]),
        url=row["url"],
        host=row["host"],
        host_is_ip=bool(row["host_is_ip"]),
        status=ItemStatus(row["status"]),
        times_reported=int(row["times_reported"]),
        reported_at=reported_at,
        last_reported_at=utc(row["last_reported_at"]),
        age_days=max(0, (now - reported_at).days),
        hosting_country=row["hosting_country"],
        assignee=row["assignee"],
        claimed_at=None if row["claimed_at"] is None else utc(row["claimed_at"]),
        classification=row["classification"],
        site_types=kinds,
    )
