"""Routing and takedown as people use it, in Debian's Chromium driven by Playwright: an
admin adds a partner, an analyst refers an item and records its removal, and the metrics
page shows it. axe-core checks every page (no serious or critical violation). Screenshots
of the partners and metrics pages in English and Japanese (and of the takedown page and
the item page's routing panel) go to ``$SAFELIGHT_SCREENSHOTS``
(docs/screenshots is made with ``SAFELIGHT_SCREENSHOTS=docs/screenshots``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safelight.service.roles import Role
from safelight.store import Database
from tests.browser_support import new_page, serious_violations, serve
from tests.browser_support import sign_in as sign_in_page
from tests.routing_support import assess, item_row, report
from tests.service_support import add_user, make_app

pytest.importorskip("playwright.sync_api")

REPORTED = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=4)


@pytest.fixture
def server(db: Database) -> Iterator[str]:
    """The service over the test's store, with a routing policy (own country, fallback)."""
    add_user(db, "admin", Role.ADMIN)
    add_user(db, "ana", Role.ANALYST)
    app = make_app(db, cookie_secure=False, organisation_country="GB", fallback_partner="INTERPOL")
    yield from serve(app)


def sign_in(browser: Any, server: str, user: str) -> Any:
    page = new_page(browser)
    sign_in_page(page, server, user)
    return page


def no_serious_violation(page: Any, what: str) -> None:
    found = serious_violations(page)
    assert found == [], f"{what}: {found}"


def test_admin_adds_a_partner_analyst_refers_and_metrics_show_the_removal(
    server: str, browser: Any, shots: Path, db: Database
) -> None:
    _, (item,) = report(db, REPORTED, "bad.example/gallery")
    _, (other,) = report(db, REPORTED - timedelta(days=30), "other.example/x")
    assess(db, item, country="DE", asn=64500, network="Example Hosting", at=REPORTED)
    assess(db, other, country="NL", asn=64501, network="Other Net", at=REPORTED)

    admin = sign_in(browser, server, "admin")
    admin.get_by_role("link", name="Partners").first.click()
    admin.wait_for_selector("h1")
    no_serious_violation(admin, "partners (empty)")
    admin.get_by_label("Country").select_option("DE")
    admin.get_by_label("Hotline").check()
    admin.get_by_label("Name").fill("eco Beschwerdestelle")
    admin.get_by_label("Contact").fill("https://hotline.example.de/report")
    admin.get_by_label("Notes").fill("Forwards through ICCAM")
    admin.get_by_role("button", name="Add partner").click()
    admin.wait_for_selector("text=The partner was added.")
    for country, kind, name, contact in (
        ("GB", "Law enforcement", "National Crime Agency", "cse-referrals@nca.example"),
        ("FR", "Law enforcement", "INTERPOL", "cac@interpol.example"),
    ):
        admin.get_by_label("Country").select_option(country)
        admin.get_by_label(kind).check()
        admin.get_by_label("Name").fill(name)
        admin.get_by_label("Contact").fill(contact)
        admin.get_by_role("button", name="Add partner").click()
        admin.wait_for_selector("text=The partner was added.")
    row = admin.locator("tr", has_text="eco Beschwerdestelle")
    assert "Germany (DE)" in row.inner_text() and "Active" in row.inner_text()
    no_serious_violation(admin, "partners")
    admin.screenshot(path=str(shots / "partners-en.png"), full_page=True)
    admin.goto(f"{server}/workspace/partners?lang=ja")
    assert admin.locator("html").get_attribute("lang") == "ja"
    assert admin.get_by_role("heading", name="パートナーを追加する").is_visible()
    no_serious_violation(admin, "partners (ja)")
    admin.screenshot(path=str(shots / "partners-ja.png"), full_page=True)

    analyst = sign_in(browser, server, "ana")
    analyst.goto(f"{server}/workspace/items/{item}")  # the item page, with its routing panel
    panel = analyst.locator("#panel-routing")
    assert panel.locator("#routing-suggestion").inner_text().startswith("eco Beschwerdestelle")
    no_serious_violation(analyst, "item page with the routing panel")
    referred_at = REPORTED + timedelta(hours=1)
    panel.get_by_label("Referred at (UTC)").fill(referred_at.strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_label("Note", exact=True).first.fill("forwarded via ICCAM")
    panel.get_by_role("button", name="Refer", exact=True).click()
    analyst.wait_for_selector("#panel-routing tr.event-referred")
    assert "/workspace/items/" in analyst.url and "done=referred" in analyst.url
    analyst.locator("#panel-routing").screenshot(path=str(shots / "item-routing-en.png"))
    analyst.goto(f"{server}/workspace/items/{item}/takedown")
    removed_at = REPORTED + timedelta(days=2, hours=6)
    analyst.get_by_label("Removed").check()
    analyst.get_by_label("Checked at (UTC)").fill(removed_at.strftime("%Y-%m-%dT%H:%M"))
    analyst.get_by_role("button", name="Record re-check").click()
    analyst.wait_for_selector("text=The removal was recorded.")
    steps = analyst.locator("table.timeline tbody tr td:nth-child(2)").all_inner_texts()
    assert steps == ["Reported", "Assessed", "Referred", "Re-checked: removed"]
    no_serious_violation(analyst, "takedown page after removal")
    analyst.screenshot(path=str(shots / "takedown-en.png"), full_page=True)
    assert item_row(db, item)["status"] == "removed"

    analyst.get_by_role("link", name="Metrics").first.click()
    analyst.wait_for_selector("#numbers-countries")
    germany = analyst.locator("#numbers-countries tr", has_text="Germany (DE)")
    cells = germany.locator("td").all_inner_texts()
    assert cells[:4] == ["1", "1", "1", "1"]  # reports, items, illegal, removed
    assert cells[5] == "2.3"  # median days: 2 days 6 hours
    assert analyst.locator("svg#chart-countries title").first.text_content().startswith("Items")
    no_serious_violation(analyst, "metrics")
    analyst.screenshot(path=str(shots / "metrics-en.png"), full_page=True)
    analyst.goto(f"{server}/workspace/metrics?lang=ja")
    assert analyst.locator("#numbers-countries tr", has_text="ドイツ (DE)").count() == 1
    no_serious_violation(analyst, "metrics (ja)")
    analyst.screenshot(path=str(shots / "metrics-ja.png"), full_page=True)
    with analyst.expect_download() as download:
        analyst.locator('a[href^="/workspace/metrics.csv?table=countries"]').click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[1].startswith("DE,1,1,1,1,0,2.25,2.25")
