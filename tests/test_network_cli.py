"""``safelight network`` as a new user meets it: empty cases, cases, output files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safelight.cli import main

SIM = ["--connections", "80", "--countries", "3", "--groups", "2", "--files", "100"]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="safelight")


@pytest.fixture
def unknown_case(safelight_env: Path, tmp_path: Path) -> Path:
    """A simulated log ingested with no known material at all (an empty store)."""
    sim = tmp_path / "sim" / "s.csv"
    assert run("network", "simulate", *SIM, "--out", str(sim)).exit_code == 0
    ingested = run("network", "ingest", str(sim), "--case", "c1")
    assert ingested.exit_code == 1, ingested.output  # the simulation plants bad rows
    assert "0 known" in ingested.output
    return tmp_path


def test_a_case_with_no_known_file_gives_a_complete_honest_report(unknown_case: Path) -> None:
    out = unknown_case / "report"
    result = run("network", "analyze", "--case", "c1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "note: no sighted file is known" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["headline"]["connections"] == 0
    assert report["headline"]["connections_total"] == 80
    assert report["notes"] and "no enabled hash lists" in report["notes"][0]
    assert "no sighted file is known" in (out / "report.html").read_text()
    assert list((out / "referrals").iterdir()) == []
    assert {p.name for p in out.iterdir()} >= {"leads.csv", "report.html", "referrals"}


def test_a_failed_write_leaves_the_earlier_report_and_no_leftovers(
    unknown_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = unknown_case / "report"
    assert run("network", "analyze", "--case", "c1", "--out", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def broken(_report: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("safelight.network.html.render_html", broken)
    failed = run("network", "analyze", "--case", "c1", "--out", str(out))
    assert failed.exit_code != 0
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not [p.name for p in unknown_case.iterdir() if p.name.startswith(".report")]


def test_a_folder_that_is_not_a_report_is_not_replaced(unknown_case: Path) -> None:
    mine = unknown_case / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = run("network", "analyze", "--case", "c1", "--out", str(mine))
    assert result.exit_code == 2
    assert f"{mine} is not empty and holds no earlier report" in result.output
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_simulate_names_every_file_and_overwrites_only_when_forced(
    safelight_env: Path, tmp_path: Path
) -> None:
    out = tmp_path / "new" / "s.csv"
    first = run("network", "simulate", *SIM, "--out", str(out))
    assert first.exit_code == 0, first.output
    written = [line.removeprefix("wrote ") for line in first.output.splitlines()[1:]]
    names = ["s.csv", "truth_connections.csv", "known.csv", "geo.mmdb", "truth.json"]
    assert written == [str(out.parent / name) for name in names]
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(names)
    before = (out.parent / "truth.json").read_bytes()

    again = run("network", "simulate", *SIM, "--seed", "3", "--out", str(out))
    assert again.exit_code == 4
    assert f"error: would overwrite {out}, {out.parent / 'truth_connections.csv'}" in again.output
    assert "(--force overwrites them)" in again.output
    assert (out.parent / "truth.json").read_bytes() == before
    forced = run("network", "simulate", *SIM, "--seed", "3", "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert (out.parent / "truth.json").read_bytes() != before


def test_simulate_refuses_a_name_its_companions_use(safelight_env: Path, tmp_path: Path) -> None:
    result = run("network", "simulate", *SIM, "--out", str(tmp_path / "known.csv"))
    assert result.exit_code == 2
    assert "that name is taken by a companion file" in result.output


def test_analyze_creates_missing_folders_and_names_a_blocked_one(unknown_case: Path) -> None:
    out = unknown_case / "a" / "b" / "report"
    assert run("network", "analyze", "--case", "c1", "--out", str(out)).exit_code == 0
    assert (out / "report.json").is_file()
    blocker = unknown_case / "a-file"
    blocker.write_text("")
    blocked = run("network", "analyze", "--case", "c1", "--out", str(blocker / "r"))
    assert blocked.exit_code == 2
    assert f"error: cannot create folder {blocker} for {blocker / 'r'}" in blocked.output


def test_cases_lists_every_case_with_its_ingests(unknown_case: Path) -> None:
    listed = run("network", "cases")
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()
    assert header.split() == ["NAME", "INGESTS", "ROWS", "BAD", "LAST", "INGEST", "LISTS"]
    assert row.split()[:4] == ["c1", "1", "801", "2"]
    assert row.endswith("every enabled list")
    [case] = json.loads(run("network", "cases", "--format", "json").output)
    assert (case["name"], case["ingests"], case["rows_good"], case["lists"]) == ("c1", 1, 801, [])
    assert case["created_at"].endswith("+00:00") and case["last_ingest_at"].endswith("+00:00")


def test_no_cases_yet(safelight_env: Path) -> None:
    assert run("network", "cases").output.startswith("no cases")
    assert json.loads(run("network", "cases", "--format", "json").output) == []


def test_a_failed_ingest_leaves_no_case_and_no_changed_lists(
    safelight_env: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    failed = run("network", "ingest", str(bad), "--case", "new")
    assert failed.exit_code == 2
    assert "no column for timestamp, ip" in failed.output
    assert json.loads(run("network", "cases", "--format", "json").output) == []
    assert not (safelight_env / "network" / "case-1").exists()
    assert (
        "no network case named 'new'"
        in run("network", "analyze", "--case", "new", "--out", str(tmp_path / "r")).output
    )

    good = tmp_path / "good.csv"
    good.write_text("ts,ip,md5\n2024-01-01T00:00:00Z,192.0.2.1," + "a" * 32 + "\n")
    known = tmp_path / "known.csv"
    known.write_text("hash\n" + "a" * 32 + "\n")
    assert run("network", "ingest", str(good), "--case", "old").exit_code == 0
    again = run("network", "ingest", str(bad), "--case", "old", "--list-file", str(known))
    assert again.exit_code == 2
    [old] = json.loads(run("network", "cases", "--format", "json").output)
    assert (old["name"], old["ingests"], old["lists"]) == ("old", 1, [])


def test_without_a_geolocation_database_the_cli_names_the_flag(
    unknown_case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The report's own words name no flag (the library never does); the CLI adds --geo.
    monkeypatch.setattr("safelight.network.geo.dbip_data_path", lambda: None)
    out = unknown_case / "report"
    result = run("network", "analyze", "--case", "c1", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "hint: --geo FILE.mmdb (MaxMind) gives countries and networks" in result.stderr
    attribution = json.loads((out / "report.json").read_text())["sources"]["geolocation"]
    assert "--" not in attribution["attribution"]
    with_geo = run(
        "network", "analyze", "--case", "c1", "-o", str(out),
        "--geo", str(unknown_case / "sim" / "geo.mmdb"),
    )  # fmt: skip
    assert with_geo.exit_code == 0 and "hint: --geo" not in with_geo.stderr
