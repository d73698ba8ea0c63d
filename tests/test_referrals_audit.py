"""Every referral act from the command line is an entry of the hash-chained audit log, by
``cli:<OS user>``: keys, build from hotline reports, verify, mark sent, supersede, and a
CyberTipline report drafted, submitted (failing), retried and retracted; ``audit verify``
holds afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safelight.cli import main
from safelight.lists.store import default_user
from safelight.service.audit import AuditLog
from safelight.store import Database
from tests.cybertip_mock import MockCyberTipline, serve
from tests.hotline_referral_support import assess, item_id, submit
from tests.referral_support import make_scan_run

PASSPHRASE = "a long enough passphrase"
ACTOR = f"cli:{default_user()}"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="safelight")


@pytest.fixture
def env(safelight_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFELIGHT_KEY_PASSPHRASE", PASSPHRASE)
    return safelight_env


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockCyberTipline]:
    server = MockCyberTipline(password="s3cret-pass")
    with serve(server) as url:
        monkeypatch.setenv("SAFELIGHT_CYBERTIP_URL", url)
        monkeypatch.setenv("SAFELIGHT_CYBERTIP_USER", "esp")
        monkeypatch.setenv("SAFELIGHT_CYBERTIP_PASSWORD", "s3cret-pass")
        yield server


def entries(db: Database) -> list[tuple[str, str, str, dict[str, object]]]:
    return [(e.actor, e.action, e.target, e.details) for e in AuditLog(db).entries()]


def test_referral_and_key_acts_are_audited(env: Path, db: Database, tmp_path: Path) -> None:
    reference = submit(db, "https://a.example.de/1", "https://b.example.fr/2")
    assess(db, "a.example.de")
    assert run("keys", "create", "--organisation", "Example Hotline").exit_code == 0
    exported = run("keys", "export", "-o", str(tmp_path / "org.pub"))
    assert exported.exit_code == 0, exported.output
    built = run(
        "referral", "build", "--country", "DE", "--reports", reference,
        "--out", str(tmp_path / "pkg"), "--format", "json",
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    record = json.loads(built.output)
    assert record["created_by"] == ACTOR and record["items"] == 1
    assert run("referral", "verify", str(tmp_path / "pkg")).exit_code == 0
    assert run("referral", "mark-sent", "1", "--to", "jugendschutz.net").exit_code == 0
    newer = run(
        "referral", "supersede", "1", "--reason", "classification corrected",
        "--out", str(tmp_path / "new"),
    )  # fmt: skip
    assert newer.exit_code == 0, newer.output
    nothing = run("referral", "build", "--country", "NL", "--reports", "all",
                  "--out", str(tmp_path / "nl"))  # fmt: skip
    assert nothing.exit_code == 1 and "no URL the hotline holds assessed illegal" in nothing.output
    found = entries(db)
    fingerprint = str(found[0][3]["fingerprint"])
    assert [(a, b, c) for a, b, c, _ in found] == [
        (ACTOR, "key.created", f"key:{fingerprint}"),
        (ACTOR, "key.exported", f"key:{fingerprint}"),
        (ACTOR, "referral.built", "referral:1"),
        (ACTOR, "referral.verified", f"referral:{record['referral_id']}"),
        (ACTOR, "referral.sent", "referral:1"),
        (ACTOR, "hotline.package_sent", f"item:{item_id(db, 'a.example.de')}"),
        (ACTOR, "referral.superseded", "referral:2"),
    ]
    built_details = found[2][3]
    assert built_details["country"] == "DE" and built_details["items"] == 1
    assert built_details["manifest_sha256"] == record["manifest_sha256"]
    assert found[3][3]["ok"] is True and found[4][3]["sent_to"] == "jugendschutz.net"
    assert found[5][3]["referral_id"] == record["referral_id"]  # on the item's timeline too
    assert found[6][3]["supersedes"] == 1
    assert PASSPHRASE not in json.dumps([d for *_, d in found])
    checked = run("audit", "verify")
    assert checked.exit_code == 0 and checked.output.startswith("ok: 7 entries")


def test_a_failed_build_leaves_no_entry(env: Path, db: Database, tmp_path: Path) -> None:
    assert run("keys", "create", "--organisation", "Example Hotline").exit_code == 0
    refused = run("referral", "build", "--country", "DE", "--reports", "00000-0000Z",
                  "--out", str(tmp_path / "pkg"))  # fmt: skip
    assert refused.exit_code == 2 and "not a report reference" in refused.output
    assert [e[1] for e in entries(db)] == ["key.created"]


def test_cybertip_acts_are_audited_without_credentials(
    env: Path, db: Database, mock: MockCyberTipline
) -> None:
    run_id = make_scan_run(db)
    drafted = run("cybertip", "draft", "--scan", str(run_id), "--email", "t@example.org",
                  "--hash-only")  # fmt: skip
    assert drafted.exit_code == 0, drafted.output
    mock.switches.fail_finish = 4100
    failed = run("cybertip", "submit", "1")
    assert failed.exit_code == 1 and "failed" in failed.output
    mock.switches.fail_finish = None
    assert run("cybertip", "retry", "1").exit_code == 0
    assert run("cybertip", "retract", "1").exit_code == 4  # finished: irreversible
    found = entries(db)
    assert {e[0] for e in found} == {ACTOR} and {e[2] for e in found} == {"cybertip:1"}
    requests = [e[1] for e in found if e[1] != "cybertip.call"]
    assert requests == [
        "cybertip.draft",
        "cybertip.submit",
        "cybertip.status",  # opened
        "cybertip.status",  # failed (finish refused), retracted at NCMEC
        "cybertip.retry",
        "cybertip.status",  # opened
        "cybertip.status",  # finished
        "cybertip.retract",
    ]
    statuses = [e[3]["outcome"] for e in found if e[1] == "cybertip.status"]
    assert statuses == ["opened", "failed", "opened", "finished"]
    calls = [(e[3]["step"], e[3]["outcome"]) for e in found if e[1] == "cybertip.call"]
    assert ("finish", "failed") in calls and ("retract", "ok") in calls
    text = json.dumps([e[3] for e in found])
    assert "s3cret-pass" not in text and "ZXNwOnMzY3JldC1wYXNz" not in text
    assert run("audit", "verify").exit_code == 0
