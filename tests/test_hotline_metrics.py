"""Takedown metrics (safelight.hotline.metrics) against figures computed by hand.

The fixture (as of 2025-03-31 00:00 UTC; days = time from first report to removal):

    item  reported    status       removed after  country  network
    1     2025-01-05  removed      1 day          DE       AS64500 Alpha
    2     2025-01-10  removed      2.5 days       DE       AS64500 Alpha
    3     2025-01-20  removed      5 days         NL       AS64501 Beta
    4     2025-01-25  removed      10 days        NL       AS64501 Beta
    5     2025-02-01  referred     (online)       DE       AS64500 Alpha
    6     2025-02-10  removed      3 days         US       -
    7     2025-02-15  not_illegal                 DE       -   (reported again 2025-03-02)
    8     2025-03-29  referred     (online)       -        -   (2 days old: no share yet)
    9,10  2025-03-01  received / in_review        FR       -   (one report names both)

Ten reports. Removal times [1, 2.5, 3, 5, 10]: median 3; p90 at rank 0.9 x 4 = 3.6, so
5 + 0.6 x (10 - 5) = 8. Within 3 days: items 1, 2, 6 (exactly 72 hours counts) of the six
whose 3-day outcome is known (the five removed and item 5; item 8 is too young): 3/6.
Within 7 days: 1, 2, 3, 6 of the same six: 4/6.
"""

from __future__ import annotations

import csv
import io
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safelight.csvguard import unguard_cell
from safelight.errors import InputError
from safelight.hotline.metrics import (
    Figures,
    ItemFacts,
    compute,
    csv_text,
    load_metrics,
    network_label,
    quantile,
)
from safelight.hotline.model import ItemStatus
from safelight.hotline.routing import RoutingPolicy
from safelight.hotline.takedown import Takedown
from safelight.service.audit import AuditLog
from safelight.store import Database
from tests.routing_support import assess, report

AS_OF = datetime(2025, 3, 31, tzinfo=UTC)
ALPHA, BETA = (64500, "Alpha"), (64501, "Beta")
REMOVED, REFERRED = ItemStatus.REMOVED, ItemStatus.REFERRED
# (reported, status, days to removal, country, (asn, network))
ITEMS = [
    (datetime(2025, 1, 5, tzinfo=UTC), REMOVED, 1.0, "DE", ALPHA),
    (datetime(2025, 1, 10, tzinfo=UTC), REMOVED, 2.5, "DE", ALPHA),
    (datetime(2025, 1, 20, tzinfo=UTC), REMOVED, 5.0, "NL", BETA),
    (datetime(2025, 1, 25, tzinfo=UTC), REMOVED, 10.0, "NL", BETA),
    (datetime(2025, 2, 1, tzinfo=UTC), REFERRED, None, "DE", ALPHA),
    (datetime(2025, 2, 10, tzinfo=UTC), REMOVED, 3.0, "US", (None, None)),
    (datetime(2025, 2, 15, tzinfo=UTC), ItemStatus.NOT_ILLEGAL, None, "DE", (None, None)),
    (datetime(2025, 3, 29, tzinfo=UTC), REFERRED, None, None, (None, None)),
    (datetime(2025, 3, 1, tzinfo=UTC), ItemStatus.RECEIVED, None, "FR", (None, None)),
    (datetime(2025, 3, 1, tzinfo=UTC), ItemStatus.IN_REVIEW, None, "FR", (None, None)),
]
AGAIN = datetime(2025, 3, 2, tzinfo=UTC)  # item 7 reported a second time


def facts() -> list[ItemFacts]:
    out = []
    for number, (reported, status, days, country, (asn, net)) in enumerate(ITEMS, start=1):
        report_id = 9 if number == 10 else number  # one report names items 9 and 10
        reports = [(report_id, reported)] + ([(11, AGAIN)] if number == 7 else [])
        out.append(
            ItemFacts(
                item_id=number,
                reported_at=reported,
                status=status,
                removed_at=reported + timedelta(days=days) if days is not None else None,
                country=country,
                network=network_label(asn, net),
                reports=tuple(reports),
            )
        )
    return out


