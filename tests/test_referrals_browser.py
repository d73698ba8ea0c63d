"""The referral and CyberTipline pages as an investigator uses them, in Chromium (Playwright):
build a referral of hotline items, verify it, mark it sent; see a failed CyberTipline report
with its reason (and the banner that announces it on every page) and retry it against the
local mock of the API. axe finds no serious or critical violation on any page shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safelight.referrals.cybertipline.client import Retry, Settings
from safelight.referrals.cybertipline.store import ReportStore
from safelight.referrals.cybertipline.submit import Submission
from safelight.service.roles import Role
from safelight.store import Database
from tests.browser_support import new_page, serious_violations, serve, sign_in
from tests.cybertip_mock import MockCyberTipline
from tests.cybertip_mock import serve as serve_mock
from tests.cybertip_support import benign_file, report
from tests.hotline_referral_support import assess, submit
from tests.referral_support import PASSPHRASE, make_key
from tests.service_support import add_user, make_app

MOCK_PASSWORD = "s3cret-pass"


@pytest.fixture
def mock() -> Iterator[tuple[MockCyberTipline, str]]:
    server = MockCyberTipline(password=MOCK_PASSWORD)
    with serve_mock(server) as url:
        yield server, url


@pytest.fixture
def failed_report(db: Database, tmp_path: Path, mock: tuple[MockCyberTipline, str]) -> int:
    """A report whose submission failed at its second upload (retracted at the mock)."""
    server, url = mock
    drafts = [benign_file(tmp_path, f"f{i}.bin", i) for i in range(2)]
    store = ReportStore(db)
    report_id = store.draft("scan 1", report(), drafts, [f"sha256:{d.sha256}" for d in drafts])
    server.switches.fail_upload_at = 2
    settings = Settings(url=url, user="esp", password=MOCK_PASSWORD)
    flow = Submission(store, settings, retry=Retry(tries=1, sleep=lambda _: None))
    assert flow.submit(report_id).status == "failed"
    server.switches.fail_upload_at = None
    return report_id


@pytest.fixture
def server(db: Database, tmp_path: Path, mock: tuple[MockCyberTipline, str]) -> Iterator[str]:
    """The service on a free local port, plain HTTP, with a signing key and the mock."""
    home = tmp_path / "home"
    make_key(home)
    add_user(db, "inv", Role.INVESTIGATOR)
    submit(db, "https://a.example.de/1", "https://b.example.de/2")
    assess(db, "a.example.de")
    assess(db, "b.example.de", classification="A1")
    app = make_app(
        db,
        cookie_secure=False,
        home=home,
        key_passphrase=PASSPHRASE,
        cybertip_url=mock[1],
        cybertip_user="esp",
        cybertip_password=MOCK_PASSWORD,
    )
    yield from serve(app)


def checked(page: Any, shots: Path, name: str) -> None:
    assert serious_violations(page) == [], name
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_build_mark_sent_and_retry_a_failed_report(
    server: str, browser: Any, shots: Path, failed_report: int
) -> None:
    page = new_page(browser, width=1100)
    sign_in(page, server, "inv")
    page.goto(f"{server}/workspace/referrals")
    page.wait_for_selector("#build")
    banner = page.locator(".banner")
    assert "CyberTipline reports that failed and wait for a retry: 1." in banner.inner_text()
    checked(page, shots, "referrals")

    page.get_by_label("Country", exact=True).fill("DE")
    page.get_by_label("Hotline: hashes, metadata").check()
    assert page.get_by_label("Reported URLs assessed illegal").is_checked()
    page.get_by_role("button", name="Build and sign").click()
    page.wait_for_selector("#done")
    assert page.get_by_role("heading", level=1).inner_text() == "Referral 1 to DE"
    assert page.locator("#status").inner_text() == "Draft: not sent yet"
    assert "urls.csv" in page.locator("#manifest").inner_text()
    checked(page, shots, "referral-built")

    page.get_by_role("button", name="Verify the package").click()
    page.wait_for_selector("#verify-result")
    assert page.locator("#verify-result").inner_text() == (
        "The package is intact and its signature is valid."
    )
    page.get_by_label("Sent to").fill("jugendschutz.net, secure upload")
    page.get_by_role("button", name="Mark as sent").click()
    page.wait_for_selector("#done")
    assert page.locator("#status").inner_text() == "Sent"
    assert "jugendschutz.net, secure upload" in page.locator("#sent").inner_text()
    assert page.get_by_role("button", name="Mark as sent").count() == 0
    checked(page, shots, "referral-sent")

    page.get_by_role("link", name="All referrals").click()
    page.get_by_role("link", name="CyberTipline reports").click()
    page.wait_for_selector("#reports")
    row = page.locator(f"#report-{failed_report}")
    assert row.locator(".status").inner_text() == "Failed"
    reason = row.locator(".reason").inner_text()
    assert "upload refused" in reason and "retracted at NCMEC" in reason
    checked(page, shots, "cybertip-failed")

    page.get_by_role("button", name=f"Retry report {failed_report}").click()
    page.wait_for_selector("#notice")
    assert page.locator("#notice").inner_text() == (
        f"Report {failed_report} was sent again and filed."
    )
    assert page.locator(f"#report-{failed_report} .status").inner_text() == "Filed"
    assert page.locator(".banner").count() == 0  # nothing failed any more
    checked(page, shots, "cybertip-retried")
