"""Shared by the browser tests: the service on a local port, Debian's Chromium driven by
Playwright, axe-core, screenshots, and signing in to the workspace.

The browser is the system's (``/usr/bin/chromium``, installed by .ci/install-system-deps;
Playwright never downloads one). axe-core (vendored under tests/vendor/axe-core, MPL-2.0,
test-only) checks each page; no serious or critical violation is allowed.
Screenshots go to a temporary folder, or to ``$SAFELIGHT_SCREENSHOTS`` (docs/screenshots
is made with ``SAFELIGHT_SCREENSHOTS=docs/screenshots``).

conftest.py loads this module as a plugin: the fixtures ``server``, ``browser`` and ``shots``
are there for every test; test modules import the helpers they use.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safelight.store import Database
from tests.service_support import PASSWORD, make_app

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium is not installed (CI installs it: .ci/install-system-deps chromium)")


def serve(app: Any) -> Iterator[str]:
    """``app`` on a free local port, plain HTTP, until the generator is closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uvicorn = pytest.importorskip("uvicorn")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(500):  # readiness, not timing: wait until it listens
        if running.started:
            break
        time.sleep(0.02)
    assert running.started, "the test server did not start"
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join()


@pytest.fixture
def server(db: Database) -> Iterator[str]:
    """The service on a free local port, over the test's store, plain HTTP."""
    yield from serve(make_app(db, cookie_secure=False, report_per_minute=10_000))


@pytest.fixture
def browser() -> Iterator[Any]:
    executable = chromium_path()
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SAFELIGHT_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_page(browser: Any, locale: str = "en-GB", width: int = 900) -> Any:
    # bypass_csp: the page's CSP forbids every script, axe included; the pages need none
    context = browser.new_context(
        locale=locale, bypass_csp=True, viewport={"width": width, "height": 900}
    )
    return context.new_page()


def serious_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}"
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
    ]


def sign_in(page: Any, server: str, user: str, password: str = PASSWORD) -> None:
    """Sign ``page`` in to the workspace with the form, as a person does."""
    page.goto(f"{server}/workspace/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/workspace**")
