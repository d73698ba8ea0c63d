"""Four eyes in the browser: analyst A classifies, analyst B confirms, in Debian's Chromium
driven by Playwright (fixtures of tests/browser_support.py); axe-core finds no serious
or critical violation on any state of the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safelight.service.roles import Role
from safelight.store import Database
from tests.browser_support import new_page, serious_violations, sign_in
from tests.hotline_class_support import PDQ, item, report_items
from tests.service_support import add_user


def signed_in(browser: Any, server: str, user: str, target: str, locale: str = "en-GB") -> Any:
    page = new_page(browser, locale=locale)
    sign_in(page, server, user)
    page.goto(f"{server}{target}")
    page.wait_for_selector("#panel-classification")
    return page


def test_analyst_a_classifies_and_analyst_b_confirms(
    db: Database, server: str, browser: Any, shots: Path
) -> None:
    add_user(db, "alice", Role.ANALYST)
    add_user(db, "bob", Role.ANALYST)
    _, (item_id,) = report_items(db, "images.example/gallery/7")
    target = f"/workspace/items/{item_id}/classification"

    alice = signed_in(browser, server, "alice", target)
    assert serious_violations(alice) == []
    alice.get_by_label("Illegal everywhere (INTERPOL baseline)").check()
    alice.get_by_label("Age group").select_option("pre_pubescent")
    alice.get_by_label("Gender").select_option("female")
    alice.get_by_label("Type of site").select_option("image_host")
    alice.get_by_label("No, not commercial").check()
    alice.get_by_label("Notes").fill("grid of images, watermark of a known series")
    alice.get_by_role("button", name="Save the classification").click()
    alice.wait_for_selector("#classification-state")
    assert alice.locator("#classification-state").inner_text() == (
        "Awaiting confirmation by a second analyst"
    )
    assert alice.get_by_role("button", name="Confirm this classification").count() == 0
    alice.get_by_label("Add hashes, one per line").fill(f"pdq {PDQ}")
    alice.get_by_role("button", name="Add hashes").click()
    alice.wait_for_selector("td.mono")
    assert serious_violations(alice) == []
    alice.screenshot(path=str(shots / "classification-awaiting-en.png"), full_page=True)
    assert item(db, item_id)["status"] == "in_review"

    bob = signed_in(browser, server, "bob", f"{target}?lang=de", locale="de-DE")
    assert bob.locator("html").get_attribute("lang") == "de"
    assert bob.locator("#classification-state").inner_text() == (
        "Wartet auf Bestätigung durch eine zweite Person"
    )
    assert serious_violations(bob) == []
    bob.get_by_role("button", name="Diese Klassifizierung bestätigen").click()
    bob.wait_for_selector("#classification-state:has-text('Bestätigt von user:bob')")
    assert bob.locator("#classification-illegality").inner_text() == (
        "Überall illegal (INTERPOL-Baseline)"
    )
    assert serious_violations(bob) == []
    bob.screenshot(path=str(shots / "classification-confirmed-de.png"), full_page=True)
    shown = item(db, item_id)
    assert (shown["status"], shown["classification"]) == ("illegal", "baseline")
