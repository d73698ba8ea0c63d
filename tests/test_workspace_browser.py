"""The workspace shell in Chromium: signing in with the keyboard alone, the sign-in and home
pages free of serious accessibility violations in two languages, and screenshots of both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safelight.service.roles import Role
from safelight.store import Database
from tests.browser_support import new_page, serious_violations, sign_in
from tests.service_support import PASSWORD, add_user


@pytest.mark.parametrize("lang", ["en", "de"])
def test_sign_in_and_home_pass_axe(
    db: Database, server: str, browser: Any, shots: Path, lang: str
) -> None:
    add_user(db, "ana", Role.ANALYST)
    page = new_page(browser)
    page.goto(f"{server}/workspace/login?lang={lang}")
    assert page.get_attribute("html", "lang") == lang
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"workspace-login-{lang}.png"), full_page=True)
    sign_in(page, server, "ana")
    assert page.get_attribute("html", "lang") == lang  # the choice is kept in a cookie
    assert page.url == f"{server}/workspace"
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"workspace-home-{lang}.png"), full_page=True)


def test_signing_in_and_out_with_the_keyboard_alone(
    db: Database, server: str, browser: Any
) -> None:
    add_user(db, "ana", Role.ANALYST)
    page = new_page(browser)
    page.goto(f"{server}/workspace?from=here")  # not signed in: the form, then back here
    assert page.locator("#username").evaluate("e => e === document.activeElement")
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/workspace?from=here")
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/workspace/login")
    page.goto(f"{server}/workspace")
    assert page.locator("#password").count() == 1  # signed out: the form again
