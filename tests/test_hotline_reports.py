"""Intake rules of public reports, on the store (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from safelight.constants import (
    HOTLINE_MAX_CONTACT,
    HOTLINE_MAX_DESCRIPTION,
    HOTLINE_MAX_URLS,
)
from safelight.errors import NotFoundError, ValidationError
from safelight.hotline import reports as reports_module
from safelight.hotline.model import ItemStatus, ReportStatus, report_status
from safelight.hotline.references import display
from safelight.hotline.reports import ReportRejected, ReportStore, Submission
from safelight.hotline.urls import parse_url
from safelight.store import Database
from safelight.store.hotline_tables import hotline_contacts, hotline_items

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db: Database, clock: Clock) -> ReportStore:
    return ReportStore(db, contact_key=Fernet.generate_key().decode(), clock=clock)


def set_status(db: Database, status: ItemStatus, **times: datetime) -> None:
    with db.begin() as conn:
        conn.execute(update(hotline_items).values(status=status.value, **times))


def test_a_report_gets_a_reference_and_its_items(store: ReportStore) -> None:
    submitted = store.submit(
        Submission(
            urls=["example.com/a", "https://bücher.de/", "http://203.0.113.9/x"],
            description="seen on a forum",
            site_type="forum",
            language="es",
        )
    )
    assert submitted.urls == 3 and submitted.merged == 0
    items = store.items(submitted.reference)
    assert [item["url"] for item in items] == [
        "http://example.com/a",
        "https://xn--bcher-kva.de/",
        "http://203.0.113.9/x",
    ]
    assert [item["host_is_ip"] for item in items] == [False, False, True]
    for item in items:
        assert item["status"] == "received" and item["notice_count"] == 0
        assert item["times_reported"] == 1
        assert item["assessed_at"] is None and item["removed_at"] is None
    status = store.status(submitted.reference)
    assert status.status == ReportStatus.RECEIVED and status.urls == 3
    assert status.created_at == T0
    assert store.status(display(submitted.reference).lower()).reference == submitted.reference


def test_the_same_url_twice_in_one_report_counts_once(store: ReportStore) -> None:
    submitted = store.submit(Submission(urls=["example.com/a", "HTTP://EXAMPLE.com:80/a#x"]))
    assert submitted.urls == 1


def test_a_url_still_open_is_merged_into_the_earlier_report(
    store: ReportStore, db: Database, clock: Clock
) -> None:
    first = store.submit(Submission(urls=["example.com/a", "example.com/b"]))
    clock.now = T0 + timedelta(hours=1)
    second = store.submit(Submission(urls=["http://example.com/a", "example.com/c"]))
    assert second.reference != first.reference
    assert second.merged == 1 and second.urls == 2
    shared = [item for item in store.items(second.reference) if item["url"].endswith("/a")]
    assert (
        len(shared) == 1 and shared[0]["report_id"] == store.items(first.reference)[0]["report_id"]
    )
    assert shared[0]["times_reported"] == 2
    assert shared[0]["last_reported_at"].replace(tzinfo=UTC) == clock.now
    with db.connect() as conn:
        assert len(conn.execute(select(hotline_items)).all()) == 3
    # the second reporter's status follows the shared item
    set_status(db, ItemStatus.IN_REVIEW)
    assert store.status(second.reference).status == ReportStatus.IN_REVIEW


def test_a_closed_url_reported_again_is_a_new_item(store: ReportStore, db: Database) -> None:
    store.submit(Submission(urls=["example.com/a"]))
    set_status(db, ItemStatus.REMOVED, removed_at=T0)
    again = store.submit(Submission(urls=["example.com/a"]))
    assert again.merged == 0
    assert store.items(again.reference)[0]["status"] == "received"


def test_every_problem_is_reported_at_once(store: ReportStore) -> None:
    with pytest.raises(ReportRejected) as rejected:
        store.submit(
            Submission(
                urls=["ftp://x.org", "", "http://a:b@x.org", "ok.example"],
                description="d" * (HOTLINE_MAX_DESCRIPTION + 1),
                site_type="darkweb",
                contact="c" * (HOTLINE_MAX_CONTACT + 1),
            )
        )
    found = [(p.field, p.code) for p in rejected.value.report_problems]
    assert found == [
        ("urls[0]", "url_scheme"),
        ("urls[2]", "url_credentials"),
        ("description", "too_long"),
        ("contact", "too_long"),
        ("site_type", "site_type"),
    ]
    assert rejected.value.codes >= {"url_scheme", "too_long"}
    assert "urls[0]" in rejected.value.message
    assert store.count() == 0  # nothing stored


def test_url_count_bounds(store: ReportStore) -> None:
    for urls in ([], ["", "  "]):
        with pytest.raises(ReportRejected, match="at least one"):
            store.submit(Submission(urls=urls))
    many = [f"example.com/{n}" for n in range(HOTLINE_MAX_URLS)]
    assert store.submit(Submission(urls=many)).urls == HOTLINE_MAX_URLS
    with pytest.raises(ReportRejected, match=f"at most {HOTLINE_MAX_URLS}"):
        store.submit(Submission(urls=[*many, "example.com/x"]))
    edge = Submission(
        urls=["example.com"], description="d" * HOTLINE_MAX_DESCRIPTION, contact="c" * 500
    )
    assert store.submit(edge).urls == 1


def test_contacts_are_encrypted_apart_and_purged(
    store: ReportStore, db: Database, clock: Clock
) -> None:
    submitted = store.submit(Submission(urls=["example.com"], contact=" me@example.org "))
    anonymous = store.submit(Submission(urls=["example.org"], contact="  "))
    with db.connect() as conn:
        stored = conn.execute(select(hotline_contacts)).mappings().all()
    assert len(stored) == 1
    assert stored[0]["contact"].startswith("fernet:") and "example.org" not in stored[0]["contact"]
    assert store.contact(submitted.reference) == "me@example.org"
    assert store.contact(anonymous.reference) is None
    clock.now = T0 + timedelta(days=89)
    assert store.purge_contacts() == 0
    clock.now = T0 + timedelta(days=90)
    assert store.purge_contacts() == 1
    assert store.contact(submitted.reference) is None


def test_contacts_without_a_key_and_with_the_wrong_key(db: Database) -> None:
    plain = ReportStore(db)
    submitted = plain.submit(Submission(urls=["example.com"], contact="me"))
    assert plain.contact(submitted.reference) == "me"
    sealed = ReportStore(db, contact_key=Fernet.generate_key().decode())
    other = sealed.submit(Submission(urls=["example.net"], contact="you"))
    with pytest.raises(ValidationError, match="no contact key"):
        plain.contact(other.reference)
    with pytest.raises(ValidationError, match="does not open"):
        ReportStore(db, contact_key=Fernet.generate_key().decode()).contact(other.reference)


def test_unknown_and_malformed_references_are_not_found(store: ReportStore) -> None:
    store.submit(Submission(urls=["example.com"]))
    for text in ("", "nonsense", "0000000000", "ZZZZZ-ZZZZZ"):
        with pytest.raises(NotFoundError):
            store.status(text)


def test_a_reference_clash_is_retried(store: ReportStore, monkeypatch: pytest.MonkeyPatch) -> None:
    first = store.submit(Submission(urls=["example.com"]))
    issued = iter([first.reference, first.reference])
    fresh = reports_module.new_reference
    monkeypatch.setattr(reports_module, "new_reference", lambda: next(issued, None) or fresh())
    second = store.submit(Submission(urls=["example.org"]))
    assert second.reference != first.reference
    monkeypatch.setattr(reports_module, "new_reference", lambda: first.reference)
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        store.submit(Submission(urls=["example.net"]))


def test_status_moves_with_the_items(store: ReportStore, db: Database) -> None:
    submitted = store.submit(Submission(urls=["example.com"]))
    later = T0 + timedelta(days=2)
    set_status(db, ItemStatus.REMOVED, assessed_at=later, removed_at=later)
    status = store.status(submitted.reference)
    assert status.status == ReportStatus.COMPLETED and status.updated_at == later
    assert status.to_dict()["status"] == "completed"


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([ItemStatus.RECEIVED, ItemStatus.RECEIVED], ReportStatus.RECEIVED),
        ([ItemStatus.RECEIVED, ItemStatus.IN_REVIEW], ReportStatus.IN_REVIEW),
        ([ItemStatus.REMOVED, ItemStatus.REFERRED], ReportStatus.IN_REVIEW),
        ([ItemStatus.REMOVED, ItemStatus.ILLEGAL], ReportStatus.IN_REVIEW),
        ([ItemStatus.REMOVED, ItemStatus.NOT_ILLEGAL], ReportStatus.COMPLETED),
        ([ItemStatus.CLOSED], ReportStatus.COMPLETED),
        ([ItemStatus.RECEIVED, ItemStatus.NOT_ILLEGAL], ReportStatus.IN_REVIEW),
    ],
)
def test_report_status_from_item_statuses(items: list[ItemStatus], expected: ReportStatus) -> None:
    assert report_status(items) == expected


# --- merging against a dictionary model ------------------------------------------------------

URL_POOL = ["a.example/1", "http://A.example/1", "a.example/2", "b.example", "https://b.example"]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.lists(st.sampled_from(URL_POOL), min_size=1, max_size=4)),
        st.tuples(st.just("close"), st.sampled_from(URL_POOL)),
    ),
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_merging_agrees_with_a_dictionary_model(
    tmp_path_factory: pytest.TempPathFactory, script: list[tuple[str, Any]]
) -> None:
    """Open items by normalised URL, each with its report count: the store and a plain
    dictionary (the obvious model) agree after any sequence of reports and closures."""
    folder = tmp_path_factory.mktemp("merge")
    db = Database.open(f"sqlite:///{folder / 'store.db'}")
    store = ReportStore(db)
    open_items: dict[str, int] = {}  # normalised URL -> times reported
    closed = 0
    try:
        for action, argument in script:
            if action == "submit":
                distinct = {parse_url(text).url for text in argument}
                submitted = store.submit(Submission(urls=argument))
                assert submitted.merged == sum(url in open_items for url in distinct)
                for url in distinct:
                    open_items[url] = open_items.get(url, 0) + 1
            else:
                url = parse_url(argument).url
                if url in open_items:
                    with db.begin() as conn:
                        conn.execute(
                            update(hotline_items)
                            .where(hotline_items.c.url == url, hotline_items.c.status == "received")
                            .values(status=ItemStatus.CLOSED.value)
                        )
                    del open_items[url]
                    closed += 1
        with db.connect() as conn:
            rows = conn.execute(select(hotline_items)).mappings().all()
        still_open = {
            row["url"]: row["times_reported"] for row in rows if row["status"] == "received"
        }
        assert still_open == open_items
        assert len(rows) - len(still_open) == closed
    finally:
        db.dispose()


def test_which_items_take_later_reports() -> None:
    taking = [status.value for status in ItemStatus if status.is_open]
    assert taking == ["received", "in_review", "illegal"]
