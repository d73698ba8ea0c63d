"""``safelight cybertip`` end to end: drafts from a scan run and a network lead, submission
against the local mock, failures shown first, retry and retract."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from safelight.cli import main
from safelight.match.results import Match
from safelight.scan.model import ItemResult
from safelight.scan.runs import RunStore
from safelight.signals.records import HashRecord
from safelight.store import Database
from tests.cybertip_mock import MockCyberTipline, serve

PASSWORD = "cli-s3cret"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="safelight")


@pytest.fixture
def mock(safelight_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockCyberTipline]:
    server = MockCyberTipline(password=PASSWORD)
    with serve(server) as url:
        monkeypatch.setenv("SAFELIGHT_CYBERTIP_URL", url)
        monkeypatch.setenv("SAFELIGHT_CYBERTIP_USER", "esp")
        monkeypatch.setenv("SAFELIGHT_CYBERTIP_PASSWORD", PASSWORD)
        monkeypatch.setenv("SAFELIGHT_CYBERTIP_REPORTER_EMAIL", "safety@example.org")
        yield server


def record(path: str, data: bytes, **extra: object) -> HashRecord:
    return HashRecord.from_dict(
        {
            "path": path,
            "size": len(data),
            "media": "photo",
            "md5": hashlib.md5(data).hexdigest(),
            "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
            **extra,
        }
    )


def hit(value: str, kind: str = "sha256") -> Match:
    return Match("KNOWN", 7, value, 0, frozenset({"series-b", "series-a"}), kind)


def scan_run(folder: Path, seed: int) -> int:
    """A recorded scan run: two matched local files, one matched archive member (hash only)
    and one file that matched nothing. Benign bytes only."""
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for i in range(2):
        data = f"benign scan bytes {seed}-{i}\n".encode() * 40
        (folder / f"f{i}.jpg").write_bytes(data)
        rec = record(str(folder / f"f{i}.jpg"), data)
        results.append(ItemResult(rec, (hit(rec.digests["sha256"]),)))
    member = record(
        f"{folder}/a.zip!inner/m.jpg",
        f"member {seed}".encode(),
        pdq="f" * 64,
        pdq_quality=100,
    )
    results.append(ItemResult(member, (hit("f" * 64, "pdq"),)))
    results.append(ItemResult(record(str(folder / "other.jpg"), b"unmatched")))
    with Database.open() as db:
        runs = RunStore(db)
        run_id = runs.create([str(folder)], [], {})
        runs.record(run_id, results)
    return run_id


def test_draft_submit_and_see_a_scan_report(mock: MockCyberTipline, tmp_path: Path) -> None:
    run_id = scan_run(tmp_path / "scan", 1)
    drafted = run("cybertip", "draft", "--scan", str(run_id), "--platform", "Example",
                  "--file-annotation", "viral", "--classification", "A2")  # fmt: skip
    assert drafted.exit_code == 0, drafted.output
    assert "drafted report 1 (scan 1): 2 files to upload, 3 items" in drafted.output
    assert "informational" in drafted.output  # no user or IP: NCMEC may not refer it
    xml = run("cybertip", "show", "1", "--xml").output
    root = etree.fromstring(xml.encode())
    info = root.findtext("additionalInfo") or ""
    assert "m.jpg" in info and "pdq=" + "f" * 64 in info and "series-a, series-b" in info
    assert mock.calls == []  # drafting sends nothing

    sent = run("cybertip", "submit", "1")
    assert sent.exit_code == 0, sent.output
    assert "report 1: finished (NCMEC report 100001)" in sent.output
    [remote] = mock.reports.values()
    assert sorted(remote.names.values()) == ["f0.jpg", "f1.jpg"]
    details = etree.fromstring(remote.details[0])
    assert details.findtext("fileViewedByEsp") == "false"  # nobody viewed it
    assert details.findtext("industryClassification") == "A2"
    assert [h.get("hashType") for h in details.iterfind("originalFileHash")] == [
        "MD5",
        "SHA1",
        "SHA256",
    ]
    assert "KNOWN entry 7" in (details.findtext("additionalInfo") or "")

    shown = json.loads(run("cybertip", "show", "1", "--json").output)
    assert shown["status"] == "finished" and "<reportDoneResponse>" in shown["receipt"]
    assert [s["step"] for s in shown["steps"]] == [
        "submit",
        "upload",
        "fileinfo",
        "upload",
        "fileinfo",
        "finish",
    ]
    again = run("cybertip", "draft", "--scan", str(run_id))
    assert again.exit_code == 4 and "already in CyberTipline report 1 (finished)" in again.output
    assert run("cybertip", "retract", "1").exit_code == 4  # finished: irreversible


def test_failure_is_listed_first_and_retried(mock: MockCyberTipline, tmp_path: Path) -> None:
    ok_run = scan_run(tmp_path / "ok", 1)
    bad_run = scan_run(tmp_path / "bad", 2)
    assert run("cybertip", "draft", "--scan", str(ok_run)).exit_code == 0
    assert run("cybertip", "submit", "1").exit_code == 0
    assert run("cybertip", "draft", "--scan", str(bad_run), "--hash-only").exit_code == 0
    assert run("cybertip", "draft", "--scan", str(scan_run(tmp_path / "c", 3))).exit_code == 0
    mock.switches.fail_finish = 4100
    failed = run("cybertip", "submit", "2")
    assert failed.exit_code == 1
    assert "report 2 failed: finish: NCMEC answered 4100" in failed.output
    assert "retracted at NCMEC" in failed.output and "cybertip retry 2" in failed.output
    assert PASSWORD not in failed.output

    listing = run("cybertip", "ls").output.splitlines()
    assert listing[1].split()[:2] == ["2", "failed"]  # failures first
    assert "reason: finish: NCMEC answered 4100" in listing[2]
    assert [line.split()[1] for line in listing[3:]] == ["drafted", "finished"]
    assert [
        r["id"] for r in json.loads(run("cybertip", "ls", "--status", "failed", "--json").output)
    ] == [2]  # noqa: E501

    mock.switches.fail_finish = None
    retried = run("cybertip", "retry", "2")
    assert retried.exit_code == 0, retried.output
    assert "report 2: finished" in retried.output
    assert run("cybertip", "retry", "2").exit_code == 4  # only a failed report is retried
    withdrawn = run("cybertip", "retract", "3")
    assert withdrawn.exit_code == 0 and "report 3: retracted" in withdrawn.output


def test_submit_without_credentials_is_a_usage_error(
    mock: MockCyberTipline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("cybertip", "draft", "--scan", str(scan_run(tmp_path, 1))).exit_code == 0
    monkeypatch.delenv("SAFELIGHT_CYBERTIP_PASSWORD")
    result = run("cybertip", "submit", "1")
    assert result.exit_code == 2 and "SAFELIGHT_CYBERTIP_PASSWORD" in result.output
    assert mock.calls == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "either --scan"),
        (["--scan", "1", "--case", "c"], "either --scan"),
        (["--case", "c"], "--case needs --lead"),
        (["--scan", "1", "--incident-time", "2024-01-01T00:00:00"], "no time zone"),
        (["--scan", "1", "--incident-time", "soon"], "not an ISO 8601"),
    ],
)
def test_draft_usage_errors(mock: MockCyberTipline, args: list[str], expected: str) -> None:
    result = run("cybertip", "draft", *args)
    assert result.exit_code == 2 and expected in result.output


def test_draft_refuses_a_future_time_and_an_empty_run(
    mock: MockCyberTipline, tmp_path: Path
) -> None:
    run_id = scan_run(tmp_path, 1)
    future = run(
        "cybertip", "draft", "--scan", str(run_id), "--incident-time", "2999-01-01T00:00:00Z"
    )  # noqa: E501
    assert future.exit_code == 1 and "incidentSummary.incidentDateTime" in future.output
    assert "future" in future.output
    with Database.open() as db:
        empty = RunStore(db).create([str(tmp_path)], [], {})
    nothing = run("cybertip", "draft", "--scan", str(empty))
    assert nothing.exit_code == 1 and "matched nothing" in nothing.output
    missing = run("cybertip", "draft", "--scan", str(run_id), "--item", "/no/such")
    assert missing.exit_code == 3
    assert run("cybertip", "draft", "--scan", "99").exit_code == 3
    assert run("cybertip", "show", "99").exit_code == 3


def test_draft_from_a_network_lead(mock: MockCyberTipline, tmp_path: Path) -> None:
    sim = tmp_path / "sim" / "s.csv"
    sizes = ["--connections", "60", "--countries", "3", "--groups", "2", "--files", "60"]
    assert run("network", "simulate", *sizes, "--out", str(sim)).exit_code == 0
    known = str(sim.parent / "known.csv")
    run("network", "ingest", str(sim), "--case", "c1", "--list-file", known)
    geo = str(sim.parent / "geo.mmdb")
    drafted = run("cybertip", "draft", "--case", "c1", "--lead", "1", "--geo", geo)
    assert drafted.exit_code == 0, drafted.output
    root = etree.fromstring(run("cybertip", "show", "1", "--xml").output.encode())
    p2p = root.find("internetDetails/peer2peerIncident")
    events = p2p.findall("ipCaptureEvent")
    ip = root.findtext("personOrUserReported/ipCaptureEvent/ipAddress")
    assert events and {e.findtext("ipAddress") for e in events} == {ip}
    times = [e.findtext("dateTime") for e in events]
    assert times == sorted(times) and all(t.endswith("+00:00") for t in times)
    assert root.findtext("incidentSummary/incidentDateTime") == times[0]
    assert "lead 1" in (p2p.findtext("additionalInfo") or "")
    assert len(root.findtext("personOrUserReported/estimatedLocation/countryCode") or "") == 2
    assert run("cybertip", "draft", "--case", "c1", "--lead", "1").exit_code == 4  # duplicate
    assert run("cybertip", "draft", "--case", "c1", "--lead", "9999").exit_code == 3
    sent = run("cybertip", "submit", "1")
    assert sent.exit_code == 0, sent.output
    assert mock.calls == ["/submit", "/finish"]  # nothing to upload: hashes only


def test_show_in_words_and_an_open_report_with_its_deadline(
    mock: MockCyberTipline, tmp_path: Path
) -> None:
    assert run("cybertip", "draft", "--scan", str(scan_run(tmp_path / "a", 1))).exit_code == 0
    mock.switches.fail_upload_at = 1
    run("cybertip", "submit", "1")
    shown = run("cybertip", "show", "1").output
    assert "report 1: failed (scan 1)" in shown and "reason   upload: NCMEC answered 4200" in shown
    assert "file     f0.jpg (upload)" in shown
    assert "#1 upload try 1: failed code 4200  req-" in shown
    assert "warning  no reported user" in shown
    assert run("cybertip", "draft", "--scan", str(scan_run(tmp_path / "b", 2))).exit_code == 0
    from safelight.referrals.cybertipline.store import ReportStore

    with Database.open() as db:  # as a crash between open and finish would leave it
        ReportStore(db).update(2, status="opened", remote_id=5, opened_at=datetime.now(UTC))
    listing = run("cybertip", "ls").output
    assert "open at NCMEC; deleted unfinished after" in listing
    mock.switches = type(mock.switches)()
    retried = run("cybertip", "retry", "2")  # retracts the open one (5001 here), sends anew
    assert retried.exit_code == 0 and "report 2: finished" in retried.output
    assert mock.calls[-7:] == [
        "/retract",
        "/submit",
        "/upload",
        "/fileinfo",
        "/upload",
        "/fileinfo",
        "/finish",
    ]
