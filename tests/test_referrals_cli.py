"""``safelight keys`` and ``safelight referral`` end to end on the network demo case."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safelight.cli import main

SIM = ["--connections", "80", "--countries", "3", "--groups", "2", "--files", "100"]
PASSPHRASE = "a long enough passphrase"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="safelight")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def demo_case(safelight_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The network demo: a simulated log ingested against its known list, and a key."""
    monkeypatch.setenv("SAFELIGHT_KEY_PASSPHRASE", PASSPHRASE)
    sim = tmp_path / "sim" / "s.csv"
    assert run("network", "simulate", *SIM, "--out", str(sim)).exit_code == 0
    ingested = run(
        "network",
        "ingest",
        str(sim),
        "--case",
        "demo",
        "--list-file",
        str(sim.parent / "known.csv"),
    )
    assert ingested.exit_code == 1, ingested.output  # the simulation plants bad rows
    created = run("keys", "create", "--organisation", "Example Hotline", "--contact", "a@b.example")
    assert created.exit_code == 0, created.output
    return tmp_path


def build(base: Path, out: str, *extra: str) -> Result:
    geo = str(base / "sim" / "geo.mmdb")
    return run(
        "referral", "build", "--case", "demo", "--geo", geo, "--out", str(base / out), *extra
    )


def test_the_network_demo_case_is_referred_per_country(demo_case: Path) -> None:
    report = demo_case / "report"
    geo = str(demo_case / "sim" / "geo.mmdb")
    assert (
        run("network", "analyze", "--case", "demo", "--geo", geo, "--out", str(report)).exit_code
        == 0
    )
    countries = sorted(p.name for p in (report / "referrals").iterdir())
    assert countries, "the demo case has leads in some country"
    country = countries[0]
    built = build(
        demo_case,
        "pkg",
        "--country",
        country.lower(),
        "--recipient-role",
        "law_enforcement",
        "--format",
        "json",
    )
    assert built.exit_code == 0, built.output
    record = json.loads(built.output)
    assert record["country"] == country and record["status"] == "draft"
    # The package holds the leads network analyze exports for that country, in its order.
    ours = rows(demo_case / "pkg" / "leads.csv")
    theirs = rows(report / "referrals" / country / "leads.csv")
    assert [r["ip"] for r in ours] == [r["ip"] for r in theirs]
    assert [r["known_files"] for r in ours] == [r["known_files"] for r in theirs]
    files = rows(demo_case / "pkg" / "files.csv")
    assert files and all(r["sha256"] or r["sha1"] or r["md5"] for r in files)
    assert max(int(r["holders"]) for r in files) <= len(ours)

    verified = run("referral", "verify", str(demo_case / "pkg"))
    assert verified.exit_code == 0, verified.output
    assert verified.output.rstrip().endswith("OK")

    # The default role (hotline) gets the same leads without a single IP address.
    assert build(demo_case, "hotline", "--country", country).exit_code == 0
    hotline = demo_case / "hotline"
    assert [r["lead"] for r in rows(hotline / "leads.csv")] == [r["lead"] for r in ours]
    text = "".join((hotline / n).read_text() for n in ("leads.csv", "files.csv", "referral.json"))
    assert not [ip for ip in (r["ip"] for r in ours) if ip in text]


def test_verify_names_every_change_and_exits_non_zero(demo_case: Path) -> None:
    assert build(demo_case, "pkg", "--country", "US").exit_code == 0
    folder = demo_case / "pkg"
    key = demo_case / "org.pub"
    assert run("keys", "export", "--encoding", "raw", "-o", str(key)).exit_code == 0
    assert run("referral", "verify", str(folder), "--key", str(key)).exit_code == 0
    data = bytearray((folder / "files.csv").read_bytes())
    data[5] ^= 0x01
    (folder / "files.csv").write_bytes(bytes(data))
    (folder / "timeline.csv").unlink()
    (folder / "added.txt").write_text("x")
    result = run("referral", "verify", str(folder), "--key", str(key))
    assert result.exit_code == 1
    assert "altered: files.csv" in result.output
    assert "missing: timeline.csv" in result.output
    assert "added: added.txt" in result.output
    assert result.output.rstrip().endswith("FAILED")
    as_json = json.loads(run("referral", "verify", str(folder), "--format", "json").output)
    assert (as_json["altered"], as_json["missing"], as_json["added"]) == (
        ["files.csv"],
        ["timeline.csv"],
        ["added.txt"],
    )


