"""Reviewer wellness in Chromium: on the item page, a capture attached with the media
panel's form is blurred and greyscale, a reveal shows it as attached, "blur again" hides
it; the item page (both states), the capture's page and the wellness page have no serious
accessibility violation; screenshots of each.

The capture is a generated picture (coloured shapes on noise), never real material.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safelight.service.roles import Role
from safelight.store import Database
from tests.browser_support import new_page, serious_violations, serve, sign_in
from tests.hotline_media_support import KEY, new_item, screenshot_png
from tests.service_support import add_user, make_app

# What the page reads back from the picture it shows: its size, and whether any pixel has
# colour (a canvas draws it; the tests' own script, the page has none).
PIXELS = """img => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2]) coloured++;
  }
  return {width: img.naturalWidth, height: img.naturalHeight, coloured};
}"""


@pytest.fixture
def media_server(db: Database) -> Iterator[str]:
    app = make_app(db, cookie_secure=False, hotline_media_enabled=True, hotline_media_key=KEY)
    yield from serve(app)


def test_blurred_by_default_reveal_and_blur_again(
    db: Database, media_server: str, browser: Any, shots: Path, tmp_path: Path
) -> None:
    """On the item page's media panel, as an analyst works: attach, see it blurred, reveal,
    blur again; then the capture's own page."""
    add_user(db, "ana", Role.ANALYST)
    item = new_item(db)
    picture = tmp_path / "capture.png"
    picture.write_bytes(screenshot_png(41, (480, 360)))
    page = new_page(browser)
    sign_in(page, media_server, "ana")
    page.goto(f"{media_server}/workspace/items/{item}")
    panel = page.locator("#panel-media")
    assert panel.get_by_text("No captures are attached to this item.").is_visible()
    panel.get_by_label("Attach a capture").set_input_files(str(picture))
    panel.get_by_label("Note (optional)").fill("front page")
    panel.get_by_role("button", name="Attach", exact=True).click()
    page.wait_for_url(f"{media_server}/workspace/items/{item}#capture-1")

    preview = panel.get_by_role("img", name="Blurred preview of capture 1")
    preview.wait_for()
    shown = preview.evaluate(PIXELS)
    assert shown == {"width": 320, "height": 240, "coloured": 0}  # reduced, greyscale
    assert page.get_by_text("Viewing today: 0 of 240 min").is_visible()
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / "wellness-item-blurred-en.png"), full_page=True)

    panel.get_by_role("button", name="Reveal", exact=True).click()
    original = panel.get_by_role("img", name="Capture 1 as attached (revealed)")
    original.wait_for()
    shown = original.evaluate(PIXELS)
    assert (shown["width"], shown["height"]) == (480, 360) and shown["coloured"] > 100_000
    assert panel.get_by_text("Revealed until").is_visible()
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / "wellness-item-revealed-en.png"), full_page=True)

    panel.get_by_role("button", name="Blur again").click()
    panel.get_by_role("img", name="Blurred preview of capture 1").wait_for()
    assert panel.get_by_role("img", name="Capture 1 as attached (revealed)").count() == 0
    response = page.request.get(f"{media_server}/api/v1/hotline/items/{item}/captures/1/original")
    assert response.status == 403  # not served once blurred again

    panel.get_by_role("link", name="Details of capture 1").click()
    page.get_by_role("img", name="Blurred preview of capture 1").wait_for()
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / "wellness-capture-en.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "de", "ja"])
def test_the_wellness_page_passes_axe(
    db: Database, media_server: str, browser: Any, shots: Path, lang: str
) -> None:
    add_user(db, "ana", Role.ANALYST)
    page = new_page(browser)
    sign_in(page, media_server, "ana")
    page.goto(f"{media_server}/workspace/wellness?lang={lang}")
    assert page.get_attribute("html", "lang") == lang
    page.locator("#viewed-today").wait_for()
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"wellness-{lang}.png"), full_page=True)
    # over the ceiling: the server refuses it (the browser's own max check is taken away)
    page.evaluate("document.querySelector('#daily_limit_minutes').removeAttribute('max')")
    page.fill("#daily_limit_minutes", "999")
    page.fill("#time_zone", "Nowhere/City")
    page.locator("form[action='/workspace/wellness'] button[type=submit]").click()
    page.locator(".errors").wait_for()
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"wellness-refused-{lang}.png"), full_page=True)