def stored(db: Database) -> None:
    """The same fixture through the intake and the takedown steps."""
    db.migrate()
    desk = Takedown(db, AuditLog(db), RoutingPolicy("GB"), clock=lambda: AS_OF)
    ids = []
    for number, (reported, *_) in enumerate(ITEMS, start=1):
        if number == 10:
            continue
        urls = [f"site{number}.example/x"] + (["site10.example/x"] if number == 9 else [])
        ids += report(db, reported, *urls)[1]
        if number == 7:
            report(db, AGAIN, "site7.example/x")  # still open then: merged into item 7
    for item_id, (reported, status, days, country, (asn, net)) in zip(ids, ITEMS, strict=True):
        illegal = status in (REMOVED, REFERRED)
        assess(
            db,
            item_id,
            status=ItemStatus.ILLEGAL if illegal else status,
            country=country,
            asn=asn,
            network=net,
        )
        if days is not None:
            desk.recheck("user:ana", item_id, online=False, at=reported + timedelta(days=days))
        elif status == REFERRED:
            assess(db, item_id, status=REFERRED, country=country, asn=asn, network=net)


def row(
    key: str,
    reports: int,
    items: int,
    illegal: int,
    removed: int,
    median: float | None,
    p90: float | None,
    three: tuple[int, int],
    seven: tuple[int, int],
) -> dict[str, object]:
    out: dict[str, object] = {
        "key": key,
        "reports": reports,
        "items": items,
        "illegal": illegal,
        "removed": removed,
        "still_online": illegal - removed,
        "median_days": median,
        "p90_days": p90,
    }
    for days, (within, counted) in ((3, three), (7, seven)):
        out[f"removed_within_{days}d"] = within
        out[f"counted_{days}d"] = counted
        out[f"share_within_{days}d"] = within / counted if counted else None
    return out


EXPECTED_TOTAL = row("all", 10, 10, 7, 5, 3.0, 8.0, (3, 6), (4, 6))
EXPECTED_MONTHS = [
    row("2025-01", 4, 4, 4, 4, 3.75, 8.5, (2, 4), (3, 4)),
    row("2025-02", 3, 3, 2, 1, 3.0, 3.0, (1, 2), (1, 2)),
    row("2025-03", 3, 3, 1, 0, None, None, (0, 0), (0, 0)),
]
EXPECTED_COUNTRIES = [
    row("DE", 5, 4, 3, 2, 1.75, 2.35, (2, 3), (2, 3)),
    row("NL", 2, 2, 2, 2, 7.5, 9.5, (0, 2), (1, 2)),
    row("US", 1, 1, 1, 1, 3.0, 3.0, (1, 1), (1, 1)),
    row("FR", 1, 2, 0, 0, None, None, (0, 0), (0, 0)),
    row("unknown", 1, 1, 1, 0, None, None, (0, 0), (0, 0)),
]
EXPECTED_NETWORKS = [
    row("AS64500 Alpha", 3, 3, 3, 2, 1.75, 2.35, (2, 3), (2, 3)),
    row("AS64501 Beta", 2, 2, 2, 2, 7.5, 9.5, (0, 2), (1, 2)),
    row("unknown", 5, 5, 2, 1, 3.0, 3.0, (1, 1), (1, 1)),
]


def as_dicts(rows: list[Figures]) -> list[dict[str, object]]:
    return [row.to_dict() for row in rows]


