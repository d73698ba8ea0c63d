"""Network cases through the native API: ingest (upload or server path), analyze, report."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safelight.network.simulate import simulate
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token


@pytest.fixture
def log(tmp_path: Path) -> Path:
    out = tmp_path / "logs" / "s.csv"
    simulate(out, connections=80, countries=3, groups=2, files=100, seed=3)
    return out


def test_ingest_analyze_report(db: Database, log: Path, tmp_path: Path) -> None:
    app = make_app(db, home=tmp_path / "home", scan_roots=(str(log.parent),))
    inv = bearer(make_token(db, "inv", Role.INVESTIGATOR))
    auditor = bearer(make_token(db, "aud", Role.AUDITOR))
    with TestClient(app, base_url=BASE) as api:
        uploaded = api.post(
            "/api/v1/cases/C1/ingest",
            files={"file": ("sightings.csv", log.read_bytes())},
            headers=inv,
        )
        assert uploaded.status_code == 200, uploaded.text
        summary = uploaded.json()[0]
        assert summary["source"] == "sightings.csv" and summary["status"] == "ingested"
        assert summary["rows_good"] > 0 and summary["rows_bad"] >= 1
        assert summary["problems"][0]["line"] > 1
        again = api.post("/api/v1/cases/C1/ingest", json={"paths": [str(log)]}, headers=inv)
        assert again.status_code == 200 and again.json()[0]["status"] == "already ingested"
        outside = api.post("/api/v1/cases/C1/ingest", json={"paths": ["/etc/passwd"]}, headers=inv)
        assert outside.status_code == 403
        bad_name = api.post("/api/v1/cases/C1/ingest", files={"file": ("x.exe", b"a")}, headers=inv)
        assert bad_name.status_code == 400
        assert api.get("/api/v1/cases/C1/report", headers=auditor).status_code == 404
        report = api.post("/api/v1/cases/C1/analyze", json={}, headers=inv)
        assert report.status_code == 200, report.text
        assert report.json()["headline"]["connections_total"] == 80
        fetched = api.get("/api/v1/cases/C1/report", headers=auditor).json()
        assert fetched["headline"] == report.json()["headline"]
        archive = api.get("/api/v1/cases/C1/report.zip", headers=auditor)
        assert archive.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
        assert {"report.json", "report.html", "leads.csv"} <= set(names)
        listed = api.get("/api/v1/cases", headers=auditor).json()
        assert [c["name"] for c in listed] == ["C1"] and listed[0]["ingests"] == 1
        assert api.post("/api/v1/cases/C1/analyze", json={}, headers=auditor).status_code == 403
        missing = api.post("/api/v1/cases/NOPE/analyze", json={}, headers=inv)
        assert missing.status_code == 404
    assert [e.action for e in AuditLog(db).entries() if e.action.startswith("case.")] == [
        "case.ingest",
        "case.ingest",
        "case.analyze",
        "case.report",
        "case.export",
    ]
    leftovers = [p for p in Path(log.parent).iterdir() if "safelight-upload" in p.name]
    assert leftovers == []


def test_scoped_tokens_see_only_cases_of_their_lists(
    db: Database, log: Path, tmp_path: Path
) -> None:
    from safelight.lists import HashListStore

    HashListStore(db).create("KNOWN")
    HashListStore(db).create("OTHER")
    app = make_app(db, home=tmp_path / "home", scan_roots=(str(log.parent),))
    scoped = bearer(make_token(db, "s", Role.INVESTIGATOR, lists=["KNOWN"]))
    admin = bearer(make_token(db, "a", Role.ADMIN))
    with TestClient(app, base_url=BASE) as api:
        body = {"paths": [str(log)], "lists": ["OTHER"]}
        assert api.post("/api/v1/cases/MINE/ingest", json=body, headers=scoped).status_code == 404
        mine = api.post("/api/v1/cases/MINE/ingest", json={"paths": [str(log)]}, headers=scoped)
        assert mine.status_code == 200, mine.text
        theirs = api.post("/api/v1/cases/THEIRS/ingest", json={"paths": [str(log)]}, headers=admin)
        assert theirs.status_code == 200
        assert [c["name"] for c in api.get("/api/v1/cases", headers=scoped).json()] == ["MINE"]
        assert api.post("/api/v1/cases/THEIRS/analyze", json={}, headers=scoped).status_code == 404
        bad = api.post("/api/v1/cases/MINE/ingest", json={"paths": "x"}, headers=scoped)
        assert bad.status_code == 400
