"""Reviewer wellness: reveals audited, originals only inside a reveal, viewing time per local
day, the daily limit (lowered by the user, set by an admin), break reminders, known material
never shown again (docs/wellness.md). Time is moved by hand (``Clock``), never slept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import ConflictError
from safelight.hotline.media import CaptureStore, MediaPolicy
from safelight.hotline.model import ItemStatus
from safelight.hotline.viewing_time import Interval, day_bounds, since_break, total_within
from safelight.hotline.wellness import WellnessStore
from safelight.hotline.wellness_settings import WellnessDefaults
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.store import Database
from tests.hotline_media_support import (
    KEY,
    Clock,
    make_known,
    media_app,
    new_item,
    screenshot_png,
    sign_in,
    upload,
)
from tests.service_support import BASE, add_user, bearer, make_token

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
DEFAULTS = WellnessDefaults(8, True, 240, 5.0, 50, 10, "UTC")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the rules, without a store --------------------------------------------------------------


def test_day_bounds_follow_the_time_zone_and_dst() -> None:
    start, end = day_bounds(datetime(2026, 3, 10, 23, 30, tzinfo=UTC), "Europe/Berlin")
    assert start == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 00:00 CET on the 11th
    assert end - start == timedelta(hours=24)
    spring = day_bounds(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), "Europe/Berlin")
    assert spring[1] - spring[0] == timedelta(hours=23)
    autumn = day_bounds(datetime(2026, 10, 25, 12, 0, tzinfo=UTC), "Europe/Berlin")
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert day_bounds(T0, "UTC") == (
        datetime(2026, 3, 10, tzinfo=UTC),
        datetime(2026, 3, 11, tzinfo=UTC),
    )


def test_a_viewing_across_midnight_counts_on_each_day() -> None:
    start, end = day_bounds(datetime(2026, 3, 11, 0, 10, tzinfo=UTC), "UTC")
    crossing = Interval(
        datetime(2026, 3, 10, 23, 58, tzinfo=UTC), datetime(2026, 3, 11, 0, 3, tzinfo=UTC)
    )
    assert total_within([crossing], start, end) == timedelta(minutes=3)


minute_spans = st.lists(st.tuples(st.integers(0, 300), st.integers(1, 60)), max_size=12).map(
    lambda spans: [Interval(at(s), at(s + length)) for s, length in spans]
)


@settings(max_examples=200, deadline=None)
@given(minute_spans, st.integers(0, 300), st.integers(1, 300))
def test_total_within_counts_each_minute_once(
    intervals: list[Interval], window_start: int, window_length: int
) -> None:
    covered = {
        minute
        for interval in intervals
        for minute in range(
            int((interval.start - T0) / timedelta(minutes=1)),
            int((interval.end - T0) / timedelta(minutes=1)),
        )
    }
    window = set(range(window_start, window_start + window_length))
    expected = timedelta(minutes=len(covered & window))
    assert total_within(intervals, at(window_start), at(window_start + window_length)) == expected


@settings(max_examples=200, deadline=None)
@given(minute_spans, st.integers(1, 30))
def test_since_break_matches_a_minute_by_minute_walk(intervals: list[Interval], pause: int) -> None:
    now_minute = 400
    covered = {
        minute
        for interval in intervals
        for minute in range(
            int((interval.start - T0) / timedelta(minutes=1)),
            int((interval.end - T0) / timedelta(minutes=1)),
        )
    }
    viewed, idle = 0, 0  # walk back from now: stop at the first idle run of `pause` minutes
    for minute in range(now_minute - 1, -1, -1):
        if minute in covered:
            viewed, idle = viewed + 1, 0
        else:
            idle += 1
            if idle >= pause:
                break
    streak, _ = since_break(intervals, at(now_minute), timedelta(minutes=pause))
    assert streak == timedelta(minutes=viewed)


# --- over HTTP, with sessions ----------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@contextmanager
def prepared(
    db: Database, clock: Clock, **overrides: object
) -> Iterator[tuple[TestClient, dict[str, str], int, int]]:
    """A signed-in analyst (alice) with one capture on one item."""
    add_user(db, "alice", Role.ANALYST)
    item = new_item(db)
    with TestClient(media_app(db, clock, **overrides), base_url=BASE) as client:
        csrf = sign_in(client, "alice")
        created = upload(client, item, screenshot_png(21), csrf)
        assert created.status_code == 201, created.text
        yield client, csrf, item, created.json()["id"]


def base(item: int, capture: int) -> str:
    return f"/api/v1/hotline/items/{item}/captures/{capture}"


def test_reveal_serves_the_original_for_a_short_time_and_is_audited(
    db: Database, clock: Clock
) -> None:
    with prepared(db, clock, wellness_reveal_minutes=5) as (client, csrf, item, capture):
        url = base(item, capture)
        before = client.get(url + "/original")
        assert before.status_code == 403 and before.json()["error"]["code"] == "not_revealed"
        revealed = client.post(url + "/reveal", headers=csrf)
        assert revealed.status_code == 200, revealed.text
        body = revealed.json()
        assert body["original_url"] == url + "/original"
        original = client.get(url + "/original")
        assert original.status_code == 200 and original.content == screenshot_png(21)
        assert original.headers["cache-control"] == "no-store"
        assert original.headers["content-type"] == "image/png"
        clock.advance(minutes=5, seconds=1)  # the cap
        assert client.get(url + "/original").status_code == 403
        client.post(url + "/reveal", headers=csrf)
        blurred = client.post(url + "/blur", headers=csrf)
        assert blurred.json()["ended"] == 1
        assert client.get(url + "/original").status_code == 403
        status = client.get("/api/v1/me/wellness").json()
        assert status["viewed_seconds"] == 300 and status["open_viewing"] is None
    entries = [e for e in AuditLog(db).entries() if e.action.startswith("hotline.capture.")]
    reveals = [e for e in entries if e.action == "hotline.capture.reveal"]
    assert len(reveals) == 2
    assert reveals[0].actor == "user:alice" and reveals[0].target == f"capture:{capture}"
    assert reveals[0].details["item"] == item
    assert [e.action for e in entries][-1] == "hotline.capture.blur"
    assert AuditLog(db).verify().ok


def test_a_second_reveal_ends_the_first(db: Database, clock: Clock) -> None:
    with prepared(db, clock) as (client, csrf, item, first):
        second = upload(client, item, screenshot_png(22), csrf).json()["id"]
        client.post(base(item, first) + "/reveal", headers=csrf)
        clock.advance(minutes=2)
        client.post(base(item, second) + "/reveal", headers=csrf)
        assert client.get(base(item, first) + "/original").status_code == 403
        assert client.get(base(item, second) + "/original").status_code == 200
        clock.advance(minutes=1)
        assert client.get("/api/v1/me/wellness").json()["viewed_seconds"] == 180


def test_the_daily_limit_refuses_reveals_and_audits_the_refusal(db: Database, clock: Clock) -> None:
    with prepared(db, clock, wellness_daily_limit_minutes=12, wellness_reveal_minutes=5) as (
        client,
        csrf,
        item,
        capture,
    ):
        url = base(item, capture) + "/reveal"
        for _ in range(2):
            assert client.post(url, headers=csrf).status_code == 200
            clock.advance(minutes=6)  # each reveal is capped at 5 minutes
        last = client.post(url, headers=csrf).json()
        assert last["viewing"]["ends_at"] == at(12 + 2).isoformat()  # only the 2 minutes left
        clock.advance(minutes=3)
        status = client.get("/api/v1/me/wellness").json()
        assert status["viewed_seconds"] == 12 * 60 and status["limit_reached"] is True
        refused = client.post(url, headers=csrf)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "daily_limit"
        assert "12 minutes" in refused.json()["error"]["message"]
        clock.now = datetime(2026, 3, 11, 0, 0, 1, tzinfo=UTC)  # a new day (UTC)
        assert client.post(url, headers=csrf).status_code == 200
    refusals = [e for e in AuditLog(db).entries() if e.action == "hotline.capture.reveal_refused"]
    assert len(refusals) == 1 and refusals[0].details["reason"] == "daily_limit"


def test_users_may_only_lower_their_limit_and_admins_set_it(db: Database, clock: Clock) -> None:
    with prepared(db, clock, wellness_daily_limit_minutes=240) as (client, csrf, item, capture):
        lowered = client.patch("/api/v1/me/wellness", json={"daily_limit_minutes": 3}, headers=csrf)
        assert lowered.status_code == 200, lowered.text
        assert lowered.json()["limit_minutes"] == 3
        higher = client.patch(
            "/api/v1/me/wellness", json={"daily_limit_minutes": 300}, headers=csrf
        )
        assert higher.status_code == 400
        assert higher.json()["error"]["details"]["field"] == "daily_limit_minutes"
        for bad in ({"blur_percent": 0}, {"break_minutes": 2}, {"time_zone": "Nowhere/City"}, {}):
            assert client.patch("/api/v1/me/wellness", json=bad, headers=csrf).status_code == 400
        client.post(base(item, capture) + "/reveal", headers=csrf)
        clock.advance(minutes=3)
        refused = client.post(base(item, capture) + "/reveal", headers=csrf)
        assert refused.json()["error"]["code"] == "daily_limit"
    admin = make_token(db, "root-token", Role.ADMIN)
    with TestClient(media_app(db, clock), base_url=BASE) as other:
        set_limit = other.put(
            "/api/v1/hotline/wellness/users/alice",
            json={"admin_limit_minutes": 480},
            headers=bearer(admin),
        )
        assert set_limit.status_code == 200
        settings_now = set_limit.json()["settings"]
        assert settings_now["ceiling_minutes"] == 480 and settings_now["daily_limit_minutes"] == 3
        unknown = other.put(
            "/api/v1/hotline/wellness/users/nobody",
            json={"admin_limit_minutes": 5},
            headers=bearer(admin),
        )
        assert unknown.status_code == 404
        analyst = make_token(db, "a-token", Role.ANALYST)
        assert (
            other.put(
                "/api/v1/hotline/wellness/users/alice",
                json={"admin_limit_minutes": 900},
                headers=bearer(analyst),
            ).status_code
            == 403
        )
    assert any(e.action == "wellness.admin_limit" for e in AuditLog(db).entries())


def test_break_reminder_after_continuous_viewing(db: Database, clock: Clock) -> None:
    with prepared(
        db,
        clock,
        wellness_break_after_minutes=50,
        wellness_break_minutes=10,
        wellness_reveal_minutes=5,
    ) as (client, csrf, item, capture):
        url = base(item, capture) + "/reveal"
        for _ in range(10):  # 10 reveals of 5 minutes, 1 minute apart: 50 minutes viewed
            client.post(url, headers=csrf)
            clock.advance(minutes=6)
        status = client.get("/api/v1/me/wellness").json()
        assert status["since_break_seconds"] == 50 * 60 and status["break_due"] is True
        assert status["break_until"] == (at(59) + timedelta(minutes=10)).isoformat()
        clock.advance(minutes=9)  # 10 minutes since the last viewing ended
        assert client.get("/api/v1/me/wellness").json()["break_due"] is False


def test_material_that_needs_no_viewing_is_never_revealed(db: Database, clock: Clock) -> None:
    captures = CaptureStore(
        db,
        MediaPolicy(True, KEY, 10_000_000, 60.0, timedelta(days=1)),
        audit=AuditLog(db),
        clock=clock,
    )
    capture = captures.add(new_item(db), screenshot_png(24), by="user:alice")
    store = WellnessStore(db, DEFAULTS, audit=AuditLog(db), clock=clock)
    with pytest.raises(ConflictError) as refused:
        store.reveal("user:alice", capture, needed=False)
    assert refused.value.code == "no_viewing_needed"
    assert store.status("user:alice").viewed == timedelta()
    refusals = [e for e in AuditLog(db).entries() if e.action == "hotline.capture.reveal_refused"]
    assert refusals[0].details == {
        "item": capture.item_id,
        "reason": "no_viewing_needed",
        "viewed_seconds": 0,
    }


def test_only_known_material_needs_no_viewing(db: Database, clock: Clock) -> None:
    assessed = new_item(
        db, "example.com/assessed", status=ItemStatus.ILLEGAL, classification="baseline"
    )
    with prepared(db, clock, four_eyes=False) as (client, csrf, item, capture):
        known = new_item(db, "example.com/known")
        other = upload(client, known, screenshot_png(23), csrf).json()["id"]
        captures = f"/api/v1/hotline/items/{known}/captures"
        assert client.get(captures).json()["viewing_needed"] is True  # not known yet
        make_known(db, client, csrf, known)
        assert client.get(captures).json()["viewing_needed"] is False
        refused = client.post(base(known, other) + "/reveal", headers=csrf)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_viewing_needed"
        for waiting in (assessed, item):  # assessed or not, material no list knows is viewed
            assert client.get(f"/api/v1/hotline/items/{waiting}/captures").json()["viewing_needed"]
        assert client.post(base(item, capture) + "/reveal", headers=csrf).status_code == 200


def test_tokens_see_previews_but_never_reveal(db: Database, clock: Clock) -> None:
    with prepared(db, clock) as (client, csrf, item, capture):
        token = make_token(db, "bot", Role.ANALYST)
        bot = client.post(base(item, capture) + "/reveal", headers=bearer(token))
        assert bot.status_code == 403 and bot.json()["error"]["code"] == "people_only"
        original = client.get(base(item, capture) + "/original", headers=bearer(token))
        assert original.status_code == 403
        preview = client.get(base(item, capture) + "/preview", headers=bearer(token))
        assert preview.status_code == 200


def test_previews_follow_the_users_settings(db: Database, clock: Clock) -> None:
    import io

    from PIL import Image

    with prepared(db, clock) as (client, csrf, item, capture):
        grey = Image.open(io.BytesIO(client.get(base(item, capture) + "/preview").content))
        assert grey.mode == "L"
        client.patch(
            "/api/v1/me/wellness", json={"greyscale": False, "blur_percent": 3}, headers=csrf
        )
        colour = Image.open(io.BytesIO(client.get(base(item, capture) + "/preview").content))
        assert colour.mode == "RGB"
        reset = client.patch("/api/v1/me/wellness", json={"greyscale": None}, headers=csrf).json()
        assert reset["settings"]["greyscale"] is True and reset["settings"]["own"] == {
            "blur_percent": 3
        }


def test_the_viewing_day_follows_the_users_time_zone(db: Database, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 10, 22, 50, tzinfo=UTC)  # 23:50 in Berlin
    with prepared(db, clock, wellness_reveal_minutes=30) as (client, csrf, item, capture):
        client.patch("/api/v1/me/wellness", json={"time_zone": "Europe/Berlin"}, headers=csrf)
        client.post(base(item, capture) + "/reveal", headers=csrf)
        clock.advance(minutes=20)  # 00:10 in Berlin: only 10 minutes belong to the new day
        status = client.get("/api/v1/me/wellness").json()
        assert status["viewed_seconds"] == 600
        assert status["day_start"] == "2026-03-10T23:00:00+00:00"
