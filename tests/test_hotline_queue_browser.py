"""The analyst queue as an analyst uses it, in Debian's Chromium driven by Playwright: sign
in, filter the queue, claim an item, open it and see where it is hosted (the real resolver
behind a table DNS); axe-core finds no serious violation on the queue and item pages, in
English and German. Screenshots: queue-*.png and item-*.png (``server`` here is a workspace
with reports and a resolver; ``browser`` and ``shots`` come from tests/browser_support.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safelight.hotline.desk import AnalystDesk
from safelight.service.audit import AuditLog
from safelight.service.roles import Principal, Role
from safelight.store import Database
from tests.browser_support import new_page, serious_violations, serve, sign_in
from tests.hotline_support import Reports, app_with_resolver, fake_resolver
from tests.service_support import add_user


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[str]:
    """A workspace with two analysts and a few reports, some already taken and located."""
    add_user(db, "ana", Role.ANALYST)
    add_user(db, "ben", Role.ANALYST)
    reports = Reports(db)
    for url, at, site_type, description in (
        ("images.example/gallery/17", 0, "image_host", "A gallery page reported twice."),
        ("forum.example/thread/204", 20, "forum", "A forum thread."),
        ("files.example/d/8f2a", 30, "file_host", ""),
        ("http://192.0.2.99/x/index.html", 44, None, ""),
        ("gone.example/p", 50, "website", ""),
        ("forum.example/thread/318", 60, "forum", ""),
    ):
        reports.submit(url, at=at, site_type=site_type, description=description)
    reports.submit("images.example/gallery/17", at=70, site_type="other")
    resolver = fake_resolver(tmp_path)
    ben = Principal("user", "ben", frozenset({Role.ANALYST}))
    desk = AnalystDesk(db, audit=AuditLog(db), resolver=lambda: resolver)
    for item_id in reports.item_ids(reports.submit("files.example/d/8f2a", at=71)):
        desk.claim(item_id, ben)

    yield from serve(app_with_resolver(db, resolver, cookie_secure=False))


def open_queue(page: Any, server: str, user: str = "ana") -> None:
    sign_in(page, server, user)
    page.goto(f"{server}/workspace/queue")
    page.wait_for_selector("table.queue")


def test_an_analyst_filters_claims_and_sees_where_it_is_hosted(
    server: str, browser: Any, shots: Path
) -> None:
    page = new_page(browser, width=1280)
    open_queue(page, server)
    assert page.get_by_role("heading", level=1).inner_text() == "Queue"
    assert page.locator("table.queue tbody tr").count() == 6
    page.get_by_label("Type of site").select_option("forum")
    page.get_by_label("Received").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2
    assert "forum.example/thread/204" in rows.nth(0).inner_text()
    # claim the first with the keyboard: focus its button, press Enter
    rows.nth(0).get_by_role("button", name="Claim").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".done")
    assert "You hold item" in page.locator(".done").inner_text()
    assert "site_type=forum" in page.url and "status=received" in page.url  # filters kept
    # it is in review now: the "received" filter leaves it out
    assert page.locator("table.queue tbody tr").count() == 1
    page.get_by_label("In review").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    mine = page.locator("table.queue tbody tr", has_text="forum.example/thread/204")
    assert mine.get_by_role("button").count() == 0 and "Yours" in mine.inner_text()
    page.get_by_role("link", name="http://forum.example/thread/204").click()
    page.wait_for_selector("#panel-resolution")
    assert page.locator("#item-holder").inner_text().startswith("ana, since")
    assert page.locator("#item-status").inner_text() == "In review"
    assert page.locator("#hosting-ip").inner_text() == "198.51.100.20"
    assert page.locator("#hosting-country").inner_text() == "Germany (DE)"
    assert page.locator("#hosting-network").inner_text() == "Beispiel Rechenzentrum GmbH AS64501"
    other = page.locator("#panel-resolution").get_by_role(
        "link", name="http://forum.example/thread/318"
    )
    assert other.is_visible()  # another address reported on the same host


@pytest.mark.parametrize(("lang", "locale"), [("en", "en-GB"), ("de", "de-DE")])
def test_axe_finds_no_serious_violation_on_queue_and_item(
    server: str, browser: Any, shots: Path, lang: str, locale: str
) -> None:
    page = new_page(browser, locale=locale, width=1280)
    open_queue(page, server)
    page.goto(f"{server}/workspace/queue?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"queue-{lang}.png"), full_page=True)
    page.get_by_role("link", name="http://files.example/d/8f2a").click()
    page.wait_for_selector("#panel-resolution")
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"item-{lang}.png"), full_page=True)
    page.goto(f"{server}/workspace/queue?older_than_days=soon")
    assert page.locator(".errors").is_visible()
    assert serious_violations(page) == []