def assert_rows(got: list[dict[str, object]], expected: list[dict[str, object]]) -> None:
    assert [r["key"] for r in got] == [r["key"] for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == pytest.approx(theirs), mine["key"]


def test_the_figures_match_the_hand_computed_ones() -> None:
    metrics = compute(facts(), AS_OF)
    assert metrics.total.to_dict() == pytest.approx(EXPECTED_TOTAL)
    assert_rows(as_dicts(metrics.months), EXPECTED_MONTHS)
    assert_rows(as_dicts(metrics.countries), EXPECTED_COUNTRIES)
    assert_rows(as_dicts(metrics.networks), EXPECTED_NETWORKS)


def test_the_store_gives_the_same_figures(db: Database) -> None:
    stored(db)
    metrics = load_metrics(db, as_of=AS_OF)
    assert metrics.total.to_dict() == pytest.approx(EXPECTED_TOTAL)
    assert_rows(as_dicts(metrics.months), EXPECTED_MONTHS)
    assert_rows(as_dicts(metrics.countries), EXPECTED_COUNTRIES)
    assert_rows(as_dicts(metrics.networks), EXPECTED_NETWORKS)
    body = metrics.to_dict()
    assert body["windows_days"] == [3, 7] and body["since"] is None
    february = load_metrics(db, since="2025-02", until="2025-02", as_of=AS_OF)
    assert_rows(as_dicts(february.months), [EXPECTED_MONTHS[1]])
    assert february.total.items == 3 and february.total.reports == 3  # not March's report
    spring = load_metrics(db, since="2025-02", as_of=AS_OF)
    assert [r.key for r in spring.months] == ["2025-02", "2025-03"]
    assert spring.months[1].reports == 3  # the report of 2025-03-02 names a February item


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        ("2025-13", None, "since"),
        ("March", None, "since"),
        (None, "2025-1-x", "until"),
        ("2025-03", "2025-02", "until"),
    ],
)
def test_a_bad_period_names_its_field(db: Database, since: str, until: str, field: str) -> None:
    db.migrate()
    with pytest.raises(InputError) as caught:
        load_metrics(db, since=since, until=until)
    assert caught.value.field == field


def test_no_items_no_figures(db: Database) -> None:
    db.migrate()
    metrics = load_metrics(db, as_of=AS_OF)
    assert metrics.months == [] and metrics.countries == [] and metrics.total.items == 0
    assert metrics.total.median_days is None and metrics.total.within[3].value is None


def test_csv_holds_the_same_numbers_and_no_formula() -> None:
    items = facts()
    items[0] = ItemFacts(
        1,
        items[0].reported_at,
        REMOVED,
        items[0].removed_at,
        "DE",
        '=HYPERLINK("http://evil.example")',
        items[0].reports,
    )
    metrics = compute(items, AS_OF)
    text = csv_text(metrics.networks, "network")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["network"] == "AS64500 Alpha"
    evil = [r for r in rows if "HYPERLINK" in r["network"]][0]
    assert evil["network"].startswith("'=")  # guarded: a spreadsheet shows it as text
    assert unguard_cell(evil["network"]) == '=HYPERLINK("http://evil.example")'
    alpha = rows[0]
    assert float(alpha["median_days"]) == 2.5 and alpha["removed_within_3d"] == "1"
    months = list(csv.DictReader(io.StringIO(csv_text(compute(facts(), AS_OF).months, "month"))))
    assert months[2]["median_days"] == "" and months[0]["share_within_7d"] == "0.75"
    assert next(csv.reader(io.StringIO(csv_text([], "country"))))[0] == "country"


def test_network_labels() -> None:
    assert network_label(64500, "Alpha") == "AS64500 Alpha"
    assert network_label("as13335", None) == "AS13335"
    assert network_label(None, " Host ") == "Host"
    assert network_label(None, None) is None and network_label("", "") is None


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=60))
def test_quantiles_are_type_7(values: list[float]) -> None:
    assert quantile(values, 0.5) == pytest.approx(statistics.median(values))
    if len(values) >= 2:
        expected = statistics.quantiles(values, n=10, method="inclusive")[8]
        assert quantile(values, 0.9) == pytest.approx(expected)
    assert min(values) <= quantile(values, 0.9) <= max(values)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 90),  # reported, days before as_of
            st.sampled_from(list(ItemStatus)),
            st.floats(0, 60, allow_nan=False),  # days to removal
        ),
        max_size=40,
    )
)
def test_shares_are_consistent(rows: list[tuple[int, ItemStatus, float]]) -> None:
    items = []
    for number, (age, status, days) in enumerate(rows):
        reported = AS_OF - timedelta(days=age)
        removed = reported + timedelta(days=min(days, age)) if status == REMOVED else None
        items.append(
            ItemFacts(number, reported, status, removed, None, None, ((number, reported),))
        )
    total = compute(items, AS_OF).total
    three, seven = total.within[3], total.within[7]
    assert three.removed <= seven.removed <= total.removed
    assert total.removed <= seven.counted <= three.counted <= total.illegal
    assert total.illegal == total.removed + total.still_online
    for share in (three, seven):
        assert share.value is None or 0 <= share.value <= 1
    if total.median_days is not None:
        assert total.p90_days is not None and total.median_days <= total.p90_days
