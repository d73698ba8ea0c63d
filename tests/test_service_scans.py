"""Scans through the native API: roots enforced, run id at once, status, paged results."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safelight.errors import PermissionDeniedError
from safelight.lists import HashListStore
from safelight.service.audit import AuditLog
from safelight.service.jobs import ScanJobs, _Hook
from safelight.service.roles import Role
from safelight.service.roots import allowed_source
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token


@pytest.fixture
def evidence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFELIGHT_HOME", str(tmp_path / "home"))
    root = tmp_path / "evidence"
    root.mkdir()
    for i in range(5):
        (root / f"note{i}.txt").write_bytes(f"benign text {i}\n".encode())
    return root


def finish(app: Any) -> None:
    jobs = app.state.service.extensions.get("scans")
    assert isinstance(jobs, ScanJobs)
    jobs.drain()


def test_scan_start_status_results(db: Database, evidence: Path, tmp_path: Path) -> None:
    lists = HashListStore(db)
    lists.create("KNOWN", default_signal_type="md5")
    known = hashlib.md5(b"benign text 3\n").hexdigest()
    (tmp_path / "known.txt").write_text(known + "\n")
    lists.import_file("KNOWN", tmp_path / "known.txt")
    app = make_app(db, scan_roots=(str(evidence),))
    who = bearer(make_token(db, "inv", Role.INVESTIGATOR))
    with TestClient(app, base_url=BASE) as api:
        started = api.post("/api/v1/scans", json={"sources": [str(evidence)]}, headers=who)
        assert started.status_code == 202, started.text
        run = started.json()["id"]
        finish(app)
        status = api.get(f"/api/v1/scans/{run}", headers=who).json()
        assert status["status"] == "finished" and status["items"] == 5
        assert status["matched_items"] == 1 and status["active"] is False
        seen, after = [], 0
        while True:
            page = api.get(
                f"/api/v1/scans/{run}/results", params={"after": after, "limit": 2}, headers=who
            ).json()
            seen += [item["path"] for item in page["items"]]
            if page["next_after"] is None:
                break
            after = page["next_after"]
        assert sorted(Path(p).name for p in seen) == [f"note{i}.txt" for i in range(5)]
        matched = api.get(f"/api/v1/scans/{run}/results?matched=true", headers=who).json()
        assert [Path(i["path"]).name for i in matched["items"]] == ["note3.txt"]
        assert matched["items"][0]["matches"][0]["list"] == "KNOWN"
        assert [r["id"] for r in api.get("/api/v1/scans", headers=who).json()] == [run]
        gone = api.post(f"/api/v1/scans/{run}/cancel", headers=who)
        assert gone.status_code == 409
        assert api.get("/api/v1/scans/999", headers=who).status_code == 404
        body = {"sources": [str(evidence)], "lists": ["NOPE"]}
        unknown = api.post("/api/v1/scans", json=body, headers=who)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "list_not_found"
    assert ("token:inv", "scan.start", str(run)) in [
        (e.actor, e.action, e.target) for e in AuditLog(db).entries()
    ]


def test_sources_outside_the_roots_are_refused(
    db: Database, evidence: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    (evidence / "escape").symlink_to(outside)
    who = bearer(make_token(db, "inv", Role.INVESTIGATOR))
    with TestClient(make_app(db, scan_roots=(str(evidence),)), base_url=BASE) as api:
        for source in [
            str(outside),
            str(evidence / ".." / "secret"),
            str(evidence / "escape"),
            "/etc",
        ]:
            refused = api.post("/api/v1/scans", json={"sources": [source]}, headers=who)
            assert refused.status_code == 403, source
            assert refused.json()["error"]["code"] == "source_not_allowed"
    with TestClient(make_app(db), base_url=BASE) as api:
        none = api.post("/api/v1/scans", json={"sources": [str(evidence)]}, headers=who)
        assert none.status_code == 403 and "scan_roots" in none.json()["error"]["message"]


def test_uri_roots() -> None:
    roots = ["s3://evidence/incoming/", "/data"]
    assert allowed_source("s3://evidence/incoming/a.zip", roots) == "s3://evidence/incoming/a.zip"
    for bad in ["s3://evidence/incoming2/a", "s3://evidence/incoming/../x", "s3://other/"]:
        with pytest.raises(PermissionDeniedError):
            allowed_source(bad, roots)


def test_scoped_scans_use_their_lists(db: Database, evidence: Path) -> None:
    lists = HashListStore(db)
    lists.create("KNOWN")
    lists.create("OTHER")
    scoped = bearer(make_token(db, "s", Role.ANALYST, lists=["KNOWN"]))
    app = make_app(db, scan_roots=(str(evidence),))
    with TestClient(app, base_url=BASE) as api:
        body = {"sources": [str(evidence)], "lists": ["OTHER"]}
        assert api.post("/api/v1/scans", json=body, headers=scoped).status_code == 404
        started = api.post("/api/v1/scans", json={"sources": [str(evidence)]}, headers=scoped)
        assert started.json()["lists"] == ["KNOWN"]
        finish(app)
        everyone = bearer(make_token(db, "all", Role.ADMIN))
        other = api.post(
            "/api/v1/scans", json={"sources": [str(evidence)], "lists": ["OTHER"]}, headers=everyone
        ).json()["id"]
        assert api.get(f"/api/v1/scans/{other}", headers=scoped).status_code == 404
        assert [r["id"] for r in api.get("/api/v1/scans", headers=scoped).json()] == [
            started.json()["id"]
        ]
        finish(app)


def test_cancel_hook_interrupts_between_batches() -> None:
    hook = _Hook()
    hook.update(None)  # type: ignore[arg-type]
    hook.cancelled.set()
    with pytest.raises(KeyboardInterrupt):
        hook.update(None)  # type: ignore[arg-type]


def test_a_cancelled_scan_stops_interrupted_and_resumable(
    db: Database, evidence: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safelight.scan.runner import ScanOptions
    from safelight.scan.runs import RunStore

    started = _Hook.start

    def start_then_cancel(self: _Hook, run_id: int, sources: list[str], *, already: int) -> None:
        started(self, run_id, sources, already=already)
        self.cancelled.set()  # as if POST .../cancel came in before the first batch ended

    monkeypatch.setattr(_Hook, "start", start_then_cancel)
    jobs = ScanJobs(db, 1)
    run = jobs.start(ScanOptions(sources=[str(evidence)], lists=[], batch_items=1))
    jobs.drain()
    info = RunStore(db).get(run)
    assert info.status == "interrupted" and info.items < 5
    assert not jobs.is_running(run) and jobs.cancel(run) is False
    jobs.close()
