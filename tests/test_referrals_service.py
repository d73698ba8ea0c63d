"""/api/v1/referrals and /api/v1/cybertip over the test's store: build from the hotline's
items, a scan run and a network case; verify, download, tamper; mark sent, supersede; who
sees what; every act in the audit log; failed CyberTipline reports listed and retried
against the local mock."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safelight.referrals.cybertipline.client import Retry, Settings
from safelight.referrals.cybertipline.store import ReportStore
from safelight.referrals.cybertipline.submit import Submission
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.store import Database
from tests.cybertip_mock import MockCyberTipline, serve
from tests.cybertip_support import benign_file, report
from tests.hotline_referral_support import assess, submit
from tests.referral_support import PASSPHRASE, make_key, make_scan_run
from tests.service_support import BASE, bearer, make_app, make_token

MOCK_PASSWORD = "s3cret-pass"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    make_key(home)
    return home


@pytest.fixture
def mock() -> Iterator[tuple[MockCyberTipline, str]]:
    server = MockCyberTipline(password=MOCK_PASSWORD)
    with serve(server) as url:
        yield server, url


@pytest.fixture
def tokens(db: Database) -> dict[str, dict[str, str]]:
    roles = ("admin", "analyst", "investigator", "auditor")
    return {name: bearer(make_token(db, f"t-{name}", Role(name))) for name in roles}


def app_client(db: Database, home: Path, **settings: Any) -> TestClient:
    values: dict[str, Any] = {"home": home, "key_passphrase": PASSPHRASE} | settings
    return TestClient(make_app(db, **values), base_url=BASE)


def hotline_items(db: Database) -> dict[str, int]:
    submit(db, "https://a.example.de/1", "https://b.example.de/2", "https://c.example.fr/3")
    return {
        "a": assess(db, "a.example.de"),
        "b": assess(db, "b.example.de"),
        "c": assess(db, "c.example.fr", hosting_country="FR"),
    }


def actions(db: Database) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in AuditLog(db).entries()]


def test_an_analyst_refers_hotline_items_end_to_end(
    db: Database, home: Path, tokens: dict[str, dict[str, str]]
) -> None:
    hotline_items(db)
    analyst = tokens["analyst"]
    with app_client(db, home) as client:
        built = client.post(
            "/api/v1/referrals", json={"country": "de", "hotline": {}}, headers=analyst
        )
        assert built.status_code == 201, built.text
        record = built.json()
        assert record["country"] == "DE" and record["status"] == "draft"
        assert record["items"] == 2 and record["created_by"] == "token:t-analyst"
        assert record["sources"][0]["kind"] == "hotline_items"
        folder = Path(record["package_path"])
        assert folder.parent == (home / "referrals").resolve() and (folder / "urls.csv").is_file()
        rid = record["id"]
        shown = client.get(f"/api/v1/referrals/{rid}", headers=tokens["auditor"]).json()
        assert shown["manifest"] == record["manifest"]
        verified = client.post(f"/api/v1/referrals/{rid}/verify", headers=tokens["auditor"])
        assert verified.status_code == 200 and verified.json()["ok"] is True
        download = client.get(f"/api/v1/referrals/{rid}/package.zip", headers=analyst)
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            names = set(archive.namelist())
        assert f"referral-{rid}/urls.csv" in names and f"referral-{rid}/MANIFEST.sig" in names
        sent = client.post(
            f"/api/v1/referrals/{rid}/sent", json={"to": "jugendschutz.net"}, headers=analyst
        )
        assert sent.status_code == 200 and sent.json()["status"] == "sent"
        again = client.post(f"/api/v1/referrals/{rid}/sent", json={"to": "x"}, headers=analyst)
        assert again.status_code == 409 and again.json()["error"]["code"] == "referral_sent"
        newer = client.post(
            f"/api/v1/referrals/{rid}/supersede",
            json={"reason": "classification corrected", "recipient_role": "law_enforcement"},
            headers=analyst,
        )
        assert newer.status_code == 201, newer.text
        assert newer.json()["supersedes"] == rid
        assert newer.json()["recipient_role"] == "law_enforcement"
        listed = client.get("/api/v1/referrals?country=DE", headers=analyst).json()
        assert [(r["id"], r["status"]) for r in listed] == [(rid + 1, "draft"), (rid, "superseded")]
    done = actions(db)
    assert ("token:t-analyst", "referral.built", f"referral:{rid}") in done
    assert ("token:t-auditor", "referral.verified", f"referral:{rid}") in done
    assert ("token:t-analyst", "referral.exported", f"referral:{rid}") in done
    assert ("token:t-analyst", "referral.sent", f"referral:{rid}") in done
    assert ("token:t-analyst", "referral.superseded", f"referral:{rid + 1}") in done
    assert AuditLog(db).verify().ok


def test_a_tampered_package_is_named_and_never_handed_out(
    db: Database, home: Path, tokens: dict[str, dict[str, str]]
) -> None:
    hotline_items(db)
    admin = tokens["admin"]
    with app_client(db, home) as client:
        record = client.post(
            "/api/v1/referrals", json={"country": "FR", "hotline": {}}, headers=admin
        ).json()
        folder = Path(record["package_path"])
        (folder / "urls.csv").write_bytes((folder / "urls.csv").read_bytes() + b"x\n")
        (folder / "timeline.csv").unlink()
        result = client.post(f"/api/v1/referrals/{record['id']}/verify", headers=admin).json()
        assert not result["ok"]
        assert result["altered"] == ["urls.csv"] and result["missing"] == ["timeline.csv"]
        refused = client.get(f"/api/v1/referrals/{record['id']}/package.zip", headers=admin)
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["code"] == "package_altered" and "altered: urls.csv" in error["message"]
        # Re-signed in place with our own key: the manifest no longer is the one recorded.
        from safelight.referrals.keys import load_private
        from safelight.referrals.manifest import write_signed_manifest

        write_signed_manifest(folder, load_private(home, PASSPHRASE))
        result = client.post(f"/api/v1/referrals/{record['id']}/verify", headers=admin).json()
        assert result["signature"] == "valid" and not result["ok"]
        assert any("differs from the manifest recorded" in p for p in result["problems"])


def test_analysts_refer_hotline_items_only_and_see_only_those(
    db: Database, home: Path, tokens: dict[str, dict[str, str]]
) -> None:
    hotline_items(db)
    run_id = make_scan_run(db)
    with app_client(db, home) as client:
        refused = client.post(
            "/api/v1/referrals", json={"country": "DE", "scan": run_id}, headers=tokens["analyst"]
        )
        assert refused.status_code == 403
        scan = client.post(
            "/api/v1/referrals",
            json={"country": "DE", "scan": run_id},
            headers=tokens["investigator"],
        )
        assert scan.status_code == 201, scan.text
        mixed = client.post(
            "/api/v1/referrals",
            json={"country": "DE", "scan": run_id, "hotline": {"items": []}},
            headers=tokens["admin"],
        )
        assert mixed.status_code == 400 and mixed.json()["error"]["details"]["field"] == "items"
        sid = scan.json()["id"]
        assert client.get(f"/api/v1/referrals/{sid}", headers=tokens["analyst"]).status_code == 404
        for path in (f"/api/v1/referrals/{sid}/sent", f"/api/v1/referrals/{sid}/verify"):
            answer = client.post(path, json={"to": "x"}, headers=tokens["analyst"])
            assert answer.status_code == 404
        assert client.get("/api/v1/referrals", headers=tokens["analyst"]).json() == []
        assert [r["id"] for r in client.get("/api/v1/referrals", headers=tokens["auditor"]).json()]
        # Auditors read, never build.
        assert (
            client.post(
                "/api/v1/referrals",
                json={"country": "DE", "hotline": {}},
                headers=tokens["auditor"],
            ).status_code
            == 403
        )


def test_bad_input_and_missing_configuration(
    db: Database, home: Path, tokens: dict[str, dict[str, str]]
) -> None:
    ids = hotline_items(db)
    admin = tokens["admin"]
    with app_client(db, home) as client:
        uk = client.post("/api/v1/referrals", json={"country": "UK", "hotline": {}}, headers=admin)
        assert uk.status_code == 400 and "GB" in uk.json()["error"]["message"]
        none = client.post("/api/v1/referrals", json={"country": "DE"}, headers=admin)
        assert none.status_code == 400 and "nothing to refer" in none.json()["error"]["message"]
        wrong = client.post(
            "/api/v1/referrals",
            json={"country": "DE", "hotline": {"items": [ids["a"], ids["c"]]}},
            headers=admin,
        )
        assert wrong.status_code == 422
        assert f"hotline item {ids['c']}: hosted in FR, not DE" in wrong.json()["error"]["message"]
        unknown = client.post(
            "/api/v1/referrals",
            json={"country": "DE", "hotline": {"references": ["00000-00000"]}},
            headers=admin,
        )
        assert unknown.status_code == 404
        extra = client.post(
            "/api/v1/referrals", json={"country": "DE", "hotlines": {}}, headers=admin
        )
        assert extra.status_code == 422
        assert client.get("/api/v1/referrals/999", headers=admin).status_code == 404
        built = client.post(
            "/api/v1/referrals", json={"country": "DE", "hotline": {}}, headers=admin
        )
        rid = built.json()["id"]
        future = client.post(
            f"/api/v1/referrals/{rid}/sent",
            json={"to": "x", "at": "2999-01-01T00:00:00Z"},
            headers=admin,
        )
        assert future.status_code == 400 and "in the future" in future.json()["error"]["message"]
        naive = client.post(
            f"/api/v1/referrals/{rid}/sent",
            json={"to": "x", "at": "2024-01-01T00:00"},
            headers=admin,
        )
        assert naive.status_code == 400 and "time zone" in naive.json()["error"]["message"]
    with app_client(db, home, key_passphrase=None) as client:
        unset = client.post(
            "/api/v1/referrals", json={"country": "DE", "hotline": {}}, headers=admin
        )
        assert unset.status_code == 400 and unset.json()["error"]["code"] == "no_passphrase"
    assert len(list((home / "referrals").iterdir())) == 1  # the one built, nothing half-made


def test_the_network_case_is_referred_from_the_service(
    db: Database, home: Path, tmp_path: Path, tokens: dict[str, dict[str, str]]
) -> None:
    """The network demo's case, with its geolocation file under scan_roots."""
    from safelight.network.pipeline import ingest
    from safelight.network.simulate import simulate

    sim = tmp_path / "sim" / "s.csv"
    simulate(sim, connections=80, countries=3, groups=2, files=100)
    ingest(db, "demo", [sim], list_files=[sim.parent / "known.csv"], home=home)
    geo = str(sim.parent / "geo.mmdb")
    with app_client(db, home, scan_roots=(str(tmp_path / "sim"),)) as client:
        body: dict[str, Any] = {"country": "US", "case": {"name": "demo", "geo": [geo]}}
        built = client.post("/api/v1/referrals", json=body, headers=tokens["investigator"])
        assert built.status_code == 201, built.text
        record = built.json()
        assert record["headline"]["connections"] > 0
        assert record["sources"][0]["kind"] == "network_case"
        outside = {"country": "US", "case": {"name": "demo", "geo": ["/etc/passwd"]}}
        refused = client.post("/api/v1/referrals", json=outside, headers=tokens["investigator"])
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "source_not_allowed"
        newer = client.post(
            f"/api/v1/referrals/{record['id']}/supersede",
            json={"reason": "re-analysed"},
            headers=tokens["investigator"],
        )
        assert newer.status_code == 201, newer.text  # rebuilt from the case, same leads
        assert newer.json()["supersedes"] == record["id"]
        assert newer.json()["items"] == record["items"]


