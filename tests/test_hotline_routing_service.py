"""Routing and takedown through the service: the JSON API, the pages and the CSV files."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safelight.hotline.classification import ClassificationDesk
from safelight.hotline.panels import registered_panels
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.store import Database
from tests.hotline_class_support import illegal
from tests.routing_support import assess, item_row, report
from tests.service_support import BASE, add_user, bearer, make_app, make_token
from tests.test_workspace_shell import csrf_of, sign_in

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)


@pytest.fixture
def app(db: Database) -> Any:
    add_user(db, "admin", Role.ADMIN)
    add_user(db, "ana", Role.ANALYST)
    add_user(db, "aud", Role.AUDITOR)
    return make_app(db, organisation_country="GB", fallback_partner="INTERPOL")


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


def tokens(db: Database) -> dict[str, dict[str, str]]:
    return {
        "admin": bearer(make_token(db, "t-admin", Role.ADMIN)),
        "ana": bearer(make_token(db, "t-ana", Role.ANALYST)),
        "aud": bearer(make_token(db, "t-aud", Role.AUDITOR)),
    }


PARTNERS = [
    {"country": "GB", "kind": "law_enforcement", "name": "NCA", "contact": "cse@nca.example"},
    {"country": "DE", "kind": "hotline", "name": "eco", "contact": "https://eco.example/"},
    {"country": "FR", "kind": "law_enforcement", "name": "INTERPOL", "contact": "a@ip.example"},
]


def test_the_partners_api(client: TestClient, db: Database) -> None:
    who = tokens(db)
    for body in PARTNERS:
        response = client.post("/api/v1/hotline/partners", json=body, headers=who["admin"])
        assert response.status_code == 201, response.text
    refused = client.post("/api/v1/hotline/partners", json=PARTNERS[0], headers=who["ana"])
    assert refused.status_code == 403
    listed = client.get("/api/v1/hotline/partners", headers=who["aud"]).json()["partners"]
    assert [p["name"] for p in listed] == ["eco", "INTERPOL", "NCA"]
    de = client.get("/api/v1/hotline/partners?country=de", headers=who["ana"]).json()
    assert [p["name"] for p in de["partners"]] == ["eco"]
    bad = client.post(
        "/api/v1/hotline/partners",
        json={"country": "UK", "kind": "police", "name": "x", "contact": "nope"},
        headers=who["admin"],
    )
    assert bad.status_code == 422
    locations = [p["location"] for p in bad.json()["error"]["details"]["problems"]]
    assert locations == ["country", "kind", "contact"]
    taken = client.post("/api/v1/hotline/partners", json=PARTNERS[1], headers=who["admin"])
    assert taken.status_code == 409 and taken.json()["error"]["details"]["field"] == "name"
    eco = listed[0]["id"]
    patched = client.patch(
        f"/api/v1/hotline/partners/{eco}", json={"active": False}, headers=who["admin"]
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert client.get("/api/v1/hotline/partners?active=true", headers=who["ana"]).json()[
        "partners"
    ] == [p for p in listed if p["name"] != "eco"]
    extra = client.patch(f"/api/v1/hotline/partners/{eco}", json={"x": 1}, headers=who["admin"])
    assert extra.status_code == 422
    assert client.get("/api/v1/hotline/partners/999", headers=who["ana"]).status_code == 404


def test_refer_notice_recheck_and_timeline_over_the_api(client: TestClient, db: Database) -> None:
    who = tokens(db)
    for body in PARTNERS:
        client.post("/api/v1/hotline/partners", json=body, headers=who["admin"])
    reference, (item,) = report(db, T0, "bad.example/a")
    unresolved = client.get(f"/api/v1/hotline/items/{item}/routing", headers=who["ana"])
    assert unresolved.status_code == 409
    assert unresolved.json()["error"]["code"] == "hosting_unknown"
    assert unresolved.json()["error"]["details"]["field"] == "hosting_country"
    assess(db, item, country="DE", at=T0 + timedelta(hours=1))
    suggestion = client.get(f"/api/v1/hotline/items/{item}/routing", headers=who["aud"]).json()
    assert suggestion["reason"] == "partner_hotline" and suggestion["partner"]["name"] == "eco"
    base = f"/api/v1/hotline/items/{item}"
    assert client.post(f"{base}/referral", json={}, headers=who["aud"]).status_code == 403
    at = (T0 + timedelta(hours=2)).isoformat()
    referred = client.post(f"{base}/referral", json={"at": at, "note": "fwd"}, headers=who["ana"])
    assert referred.status_code == 200, referred.text
    assert referred.json()["routing"]["partner"]["name"] == "eco"
    notice = client.post(f"{base}/host-notices", json={}, headers=who["ana"]).json()
    assert notice == {"item_id": item, "notice": 1}
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    late = client.post(f"{base}/rechecks", json={"online": False, "at": future}, headers=who["ana"])
    assert late.status_code == 422
    assert late.json()["error"] == {
        "code": "in_future",
        "message": late.json()["error"]["message"],
        "details": {"field": "removed_at"},
    }
    early = (T0 - timedelta(days=1)).isoformat()
    before = client.post(
        f"{base}/rechecks", json={"online": False, "at": early}, headers=who["ana"]
    )
    assert before.status_code == 422 and "removed_at" in before.json()["error"]["message"]
    removed = client.post(f"{base}/rechecks", json={"online": False}, headers=who["admin"])
    assert removed.json() == {"item_id": item, "event": "removed"}
    timeline = client.get(f"{base}/timeline", headers=who["aud"]).json()["events"]
    assert [e["event"] for e in timeline] == [
        "reported",
        "assessed",
        "referred",
        "host_notified",
        "removed",
    ]
    assert timeline[2]["actor"] == "token:t-ana" and timeline[2]["note"] == "fwd"
    by_report = client.get(f"/api/v1/hotline/reports/{reference}/timeline", headers=who["ana"])
    assert [e["event"] for e in by_report.json()["events"]] == [e["event"] for e in timeline]
    row = item_row(db, item)
    assert row["status"] == "removed" and row["notice_count"] == 1
    metrics = client.get("/api/v1/hotline/metrics", headers=who["aud"]).json()
    assert metrics["total"]["removed"] == 1 and metrics["countries"][0]["key"] == "DE"
    bad_month = client.get("/api/v1/hotline/metrics?since=2025-13", headers=who["aud"])
    assert bad_month.status_code == 422 and bad_month.json()["error"]["details"]["field"] == "since"


def test_the_partners_pages(client: TestClient, db: Database) -> None:
    sign_in(client, "ana")
    page = client.get("/workspace/partners")
    assert page.status_code == 200 and "Add a partner" not in page.text  # analysts read
    assert client.get("/workspace/partners/1").status_code == 403
    assert "Not configured" not in page.text and "INTERPOL is not an active partner" in page.text
    client.post("/workspace/logout", data={"csrf_token": csrf_of(page.text)})
    sign_in(client, "admin")
    page = client.get("/workspace/partners?lang=de")
    assert "Partner hinzufügen" in page.text and 'value="DE">Deutschland (DE)<' in page.text
    token = csrf_of(page.text)
    form = {
        "csrf_token": token,
        "country": "FR",
        "kind": "law_enforcement",
        "name": "INTERPOL",
        "contact": "mailto:cac@interpol.example",
        "notes": "Lyon",
    }
    added = client.post("/workspace/partners", data=form, follow_redirects=False)
    assert added.status_code == 303 and "done=partner_added" in added.headers["location"]
    listed = client.get(added.headers["location"]).text
    assert "Der Partner wurde hinzugefügt." in listed  # the language chosen stays
    assert "mailto:cac@interpol.example" in listed
    assert "INTERPOL is not an active partner" not in listed
    again = client.post("/workspace/partners?lang=ja", data=form)
    assert again.status_code == 409 and "同じ名前のパートナー" in again.text
    assert 'value="INTERPOL"' in again.text  # what was typed is kept
    no_token = client.post("/workspace/partners", data={**form, "csrf_token": "x"})
    assert no_token.status_code == 403
    edit = client.get("/workspace/partners/1")
    assert edit.status_code == 200 and "checked" in edit.text
    saved = client.post(
        "/workspace/partners/1",
        data={**form, "notes": "Lyon, 24/7"},  # no "active": the box is unticked
        follow_redirects=False,
    )
    assert saved.status_code == 303
    entries = [e for e in AuditLog(db).entries() if e.action.startswith("partner.")]
    assert [e.action for e in entries] == ["partner.add", "partner.update"]
    assert entries[1].actor == "user:admin"
    assert entries[1].details == {
        "notes": {"from": "Lyon", "to": "Lyon, 24/7"},
        "active": {"from": True, "to": False},
    }


def test_the_takedown_page_and_its_forms(client: TestClient, db: Database) -> None:
    who = tokens(db)
    for body in PARTNERS:
        client.post("/api/v1/hotline/partners", json=body, headers=who["admin"])
    _, (item,) = report(db, T0, "bad.example/b")
    assess(db, item, country="GB", at=T0)
    sign_in(client, "ana")
    page = client.get(f"/workspace/items/{item}/takedown")
    assert page.status_code == 200
    assert re.search(r'id="routing-suggestion"><strong>NCA</strong>', page.text)
    token = csrf_of(page.text)
    base = f"/workspace/items/{item}"
    future = client.post(
        f"{base}/refer", data={"csrf_token": token, "at": "2999-01-01T00:00", "back": "page"}
    )
    assert future.status_code == 422 and "Referred at: the time is in the future." in future.text
    garbled = client.post(f"{base}/host-notice?lang=fr", data={"csrf_token": token, "at": "soon"})
    assert garbled.status_code == 422 and "saisissez une date et une heure" in garbled.text
    referred = client.post(
        f"{base}/refer",
        data={
            "csrf_token": token,
            "note": "urgent",
            "at": f"{T0 + timedelta(hours=1):%Y-%m-%dT%H:%M}",
        },
        follow_redirects=False,
    )
    assert referred.headers["location"] == f"{base}/takedown?done=referred"
    notice_at = f"{T0 + timedelta(hours=2):%Y-%m-%dT%H:%M}"
    from_item = client.post(
        f"{base}/host-notice",
        data={"csrf_token": token, "back": "item", "at": notice_at},
        follow_redirects=False,
    )
    assert from_item.headers["location"] == f"{base}?done=host_notified#panel-routing"
    removed_at = (T0 + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"{base}/recheck", data={"csrf_token": token, "online": "no", "at": removed_at})
    shown = client.get(f"{base}/takedown?lang=en").text
    assert [m for m in re.findall(r'<tr class="event-([a-z_]+)">', shown)] == [
        "reported",
        "assessed",
        "referred",
        "host_notified",
        "removed",
    ]
    assert "Record re-check" not in shown  # removed: nothing more to do
    assert "Hosted in our own country" in shown
    assert _utc(item_row(db, item)["removed_at"]) == datetime.fromisoformat(removed_at + "+00:00")
    assert client.get("/workspace/items/999/takedown").status_code == 404


def test_the_routing_panel_is_registered_for_the_item_page() -> None:
    routing = [p for p in registered_panels() if p.key == "routing"]
    assert routing and routing[0].order == 50
    assert routing[0].template == "workspace/panels/routing.html"


def test_an_auditor_reads_but_cannot_act(client: TestClient, db: Database) -> None:
    _, (item,) = report(db, T0, "bad.example/c")
    assess(db, item, country="DE", at=T0)
    sign_in(client, "aud")
    page = client.get(f"/workspace/items/{item}/takedown")
    assert page.status_code == 200 and f"/workspace/items/{item}/refer" not in page.text
    assert (
        client.post(
            f"/workspace/items/{item}/refer", data={"csrf_token": csrf_of(page.text)}
        ).status_code
        == 403
    )


def test_the_metrics_page_and_csv(client: TestClient, db: Database) -> None:
    _, (item,) = report(db, T0, "bad.example/d")
    assess(db, item, country="DE", network="=cmd|' /C calc'!A0", at=T0)  # from outside
    sign_in(client, "ana")
    page = client.get("/workspace/metrics")
    assert page.status_code == 200
    svgs = re.findall(r"<svg [^>]*>", page.text)
    assert len(svgs) == 5 and all('role="img"' in s and "aria-labelledby" in s for s in svgs)
    assert "<script" not in page.text and "http://" not in page.text.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert '<title id="chart-countries-title">' in page.text
    assert "Germany (DE)" in page.text and "=cmd|" in page.text
    response = client.get("/workspace/metrics.csv?table=networks")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "network" and rows[1][0] == "'=cmd|' /C calc'!A0"  # not a formula
    months = client.get(f"/workspace/metrics.csv?table=months&since={T0:%Y-%m}")
    assert months.status_code == 200 and f"{T0:%Y-%m}" in months.text
    assert client.get("/workspace/metrics.csv?table=secrets").status_code == 422
    bad = client.get("/workspace/metrics?since=13-2025")
    assert bad.status_code == 422 and "From month: enter a month." in bad.text
    japanese = client.get("/workspace/metrics?lang=ja").text
    assert "ドイツ (DE)" in japanese and '<html lang="ja">' in japanese


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_reports_timeline_page(client: TestClient, db: Database) -> None:
    reference, (first, second) = report(db, T0, "one.example/a", "two.example/b")
    assess(db, second, country="DE", at=T0 + timedelta(hours=1))
    sign_in(client, "aud")
    typed = f"{reference[:5]}-{reference[5:]}".lower()
    page = client.get(f"/workspace/reports/{typed}/timeline")
    assert page.status_code == 200
    assert f"Timeline of report {reference[:5]}-{reference[5:]}" in page.text
    assert re.findall(r'<tr class="event-([a-z_]+)">', page.text) == [
        "reported",
        "reported",
        "assessed",
    ]
    assert "http://one.example/a" in page.text and "http://two.example/b" in page.text
    assert client.get("/workspace/reports/ABCDE-FGHJK/timeline").status_code == 404
    api = client.get(f"/api/v1/hotline/reports/{typed}/timeline").json()
    assert api["reference"] == reference and len(api["events"]) == 3
    assert {e["item_id"] for e in api["events"]} == {first, second}


def test_the_timelines_say_who_classified_and_who_confirmed(
    client: TestClient, db: Database
) -> None:
    reference, (item,) = report(db, T0, "bad.example/four-eyes")
    classes = ClassificationDesk(db, AuditLog(db))
    classes.classify(item, illegal(), by="user:ana")
    classes.confirm(item, 1, by="user:bea")
    sign_in(client, "aud")
    api = client.get(f"/api/v1/hotline/items/{item}/timeline").json()["events"]
    assessed = [e for e in api if e["event"] == "assessed"]
    assert [(e["actor"], e["confirmed_by"]) for e in assessed] == [("user:ana", "user:bea")]
    by_report = client.get(f"/api/v1/hotline/reports/{reference}/timeline").json()["events"]
    assert [e for e in by_report if e["event"] == "assessed"] == assessed
    for path in (f"/workspace/items/{item}/takedown", f"/workspace/reports/{reference}/timeline"):
        row = _row(client.get(f"{path}?lang=en").text, "assessed")
        assert "<td>ana</td>" in row and "Confirmed by bea (four eyes)" in row
        assert "Recorded by the classification" not in row
        german = _row(client.get(f"{path}?lang=de").text, "assessed")
        assert "<td>ana</td>" in german and "Bestätigt von bea (Vier-Augen-Prinzip)" in german


def _row(page: str, event: str) -> str:
    return page.split(f'<tr class="event-{event}">', 1)[1].split("</tr>", 1)[0]


def test_the_item_page_shows_the_routing_panel(client: TestClient, db: Database) -> None:
    who = tokens(db)
    for body in PARTNERS:
        client.post("/api/v1/hotline/partners", json=body, headers=who["admin"])
    _, (item,) = report(db, T0, "bad.example/e")
    assess(db, item, country="DE", at=T0)
    sign_in(client, "ana")
    page = client.get(f"/workspace/items/{item}?lang=en")
    assert page.status_code == 200
    panel = page.text.split('id="panel-routing"', 1)[1]
    assert re.search(r'id="routing-suggestion"><strong>eco</strong>', panel)
    assert f'action="/workspace/items/{item}/refer"' in panel
    assert 'name="back" value="item"' in panel
    referred = client.post(
        f"/workspace/items/{item}/refer",
        data={"csrf_token": csrf_of(page.text), "back": "item"},
        follow_redirects=False,
    )
    assert referred.headers["location"] == f"/workspace/items/{item}?done=referred#panel-routing"
    landed = client.get(referred.headers["location"]).text
    assert '<div class="done" role="status"><p>The item was referred.</p></div>' in landed
    german = client.get(f"/workspace/items/{item}?done=referred&lang=de").text
    assert "<p>Der Eintrag wurde weitergeleitet.</p></div>" in german
    noticed = client.post(
        f"/workspace/items/{item}/host-notice",
        data={"csrf_token": csrf_of(page.text), "back": "item"},
    )  # followed to the item page, in the language chosen last (German)
    assert "<p>Der Hinweis an den Hosting-Anbieter wurde erfasst.</p></div>" in noticed.text
    again = client.get(f"/workspace/items/{item}?lang=en").text.split('id="panel-routing"', 1)[1]
    assert re.findall(r'<tr class="event-([a-z_]+)">', again) == [
        "reported",
        "assessed",
        "referred",
        "host_notified",
    ]
    assert "Refer to another partner" in again
    options = re.findall(r'<option value="(\d*)">', again)
    assert "" not in options and len(options) == 2  # eco is referred already: not offered
