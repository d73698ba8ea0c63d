"""The HTML report in a real browser: it loads offline, asks for nothing, shows the numbers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from safelight.network.html import render_html
from safelight.network.pipeline import run_demo_network

# The brief's flags, plus: the browser's own clock and update checks off, and no host
# resolvable at all, so nothing can leave this machine whatever the page tried.
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
    "--disable-domain-reliability",
    "--no-pings",
    "--disable-client-side-phishing-detection",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium is not installed (CI installs it: .ci/install-system-deps chromium)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    run_demo_network(out)
    return out / "report"


def _render(page: Path, work: Path) -> tuple[str, set[str]]:
    """The page's DOM after load, and every non-file URL the *page* asked for.

    Requests the browser makes for itself (clock, updates) have no initiating origin in the
    net log; requests from a file:// page have the opaque origin "null".
    """
    browser = _chromium()
    netlog = work / f"{page.stem}.netlog.json"
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                browser,
                *BROWSER_FLAGS,
                f"--user-data-dir={profile}",
                f"--log-net-log={netlog}",
                "--virtual-time-budget=3000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    asked = {
        event["params"]["url"]
        for event in log["events"]
        if names.get(event["type"]) == "URL_REQUEST_START_JOB"
        and "url" in event.get("params", {})
        and event["params"].get("initiator") != "not an origin"
    }
    return result.stdout, {u for u in asked if not u.startswith(("file:", "data:", "about:"))}


def test_report_renders_offline_with_no_external_requests(demo: Path) -> None:
    report = json.loads((demo / "report.json").read_text())
    dom, external = _render(demo / "report.html", demo.parent)
    assert not external, external
    h = report["headline"]
    for key in ("connections", "countries", "groups", "known_files", "unknown_candidate_files"):
        card = re.search(rf'data-key="{key}"><b>([^<]+)</b>', dom)
        assert card is not None, key
        assert card.group(1) == f"{h[key]:,}"
    assert "Top leads" in dom and "<svg" in dom


def test_the_request_check_catches_an_external_resource(tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="http://example.invalid/x.png">x</body></html>')
    _, external = _render(page, tmp_path)
    assert external == {"http://example.invalid/x.png"}


def test_html_escapes_values_and_references_nothing_external() -> None:
    report = {
        "case": "<script>alert(1)</script>",
        "generated_at": "now",
        "entity_mode": "ip",
        "notice": "n",
        "headline": {"connections": 1, "first_seen": None, "last_seen": None},
        "sources": {"geolocation": {"name": "g", "attribution": "a"}, "known_material": "k"},
        "tables": {},
        "group_graph": {"nodes": [], "links": []},
        "leads": [{"connection": "<b>x</b>", "rank": 1}],
    }
    html = render_html(report)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
