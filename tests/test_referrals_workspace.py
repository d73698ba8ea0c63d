"""The workspace's referral and CyberTipline pages over HTTP (no browser): forms with the
CSRF field, POST-redirect-GET, problems shown on the page, who sees which form, the
verification shown as the audit log recorded it, the failed-reports banner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safelight.referrals.cybertipline.store import ReportStore
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.store import Database
from tests.cybertip_support import report
from tests.hotline_referral_support import assess, item_id, submit
from tests.referral_support import PASSPHRASE, make_key
from tests.service_support import BASE, add_user, make_app
from tests.test_workspace_shell import csrf_of, sign_in


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    make_key(home)
    return home


@pytest.fixture
def client(db: Database, home: Path) -> Iterator[TestClient]:
    for name, role in (("ana", Role.ANALYST), ("inv", Role.INVESTIGATOR), ("aud", Role.AUDITOR)):
        add_user(db, name, role)
    submit(db, "https://a.example.de/1", "https://b.example.de/2")
    assess(db, "a.example.de")
    assess(db, "b.example.de")
    app = make_app(db, home=home, key_passphrase=PASSPHRASE)
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


def build(client: TestClient, **fields: str) -> Any:
    page = client.get("/workspace/referrals")
    data = {"csrf_token": csrf_of(page.text), "recipient_role": "hotline"} | fields
    return client.post("/workspace/referrals", data=data, follow_redirects=False)


def test_an_analyst_builds_verifies_and_marks_sent(client: TestClient, db: Database) -> None:
    sign_in(client, "ana")
    page = client.get("/workspace/referrals")
    assert page.status_code == 200 and 'id="build"' in page.text
    assert 'name="case"' not in page.text and 'name="scan"' not in page.text  # hotline only
    assert 'href="/workspace/cybertip"' not in page.text
    built = build(client, country="de", hotline="on")
    assert built.status_code == 303
    location = built.headers["location"]
    assert re.fullmatch(r"/workspace/referrals/\d+\?done=built", location)
    shown = client.get(location)
    assert "The referral package is built, signed and recorded." in shown.text
    assert "Draft: not sent yet" in shown.text and "urls.csv" in shown.text
    rid = location.split("/")[-1].split("?")[0]
    verified = client.post(
        f"/workspace/referrals/{rid}/verify",
        data={"csrf_token": csrf_of(shown.text)},
        follow_redirects=False,
    )
    assert verified.status_code == 303 and "?check=" in verified.headers["location"]
    result = client.get(verified.headers["location"])
    assert "The package is intact and its signature is valid." in result.text
    entry = list(AuditLog(db).entries())[-1]
    assert (entry.actor, entry.action) == ("user:ana", "referral.verified")
    zipped = client.get(f"/workspace/referrals/{rid}/package.zip")
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"
    sent = client.post(
        f"/workspace/referrals/{rid}/sent",
        data={"csrf_token": csrf_of(shown.text), "to": "jugendschutz.net by secure upload"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    after = client.get(sent.headers["location"])
    assert '<dd id="status">Sent</dd>' in after.text and "jugendschutz.net" in after.text
    assert 'id="mark-sent"' not in after.text and 'id="supersede"' in after.text
    actions = [e.action for e in AuditLog(db).entries() if e.actor == "user:ana"]
    assert {"referral.built", "referral.verified", "referral.exported", "referral.sent"} <= set(
        actions
    )
    assert actions.count("hotline.package_sent") == 2  # one per item carried
    for item in (item_id(db, "a.example.de"), item_id(db, "b.example.de")):
        timeline = client.get(f"/workspace/items/{item}/takedown?lang=en").text
        row = timeline.split('<tr class="event-package_sent">', 1)[1].split("</tr>", 1)[0]
        assert "<td>Referral package sent</td>" in row and "<td>ana</td>" in row
        assert (
            f"Referral package {rid} sent to jugendschutz.net by secure upload (Germany (DE))"
            in row
        )
        japanese = client.get(f"/workspace/items/{item}?lang=ja").text
        sent_to = "jugendschutz.net by secure upload"
        assert f"転送パッケージ {rid} を {sent_to}（ドイツ (DE)）に送付" in japanese


def test_problems_are_shown_on_the_page_with_what_was_typed(client: TestClient) -> None:
    sign_in(client, "ana")
    refused = build(client, country="UK", hotline="on", references="ABC")
    assert refused.status_code == 400
    text = refused.text
    assert 'id="problem"' in text and "the United Kingdom is GB" in text
    assert 'value="UK"' in text and 'value="ABC"' in text
    nothing = build(client, country="FR", hotline="on")
    assert nothing.status_code == 422
    assert "no URL the hotline holds assessed illegal is hosted in FR" in nothing.text
    # Without the form's CSRF field nothing happens.
    bare = client.post("/workspace/referrals", data={"country": "DE", "hotline": "on"})
    assert bare.status_code == 403


def test_a_tampered_package_shows_what_changed_and_is_not_handed_out(
    client: TestClient, db: Database
) -> None:
    sign_in(client, "inv")
    location = build(client, country="DE", hotline="on").headers["location"]
    rid = int(location.split("/")[-1].split("?")[0])
    from safelight.referrals import ReferralStore

    folder = Path(ReferralStore(db).get(rid).package_path)
    (folder / "urls.csv").write_text("item\nU9\n")
    page = client.get(f"/workspace/referrals/{rid}")
    checked = client.post(
        f"/workspace/referrals/{rid}/verify", data={"csrf_token": csrf_of(page.text)}
    )
    assert "The package does not verify." in checked.text and "Altered: urls.csv" in checked.text
    refused = client.get(f"/workspace/referrals/{rid}/package.zip")
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("text/html")
    assert "altered: urls.csv" in refused.text


def test_the_pages_in_german_and_who_sees_what(client: TestClient) -> None:
    sign_in(client, "aud")
    page = client.get("/workspace/referrals?lang=de")
    assert '<html lang="de">' in page.text and "Gespeicherte Weiterleitungen" in page.text
    assert 'id="build"' not in page.text  # auditors read
    assert client.get("/workspace/cybertip").status_code == 200
    client.cookies.clear()
    sign_in(client, "ana")
    assert client.get("/workspace/cybertip").status_code == 403


def test_failed_reports_are_visible_everywhere_and_retried_from_the_page(
    client: TestClient, db: Database
) -> None:
    store = ReportStore(db)
    report_id = store.draft("scan 7", report(), [], ["sha256:" + "ab" * 32])
    store.update(report_id, status="failed", reason="finish: validation failed (4100)")
    sign_in(client, "inv")
    home = client.get("/workspace")
    assert "CyberTipline reports that failed and wait for a retry: 1." in home.text
    page = client.get("/workspace/cybertip")
    assert "finish: validation failed (4100)" in page.text
    assert f'action="/workspace/cybertip/{report_id}/retry"' in page.text
    # No credentials are configured here: the page says why nothing was sent.
    retried = client.post(
        f"/workspace/cybertip/{report_id}/retry", data={"csrf_token": csrf_of(page.text)}
    )
    assert retried.status_code == 400 and "SAFELIGHT_CYBERTIP_USER" in retried.text
    assert store.get(report_id).status == "failed"
    client.cookies.clear()
    sign_in(client, "aud")
    seen = client.get("/workspace/cybertip")
    assert "finish: validation failed (4100)" in seen.text
    assert f'action="/workspace/cybertip/{report_id}/retry"' not in seen.text
