"""The analyst queue's library: filters, sorting and paging (held to a Python oracle), and
reading queries from request parameters. SQLite and (SAFELIGHT_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from safelight.constants import HOTLINE_QUEUE_MAX_PAGE_SIZE, HOTLINE_QUEUE_PAGE_SIZE
from safelight.errors import ValidationError
from safelight.hotline.model import ItemStatus, SiteType, utc
from safelight.hotline.queue import (
    MINE,
    NO_COUNTRY,
    UNASSIGNED,
    QueueQuery,
    SortKey,
    list_items,
    parse_query,
)
from safelight.store import Database
from safelight.store.hotline_tables import hotline_items
from tests.hotline_support import START, Reports

NOW = START + timedelta(days=10)


@pytest.fixture
def seeded(db: Database) -> dict[str, int]:
    """Six items with known statuses, countries, holders, site types and times."""
    reports = Reports(db)
    ids: dict[str, int] = {}
    for name, url, at, site_type in (
        ("images", "images.example/a", 0, "image_host"),
        ("forum", "forum.example/t/1", 24, "forum"),
        ("files", "files.example/x", 48, "file_host"),
        ("literal", "192.0.2.99/p", 72, None),
        ("gone", "gone.example/z", 96, "website"),
        ("other", "forum.example/t/2", 120, "forum"),
    ):
        ids[name] = reports.item_ids(reports.submit(url, at=at, site_type=site_type))[0]
    reports.submit("files.example/x", "forum.example/t/1", at=130, site_type="other")
    facts: dict[str, dict[str, Any]] = {
        "images": {"hosting_country": "NL", "status": "in_review", "assignee": "alice"},
        "forum": {"hosting_country": "DE", "status": "illegal", "assignee": "bob"},
        "files": {"hosting_country": "JP"},
        "literal": {"hosting_country": "NL", "status": "removed"},
        "gone": {"status": "closed"},
        "other": {"hosting_country": "DE", "assignee": "alice", "status": "in_review"},
    }
    with db.begin() as conn:
        for name, values in facts.items():
            conn.execute(
                update(hotline_items).where(hotline_items.c.id == ids[name]).values(**values)
            )
    return ids


def names(db: Database, ids: dict[str, int], query: QueueQuery, me: str = "alice") -> list[str]:
    by_id = {item_id: name for name, item_id in ids.items()}
    with db.connect() as conn:
        page = list_items(conn, query, me=me, now=NOW)
    return [by_id[item.id] for item in page.items]


def test_filters(db: Database, seeded: dict[str, int]) -> None:
    def q(**values: Any) -> list[str]:
        return sorted(names(db, seeded, QueueQuery(**values)))

    assert q() == sorted(seeded)
    assert q(statuses=frozenset({ItemStatus.IN_REVIEW})) == ["images", "other"]
    assert q(statuses=frozenset({ItemStatus.CLOSED, ItemStatus.REMOVED})) == ["gone", "literal"]
    assert q(countries=frozenset({"DE"})) == ["forum", "other"]
    assert q(countries=frozenset({NO_COUNTRY})) == ["gone"]
    assert q(countries=frozenset({"JP", NO_COUNTRY})) == ["files", "gone"]
    # a site type named by any report of the item (files.example/x: file_host, then other)
    assert q(site_types=frozenset({SiteType.FILE_HOST})) == ["files"]
    assert q(site_types=frozenset({SiteType.OTHER})) == ["files", "forum"]
    assert q(site_types=frozenset({SiteType.IMAGE_HOST, SiteType.WEBSITE})) == ["gone", "images"]
    assert q(assignee=UNASSIGNED) == ["files", "gone", "literal"]
    assert q(assignee=MINE) == ["images", "other"]
    assert q(assignee="bob") == ["forum"]
    assert q(assignee="nobody") == []
    assert q(search="FORUM.example/t") == ["forum", "other"]
    assert q(search="%") == []  # wildcards are text
    # age: first reported on or after / on or before a day (UTC), or at least N days ago
    assert q(reported_from=date(2026, 3, 4)) == ["files", "gone", "literal", "other"]
    assert q(reported_to=date(2026, 3, 3)) == ["forum", "images"]
    assert q(
        reported_from=START + timedelta(hours=24), reported_to=START + timedelta(hours=48)
    ) == [
        "files",
        "forum",
    ]
    assert q(older_than_days=8) == ["files", "forum", "images"]  # NOW is START + 10 days
    assert q(older_than_days=11) == []
    combined = q(
        countries=frozenset({"DE", "NL"}), assignee=MINE, statuses=frozenset({ItemStatus.IN_REVIEW})
    )
    assert combined == ["images", "other"]


def test_sorting(db: Database, seeded: dict[str, int]) -> None:
    def s(key: SortKey, descending: bool = False) -> list[str]:
        return names(db, seeded, QueueQuery(sort=key, descending=descending))

    oldest_first = ["images", "forum", "files", "literal", "gone", "other"]
    assert s(SortKey.REPORTED_AT) == oldest_first
    assert s(SortKey.REPORTED_AT, True) == oldest_first[::-1]
    # files and forum were reported again last (hour 130); ties go by id, in the same order
    assert s(SortKey.LAST_REPORTED_AT, True) == [
        "files",
        "forum",
        "other",
        "gone",
        "literal",
        "images",
    ]
    assert s(SortKey.TIMES_REPORTED) == ["images", "literal", "gone", "other", "forum", "files"]
    assert s(SortKey.TIMES_REPORTED, True) == [
        "files",
        "forum",
        "other",
        "gone",
        "literal",
        "images",
    ]
    # statuses in workflow order: received, in_review, not_illegal, illegal, referred, ...
    assert s(SortKey.STATUS) == ["files", "images", "other", "forum", "literal", "gone"]
    assert s(SortKey.STATUS, True) == ["gone", "literal", "forum", "other", "images", "files"]
    # countries alphabetically, items not located last either way
    assert s(SortKey.COUNTRY) == ["forum", "other", "files", "images", "literal", "gone"]
    assert s(SortKey.COUNTRY, True) == ["literal", "images", "files", "other", "forum", "gone"]


def test_paging(db: Database, seeded: dict[str, int]) -> None:
    with db.connect() as conn:
        first = list_items(conn, QueueQuery(page_size=4), me="alice", now=NOW)
        second = list_items(conn, QueueQuery(page_size=4, page=2), me="alice", now=NOW)
        beyond = list_items(conn, QueueQuery(page_size=4, page=9), me="alice", now=NOW)
    assert (first.total, first.pages, len(first.items)) == (6, 2, 4)
    assert (second.total, len(second.items)) == (6, 2)
    assert {i.id for i in first.items}.isdisjoint({i.id for i in second.items})
    assert beyond.items == [] and beyond.total == 6
    row = first.to_dict()["items"][0]
    assert row["url"] == "http://images.example/a" and row["age_days"] == 10
    assert row["site_types"] == ["image_host"] and row["assignee"] == "alice"
    files = next(i for i in second.items + first.items if i.id == seeded["files"])
    assert files.times_reported == 2 and files.site_types == (SiteType.FILE_HOST, SiteType.OTHER)


def test_parse_query_reads_request_parameters() -> None:
    query = parse_query(
        [
            ("status", "received"),
            ("status", "IN_REVIEW"),
            ("country", "de"),
            ("country", "none"),
            ("site_type", "forum"),
            ("reported_from", "2026-03-01"),
            ("reported_to", "2026-03-05T12:00+02:00"),
            ("older_than_days", "3"),
            ("assignee", "mine"),
            ("search", " example "),
            ("sort", "country"),
            ("order", "desc"),
            ("page", "2"),
            ("page_size", "10"),
            ("lang", "de"),
            ("empty", ""),  # empty form fields are left out
        ],
        ignore=("lang",),
    )
    assert query.statuses == {ItemStatus.RECEIVED, ItemStatus.IN_REVIEW}
    assert query.countries == {"DE", NO_COUNTRY}
    assert query.reported_from == date(2026, 3, 1)
    assert query.reported_to == datetime.fromisoformat("2026-03-05T10:00+00:00")
    assert (query.older_than_days, query.assignee, query.search) == (3, MINE, "example")
    assert (query.sort, query.descending, query.page, query.page_size) == (
        SortKey.COUNTRY,
        True,
        2,
        10,
    )
    capped = parse_query([("page_size", str(HOTLINE_QUEUE_MAX_PAGE_SIZE * 10))])
    assert capped.page_size == HOTLINE_QUEUE_MAX_PAGE_SIZE
    assert parse_query([]).page_size == HOTLINE_QUEUE_PAGE_SIZE


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([("status", "pending")], "status"),
        ([("country", "Germany")], "country"),
        ([("site_type", "darkweb")], "site_type"),
        ([("reported_from", "yesterday")], "reported_from"),
        ([("older_than_days", "-1")], "older_than_days"),
        ([("page", "0")], "page"),
        ([("page_size", "many")], "page_size"),
        ([("sort", "url")], "sort"),
        ([("order", "up")], "order"),
        ([("assignee", "a"), ("assignee", "b")], "assignee"),
        ([("search", "x" * 201)], "search"),
        ([("statuss", "received")], "statuss"),
    ],
)
def test_bad_parameters_are_named(params: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_query(params)
    assert [where for where, _ in caught.value.problems] == [field]
    assert field in str(caught.value)


def test_every_problem_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_query([("status", "x"), ("page", "x"), ("nope", "1")])
    assert [where for where, _ in caught.value.problems] == ["status", "page", "nope"]


def sometimes(strategy: Any, default: Any = None) -> Any:
    """Mostly the default (no filter), so that most queries find something to order."""
    return st.one_of(*[st.just(default)] * 5, strategy)


queries = st.builds(
    QueueQuery,
    statuses=sometimes(st.frozensets(st.sampled_from(ItemStatus)), frozenset()),
    countries=sometimes(
        st.frozensets(st.sampled_from(["DE", "NL", "JP", "FR", NO_COUNTRY])), frozenset()
    ),
    site_types=sometimes(st.frozensets(st.sampled_from(SiteType), max_size=3), frozenset()),
    reported_from=sometimes(st.dates(date(2026, 3, 1), date(2026, 3, 9))),
    reported_to=sometimes(
        st.datetimes(datetime(2026, 3, 1), datetime(2026, 3, 9), timezones=st.just(UTC))
    ),
    older_than_days=sometimes(st.integers(0, 12)),
    assignee=st.sampled_from([None, None, MINE, UNASSIGNED, "bob"]),
    search=st.sampled_from(["", "", "forum", "example/", "/X"]),
    sort=st.sampled_from(SortKey),
    descending=st.booleans(),
    page=st.integers(1, 3),
    page_size=st.integers(1, 7),
)


@given(query=queries)
def test_queries_survive_the_round_trip_through_parameters(query: QueueQuery) -> None:
    assert parse_query(query.to_params()) == query


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries)
def test_the_store_answers_as_the_oracle(
    db: Database, seeded: dict[str, int], query: QueueQuery
) -> None:
    with db.connect() as conn:
        rows = [dict(r) for r in conn.execute(hotline_items.select()).mappings()]
        everything = list_items(conn, QueueQuery(page_size=100), me="alice", now=NOW).items
        page = list_items(conn, query, me="alice", now=NOW)
    kinds = {item.id: set(item.site_types) for item in everything}
    expected = [row for row in rows if _oracle_keeps(row, query, kinds[row["id"]])]
    expected.sort(key=lambda row: _oracle_key(row, query), reverse=query.descending)
    if query.sort == SortKey.COUNTRY:  # not located: last in both directions
        expected.sort(key=lambda row: row["hosting_country"] is None)
    start = (query.page - 1) * query.page_size
    assert page.total == len(expected)
    assert [item.id for item in page.items] == [
        r["id"] for r in expected[start : start + query.page_size]
    ]


def _oracle_keeps(row: dict[str, Any], query: QueueQuery, kinds: set[SiteType]) -> bool:
    reported = utc(row["reported_at"]).astimezone(UTC)
    country = row["hosting_country"] or NO_COUNTRY
    holder = {MINE: "alice"}.get(query.assignee or "", query.assignee)
    checks = [
        not query.statuses or ItemStatus(row["status"]) in query.statuses,
        not query.countries or country in query.countries,
        not query.site_types or bool(kinds & query.site_types),
        query.reported_from is None or reported.date() >= query.reported_from,
        query.reported_to is None or reported <= query.reported_to,
        query.older_than_days is None or reported <= NOW - timedelta(days=query.older_than_days),
        holder is None
        or (row["assignee"] is None if holder == UNASSIGNED else row["assignee"] == holder),
        query.search.lower() in row["url"].lower(),
    ]
    return all(checks)


def _oracle_key(row: dict[str, Any], query: QueueQuery) -> tuple[Any, int]:
    value: Any = {
        SortKey.REPORTED_AT: row["reported_at"],
        SortKey.LAST_REPORTED_AT: row["last_reported_at"],
        SortKey.TIMES_REPORTED: row["times_reported"],
        SortKey.STATUS: list(ItemStatus).index(ItemStatus(row["status"])),
        SortKey.COUNTRY: row["hosting_country"] or "",
    }[query.sort]
    return value, row["id"]
