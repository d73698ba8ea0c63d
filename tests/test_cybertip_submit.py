"""The submit flow against the local mock: success and every failure path."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safelight.errors import ConflictError, InputError, UsageError
from safelight.referrals.cybertipline.client import Retry, Settings
from safelight.referrals.cybertipline.store import ReportStore
from safelight.referrals.cybertipline.submit import AuditEvent, Submission
from safelight.store import Database
from tests.cybertip_mock import MockCyberTipline, serve
from tests.cybertip_support import benign_file, report

PASSWORD = "s3cret-pass"


@pytest.fixture
def mock() -> Iterator[tuple[MockCyberTipline, str]]:
    server = MockCyberTipline(password=PASSWORD)
    with serve(server) as url:
        yield server, url


@pytest.fixture
def store(db: Database) -> ReportStore:
    return ReportStore(db)


class Flow:
    def __init__(self, store: ReportStore, url: str, password: str = PASSWORD) -> None:
        self.sleeps: list[float] = []
        self.events: list[AuditEvent] = []
        self.submission = Submission(
            store,
            Settings(url=url, user="esp", password=password),
            audit=self.events.append,
            retry=Retry(tries=3, sleep=self.sleeps.append),
        )


def draft(store: ReportStore, folder: Path, files: int = 2, key: str = "k") -> int:
    drafts = [benign_file(folder, f"f{i}.bin", i) for i in range(files)]
    return store.draft("test", report(), drafts, [f"{key}:{d.sha256}" for d in drafts])


def test_success_opens_uploads_describes_and_finishes(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    report_id = draft(store, tmp_path)
    flow = Flow(store, url)
    done = flow.submission.submit(report_id)
    assert done.status == "finished" and done.reason is None
    [remote] = server.reports.values()
    assert done.remote_id == remote.id and remote.state == "finished"
    assert sorted(remote.names.values()) == ["f0.bin", "f1.bin"]
    assert len(remote.described) == 2  # one fileinfo per file
    assert server.calls == ["/submit", "/upload", "/fileinfo", "/upload", "/fileinfo", "/finish"]
    assert done.receipt is not None and "<reportDoneResponse>" in done.receipt
    steps = store.steps(report_id)
    assert [s.step for s in steps] == [
        "submit",
        "upload",
        "fileinfo",
        "upload",
        "fileinfo",
        "finish",
    ]
    assert all(s.outcome == "ok" and s.request_id for s in steps)
    assert [e.outcome for e in flow.events if e.step == "status"] == ["opened", "finished"]
    with pytest.raises(ConflictError):
        flow.submission.submit(report_id)  # finished: never sent twice


def test_upload_failure_retracts_and_keeps_the_draft(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    server.switches.fail_upload_at = 2
    report_id = draft(store, tmp_path)
    flow = Flow(store, url)
    failed = flow.submission.submit(report_id)
    assert failed.status == "failed"
    assert "4200" in (failed.reason or "") and "retracted at NCMEC" in (failed.reason or "")
    [remote] = server.reports.values()
    assert remote.state == "retracted"  # nothing half-filed
    assert "/finish" not in server.calls
    # Nothing local is lost: the draft and its files are intact, and a retry files it.
    assert len(store.get(report_id).files) == 2
    done = flow.submission.retry_report(report_id)
    assert done.status == "finished" and done.attempts == 2
    assert [r.state for r in server.reports.values()] == ["retracted", "finished"]


def test_finish_refused_is_retracted(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    server.switches.fail_finish = 4100
    report_id = draft(store, tmp_path)
    failed = Flow(store, url).submission.submit(report_id)
    assert failed.status == "failed" and "4100" in (failed.reason or "")
    assert [r.state for r in server.reports.values()] == ["retracted"]


def test_transient_503s_are_retried_with_backoff(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    server.switches.transient = {"/submit": 2, "/finish": 1}
    server.switches.transient_code = {"/upload": 1}
    report_id = draft(store, tmp_path, files=1)
    flow = Flow(store, url)
    assert flow.submission.submit(report_id).status == "finished"
    assert flow.sleeps == [0.5, 1.0, 0.5, 0.5]  # doubling per step, reset for each call
    outcomes = [(s.step, s.outcome) for s in store.steps(report_id)]
    assert outcomes.count(("submit", "transient")) == 2
    assert ("upload", "transient") in outcomes and ("finish", "transient") in outcomes


def test_transient_errors_exhausted_fail_without_opening(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    server.switches.transient = {"/submit": 5}
    report_id = draft(store, tmp_path)
    failed = Flow(store, url).submission.submit(report_id)
    assert failed.status == "failed" and "HTTP 503" in (failed.reason or "")
    assert server.reports == {} and server.calls.count("/submit") == 3


def test_bad_credential_is_permanent_and_never_shown(
    store: ReportStore,
    mock: tuple[MockCyberTipline, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, url = mock
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Pa55word"
    report_id = draft(store, tmp_path)
    flow = Flow(store, url, password=wrong)
    failed = flow.submission.submit(report_id)
    assert failed.status == "failed" and "2000" in (failed.reason or "")
    assert flow.sleeps == [] and server.calls == ["/submit"]  # no retry of a permanent error
    token = base64.b64encode(f"esp:{wrong}".encode()).decode()
    shown = [failed.reason or "", caplog.text, repr(flow.submission.settings)]
    shown += [s.description or "" for s in store.steps(report_id)]
    shown += [e.detail for e in flow.events]
    assert not any(wrong in text or token in text for text in shown)


def test_lost_finish_answer_is_resolved_as_finished(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    server.switches.finish_lost = True  # the finish works, every answer is a 503
    report_id = draft(store, tmp_path, files=1)
    done = Flow(store, url).submission.submit(report_id)
    # The retried finish hears 5102 (already finished); the retract hears it too.
    assert done.status == "finished"
    assert [r.state for r in server.reports.values()] == ["finished"]


def test_wrong_hash_from_upload_retracts(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    server.switches.corrupt_hash = True
    report_id = draft(store, tmp_path, files=1)
    failed = Flow(store, url).submission.submit(report_id)
    assert failed.status == "failed" and "MD5" in (failed.reason or "")
    assert [r.state for r in server.reports.values()] == ["retracted"]


def test_retract_failing_too_is_explained(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    server.switches.fail_upload_at = 1
    server.switches.fail_retract = 3300
    report_id = draft(store, tmp_path)
    failed = Flow(store, url).submission.submit(report_id)
    assert failed.status == "failed"
    assert "retract failed too" in (failed.reason or "") and "24 h" in (failed.reason or "")


def test_duplicate_items_are_refused_before_sending(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    first = draft(store, tmp_path)
    with pytest.raises(ConflictError, match=f"already in CyberTipline report {first}"):
        draft(store, tmp_path)
    assert server.calls == []
    flow = Flow(store, url)
    flow.submission.retract(first)  # withdrawn: its items are free again
    assert store.get(first).status == "retracted"
    second = draft(store, tmp_path)
    assert flow.submission.submit(second).status == "finished"
    assert server.calls[0] == "/submit"


def test_changed_file_is_refused_before_anything_is_sent(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    report_id = draft(store, tmp_path)
    (tmp_path / "f1.bin").write_bytes(b"other benign bytes")
    with pytest.raises(InputError, match="changed since they were matched"):
        Flow(store, url).submission.submit(report_id)
    (tmp_path / "f1.bin").unlink()
    with pytest.raises(InputError, match="cannot read"):
        Flow(store, url).submission.submit(report_id)
    assert server.calls == [] and store.get(report_id).status == "drafted"


def test_interrupted_submission_is_retracted_and_reraised(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    report_id = draft(store, tmp_path)
    flow = Flow(store, url)

    def interrupt(event: AuditEvent) -> None:
        if event.step == "upload":
            raise KeyboardInterrupt

    flow.submission.audit = interrupt
    with pytest.raises(KeyboardInterrupt):
        flow.submission.submit(report_id)
    assert store.get(report_id).status == "failed"
    assert [r.state for r in server.reports.values()] == ["retracted"]


def test_report_left_open_is_retracted_by_retry_and_expires(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    report_id = draft(store, tmp_path, files=1)
    server.switches.fail_upload_at = 1
    server.switches.fail_retract = 1000  # the retract is lost: the report stays open
    flow = Flow(store, url)
    flow.submission.submit(report_id)
    stored = store.get(report_id)
    assert stored.status == "failed" and "retract failed too" in (stored.reason or "")
    [remote] = server.reports.values()
    assert remote.state == "open"
    # The abandonment rule: gone 24 h after opening (1 h after the last change is earlier).
    server.now = lambda: datetime.now(UTC) + timedelta(hours=24, minutes=1)
    server.switches = type(server.switches)()
    server.calls.clear()
    assert flow.submission.retry_report(report_id).status == "finished"
    assert remote.id not in server.reports
    assert server.calls[:2] == ["/retract", "/submit"]  # 5001: it expired


def test_retry_withdraws_a_report_whose_retract_failed(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    report_id = draft(store, tmp_path, files=1)
    server.switches.fail_upload_at = 1
    server.switches.fail_retract = 3300
    flow = Flow(store, url)
    flow.submission.submit(report_id)
    server.switches = type(server.switches)()
    assert flow.submission.retry_report(report_id).status == "finished"
    assert [r.state for r in server.reports.values()] == ["retracted", "finished"]


def test_retract_of_finished_is_refused_and_of_opened_goes_remote(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    report_id = draft(store, tmp_path, files=1)
    flow = Flow(store, url)
    flow.submission.submit(report_id)
    with pytest.raises(ConflictError, match="irreversible"):
        flow.submission.retract(report_id)
    other = draft(store, tmp_path, files=1, key="other")
    store.update(other, status="opened", remote_id=999)  # as a crash would leave it
    assert flow.submission.retract(other).status == "retracted"
    assert server.calls[-1] == "/retract"


def test_missing_credentials_are_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFELIGHT_CYBERTIP_USER", raising=False)
    with pytest.raises(UsageError, match="SAFELIGHT_CYBERTIP_USER"):
        Settings.from_env()
    monkeypatch.setenv("SAFELIGHT_CYBERTIP_USER", "esp")
    monkeypatch.setenv("SAFELIGHT_CYBERTIP_PASSWORD", PASSWORD)
    settings = Settings.from_env()
    assert settings.url == "https://exttest.cybertip.org/ispws"  # test service by default
    assert PASSWORD not in repr(settings)


def test_network_errors_are_transient_and_explained(store: ReportStore, tmp_path: Path) -> None:
    with serve(MockCyberTipline()) as url:
        pass  # the server is gone: its port now refuses connections
    report_id = draft(store, tmp_path, files=1)
    flow = Flow(store, url)
    failed = flow.submission.submit(report_id)
    assert failed.status == "failed" and "network error" in (failed.reason or "")
    assert "24 h" in (failed.reason or "")  # it may have opened: NCMEC deletes it
    assert flow.sleeps == [0.5, 1.0]
    assert [s.outcome for s in store.steps(report_id)] == ["transient"] * 3


def test_default_audit_and_status_call(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    from safelight.referrals.cybertipline.client import Client

    with Client(Settings(url=url, user="esp", password=PASSWORD)) as client:
        answer = client.status()
    assert answer.code == 0 and "Remote User : esp" in answer.description
    report_id = draft(store, tmp_path, files=1)
    submission = Submission(store, Settings(url=url, user="esp", password=PASSWORD))
    assert submission.submit(report_id).status == "finished"  # audit defaults to a no-op


def test_one_attempt_at_a_time(store: ReportStore, tmp_path: Path) -> None:
    report_id = draft(store, tmp_path, files=1)
    seen = store.get(report_id)
    assert store.claim(seen) == 1
    with pytest.raises(ConflictError, match="another process"):
        store.claim(seen)  # a second process that read the same draft sends nothing


def test_retracting_a_failed_report_whose_retract_failed_goes_remote(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    server, url = mock
    report_id = draft(store, tmp_path, files=1)
    server.switches.fail_upload_at = 1
    server.switches.fail_retract = 3300
    flow = Flow(store, url)
    flow.submission.submit(report_id)
    server.switches = type(server.switches)()
    with pytest.raises(UsageError, match="SAFELIGHT_CYBERTIP_USER"):
        Submission(store, None).retract(report_id)  # it is open at NCMEC: needs credentials
    assert flow.submission.retract(report_id).status == "retracted"
    assert [r.state for r in server.reports.values()] == ["retracted"]


def test_a_configured_schema_is_checked_before_sending(
    store: ReportStore, mock: tuple[MockCyberTipline, str], tmp_path: Path
) -> None:
    from safelight.errors import ValidationError
    from tests.test_cybertip_models import XSD

    server, url = mock
    schema = tmp_path / "fragment.xsd"
    schema.write_text(XSD.format(platform=1).replace('name="platform"', 'name="platformX"'))
    report_id = draft(store, tmp_path, files=1)
    settings = Settings(url=url, user="esp", password=PASSWORD, xsd=schema)
    with pytest.raises(ValidationError, match="does not match the schema"):
        Submission(store, settings).submit(report_id)
    assert server.calls == [] and store.get(report_id).status == "drafted"
    schema.write_text(XSD.format(platform=1))  # the draft has a platform: valid
    assert Submission(store, settings).submit(report_id).status == "finished"