def test_a_signature_from_another_key_fails(demo_case: Path, tmp_path: Path) -> None:
    assert build(demo_case, "pkg", "--country", "US").exit_code == 0
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from safelight.referrals.keys import public_pem

    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    result = run("referral", "verify", str(demo_case / "pkg"), "--key", str(stranger))
    assert result.exit_code == 1 and "signature: invalid" in result.output


def test_records_mark_sent_duplicate_and_supersede(demo_case: Path) -> None:
    assert build(demo_case, "one", "--country", "US").exit_code == 0
    duplicate = build(demo_case, "two", "--country", "US")
    assert duplicate.exit_code == 4 and "already refers the same" in duplicate.output
    assert not (demo_case / "two").exists()
    listed = run("referral", "ls")
    assert listed.exit_code == 0 and "draft" in listed.output
    sent = run("referral", "mark-sent", "1", "--to", "NCMEC liaison")
    assert sent.exit_code == 0, sent.output
    again = run("referral", "mark-sent", "1", "--to", "x")
    assert again.exit_code == 4 and "only superseded" in again.output
    newer = run(
        "referral",
        "supersede",
        "1",
        "--reason",
        "more leads",
        "--out",
        str(demo_case / "three"),
        "--format",
        "json",
    )
    assert newer.exit_code == 0, newer.output
    assert json.loads(newer.output)["supersedes"] == 1
    shown = json.loads(run("referral", "show", "1", "--items").output)
    assert shown["status"] == "superseded" and shown["superseded_by"] == 2
    assert shown["sent_to"] == "NCMEC liaison" and shown["item_keys"]
    assert (
        json.loads(run("referral", "ls", "--format", "json", "--country", "us").output)[0]["id"]
        == 2
    )


def test_clear_errors_for_bad_input(demo_case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unknown = build(demo_case, "pkg", "--country", "XK")
    assert unknown.exit_code == 2 and "not an ISO 3166-1 alpha-2" in unknown.output
    assert "Traceback" not in unknown.output
    nothing = run("referral", "build", "--country", "US", "--out", str(demo_case / "pkg"))
    assert nothing.exit_code == 2 and "nothing to refer" in nothing.output
    no_geo = run(
        "referral", "build", "--country", "US", "--case", "demo", "--out", str(demo_case / "pkg")
    )
    assert no_geo.exit_code == 1 and "country of every lead is unknown" in no_geo.output
    assert "hint: give the case's geolocation database with --geo" in no_geo.output
    elsewhere = build(demo_case, "pkg", "--country", "JP")
    assert elsewhere.exit_code == 1 and "no lead is in JP (leads by country: " in elsewhere.output
    no_case = run(
        "referral", "build", "--country", "US", "--case", "nope", "--out", str(demo_case / "pkg")
    )
    assert no_case.exit_code == 3
    monkeypatch.setenv("SAFELIGHT_KEY_PASSPHRASE", "not the passphrase")
    wrong = build(demo_case, "pkg", "--country", "US")
    assert wrong.exit_code == 2 and "wrong passphrase" in wrong.output
    monkeypatch.delenv("SAFELIGHT_KEY_PASSPHRASE")
    missing = build(demo_case, "pkg", "--country", "US")
    assert missing.exit_code == 2 and "SAFELIGHT_KEY_PASSPHRASE" in missing.output
    assert not (demo_case / "pkg").exists()
    assert run("referral", "show", "99").exit_code == 3


def test_keys_export_and_import(
    demo_case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem = run("keys", "export")
    assert pem.exit_code == 0 and pem.output.startswith("-----BEGIN PUBLIC KEY-----")
    again = run("keys", "create", "--organisation", "x")
    assert again.exit_code == 4
    private = next((demo_case / "home" / "keys").glob("signing_key.pem"))
    monkeypatch.setenv("SAFELIGHT_HOME", str(tmp_path / "other-home"))
    assert run("keys", "export").exit_code == 3
    imported = run("keys", "import", str(private), "--organisation", "Example Hotline")
    assert imported.exit_code == 0, imported.output
    assert run("keys", "export").output == pem.output


def test_the_summary_pdf_renders(demo_case: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: .ci/install-system-deps")
    assert build(demo_case, "pkg", "--country", "US").exit_code == 0
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-png",
            str(demo_case / "pkg" / "summary.pdf"),
            str(demo_case / "page"),
        ],
        check=True,
    )
    pages = sorted(demo_case.glob("page-*.png"))
    assert pages and all(p.stat().st_size > 1000 for p in pages)
    text = subprocess.run(
        ["pdftotext", str(demo_case / "pkg" / "summary.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "Referral to US" in text and "Leads" in text and "Timeline" in text
    assert "known sightings per day" in text and "sha1:" in text