# --- CyberTipline -------------------------------------------------------------------------


def draft_report(db: Database, folder: Path) -> int:
    drafts = [benign_file(folder, f"f{i}.bin", i) for i in range(2)]
    items = [f"sha256:{d.sha256}" for d in drafts]
    return ReportStore(db).draft("scan 1", report(), drafts, items)


def test_failed_cybertip_reports_are_listed_with_their_reason_and_retried(
    db: Database,
    home: Path,
    tmp_path: Path,
    mock: tuple[MockCyberTipline, str],
    tokens: dict[str, dict[str, str]],
) -> None:
    server, url = mock
    report_id = draft_report(db, tmp_path)
    server.switches.fail_upload_at = 2
    settings = Settings(url=url, user="esp", password=MOCK_PASSWORD)
    flow = Submission(ReportStore(db), settings, retry=Retry(tries=2, sleep=lambda s: None))
    assert flow.submit(report_id).status == "failed"
    server.switches.fail_upload_at = None
    configured = {
        "cybertip_url": url,
        "cybertip_user": "esp",
        "cybertip_password": MOCK_PASSWORD,
    }
    with app_client(db, home, **configured) as client:
        listed = client.get("/api/v1/cybertip/reports", headers=tokens["auditor"])
        assert listed.status_code == 200
        [row] = listed.json()
        assert row["status"] == "failed" and row["can_retry"] is True
        assert "upload refused" in row["reason"] and "retracted at NCMEC" in row["reason"]
        only = client.get("/api/v1/cybertip/reports?status=failed", headers=tokens["admin"])
        assert len(only.json()) == 1
        bad = client.get("/api/v1/cybertip/reports?status=lost", headers=tokens["admin"])
        assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "status"
        assert (
            client.post(
                f"/api/v1/cybertip/reports/{report_id}/retry", headers=tokens["auditor"]
            ).status_code
            == 403
        )
        retried = client.post(
            f"/api/v1/cybertip/reports/{report_id}/retry", headers=tokens["investigator"]
        )
        assert retried.status_code == 200, retried.text
        body = retried.json()
        assert body["status"] == "finished" and body["attempts"] == 2 and not body["can_retry"]
        assert [s["step"] for s in body["steps"] if s["attempt"] == 2][-1] == "finish"
        again = client.post(
            f"/api/v1/cybertip/reports/{report_id}/retry", headers=tokens["investigator"]
        )
        assert again.status_code == 409
        assert client.get("/api/v1/cybertip/reports/99", headers=tokens["admin"]).status_code == 404
    done = [a for a in actions(db) if a[2] == f"cybertip:{report_id}"]
    assert ("token:t-investigator", "cybertip.retry", f"cybertip:{report_id}") in done
    mine = [a for a in done if a[0] == "token:t-investigator"]
    assert {a[1] for a in mine} >= {"cybertip.retry", "cybertip.call", "cybertip.status"}
    text = " ".join(str(e.details) for e in AuditLog(db).entries())
    assert MOCK_PASSWORD not in text
    assert AuditLog(db).verify().ok
    with app_client(db, home) as client:  # no credentials configured
        server.switches.fail_upload_at = None
        unset = client.post(f"/api/v1/cybertip/reports/{report_id}/retry", headers=tokens["admin"])
        assert unset.status_code == 400 and unset.json()["error"]["code"] == "no_credentials"
