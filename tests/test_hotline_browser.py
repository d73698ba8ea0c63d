"""The public report pages as people use them, in Debian's Chromium driven by Playwright.

The browser is the system's (``/usr/bin/chromium``, installed by .ci/install-system-deps;
Playwright never downloads one). axe-core (vendored under tests/vendor/axe-core, MPL-2.0,
test-only) checks each page; no serious or critical violation is allowed.
Screenshots go to a temporary folder, or to ``$SAFELIGHT_SCREENSHOTS`` (docs/screenshots
is made with ``SAFELIGHT_SCREENSHOTS=docs/screenshots``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import new_page, serious_violations


def test_a_reporter_submits_in_spanish_and_checks_the_status(
    server: str, browser: Any, shots: Path
) -> None:
    page = new_page(browser, locale="es-ES")  # Accept-Language: es-ES
    page.goto(f"{server}/report")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_text("No suba, descargue, guarde ni envíe").is_visible()
    page.screenshot(path=str(shots / "report-es.png"), full_page=True)
    page.get_by_label("Direcciones web (URL)").fill("ejemplo.es/pagina\nhttps://ejemplo.es/otra")
    page.get_by_label("Tipo de sitio (opcional)").select_option("image_host")
    page.get_by_role("button", name="Enviar denuncia").click()
    page.wait_for_selector("#reference")
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Gracias. Hemos recibido su denuncia."
    )
    reference = page.locator("#reference").inner_text()
    assert len(reference) == 11 and reference[5] == "-"
    page.screenshot(path=str(shots / "submitted-es.png"), full_page=True)
    page.get_by_role("link", name="Consultar el estado de esta denuncia").click()
    page.wait_for_selector("#status")
    assert page.locator("#status").inner_text() == "Recibida"
    assert reference in page.get_by_role("heading", level=2).inner_text()
    page.screenshot(path=str(shots / "status-es.png"), full_page=True)


def test_keyboard_only_submission_in_a_sensible_focus_order(server: str, browser: Any) -> None:
    page = new_page(browser)
    page.goto(f"{server}/report?lang=en")
    order = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => document.activeElement.id || document.activeElement.textContent.trim()"
        )
        order.append(focused)
        if focused == "urls":
            page.keyboard.type("keyboard.example/one")
        if focused == "site_type":
            page.keyboard.press("ArrowDown")  # the first type of site
        if page.evaluate("() => document.activeElement.tagName") == "BUTTON":
            break
    nav = order[: order.index("urls")]
    assert nav[:2] == ["Send a report", "Check a report"]
    assert nav[2:] == [
        "English",
        "Deutsch",
        "Español",
        "Français",
        "Italiano",
        "Português",
        "日本語",
        "한국어",
        "中文",
    ]
    assert order[order.index("urls") :] == [
        "urls",
        "description",
        "site_type",
        "contact",
        "Send report",
    ]
    page.keyboard.press("Enter")
    page.wait_for_selector("#reference")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Thank you")


@pytest.mark.parametrize("lang", ["en", "ja", "de"])
def test_axe_finds_no_serious_violation(server: str, browser: Any, shots: Path, lang: str) -> None:
    page = new_page(browser)
    page.goto(f"{server}/report?lang={lang}")
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"report-{lang}.png"), full_page=True)
    # the form with its problems shown
    page.locator("#urls").fill("ftp://bad.example")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#problems")
    assert page.locator("#problems").is_visible()
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"report-problems-{lang}.png"), full_page=True)
    page.locator("#urls").fill("good.example/page")
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#reference")
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"submitted-{lang}.png"), full_page=True)
    page.locator("main a[href^='/report/status?reference=']").click()
    page.wait_for_selector("#status")
    assert page.locator("#status").is_visible()
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"status-{lang}.png"), full_page=True)
    page.goto(f"{server}/report/status?reference=AAAAA-AAAAA&lang={lang}")
    assert serious_violations(page) == []


def test_axe_would_report_a_serious_violation(server: str, browser: Any) -> None:
    """The check can fail: an unlabeled field is a critical violation to axe."""
    page = new_page(browser)
    page.goto(f"{server}/report")
    page.evaluate("() => document.querySelector('label[for=urls]').remove()")
    assert any(v.startswith("label ") for v in serious_violations(page))
