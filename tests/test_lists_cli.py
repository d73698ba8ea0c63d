"""``safelight lists ...`` end to end through click, on the test's store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safelight.cli import main
from safelight.lists.store import default_user

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "749476eb0cd128289f0dec3e062da83c"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, prog_name="safelight")


@pytest.fixture
def hashes(tmp_path: Path) -> Path:
    path = tmp_path / "hashes.txt"
    path.write_text(f"pdq {PDQ}\nmd5 {MD5}\n")
    return path


def test_create_ls_show(safelight_env: Path, hashes: Path) -> None:
    result = run("lists", "create", "NCMEC", "--source", "NCMEC", "--description", "CSAM hashes")
    assert (result.exit_code, result.output) == (0, "created list NCMEC\n")
    assert run("lists", "create", "SMALL", "--pdq-threshold", "10", "--disabled").exit_code == 0
    assert run("lists", "import", "NCMEC", str(hashes), "--label", "cat A").exit_code == 0
    assert run("lists", "ls").output.splitlines() == [
        "NAME   ENABLED  ENTRIES  PDQ  GEN  SOURCE",
        "NCMEC  yes      2        31   1    NCMEC",
        "SMALL  no       0        10   0",
    ]
    listed = [
        json.loads(line) for line in run("lists", "ls", "--format", "jsonl").output.splitlines()
    ]
    assert [(r["name"], r["entries"]) for r in listed] == [("NCMEC", 2), ("SMALL", 0)]
    assert json.loads(run("lists", "ls", "--format", "json").output)[1]["pdq_threshold"] == 10
    shown = run("lists", "show", "NCMEC").output
    assert "description:    CSAM hashes" in shown
    assert "entries:        2 (0 disabled now)" in shown
    assert "  md5  1" in shown and "  cat A  2" in shown
    assert f"by {default_user()}: {hashes.resolve()} (lines, sha256 " in shown
    data = json.loads(run("lists", "show", "NCMEC", "--format", "json").output)
    assert (data["by_type"], data["by_label"]) == ({"md5": 1, "pdq": 1}, {"cat A": 2})
    assert data["imports"][0]["records"] == 2
    empty = run("lists", "show", "SMALL").output
    assert "by label:\n  (none)" in empty and "imports (latest first):\n  (none)" in empty
    created = json.loads(run("lists", "create", "JSON_ONE", "--format", "json").output)
    assert created["name"] == "JSON_ONE" and created["generation"] == 0


def test_no_lists_yet(safelight_env: Path) -> None:
    assert "no lists" in run("lists", "ls").output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["lists", "show", "NOPE"], 3, "error: list 'NOPE' does not exist"),
        (["lists", "create", "DUP"], 4, "error: list 'DUP' already exists"),
        (["lists", "create", "bad"], 2, "must be UPPER_WITH_UNDERSCORE"),
        (["lists", "create", "X", "--pdq-threshold", "64"], 2, "64 is not in the range 0<=x<=63"),
        (["lists", "rm", "NOPE", "--yes"], 3, "error: list 'NOPE' does not exist"),
        (["lists", "enable", "DUP", "--entry", "424242"], 3, "has no entries with ids 424242"),
        (["lists", "disable", "DUP", "--until", "soon"], 2, "is not an ISO-8601 timestamp"),
        (["lists", "import", "DUP", "/nonexistent/x.txt"], 1, "cannot read /nonexistent/x.txt"),
        (["lists", "import", "DUP", "-", "--map", "nope"], 2, "expected FIELD=COLUMN"),
        (["lists", "import", "DUP", "-", "--label", "a|b"], 2, "contains '|'"),
    ],
)
def test_errors_map_to_exit_codes(
    safelight_env: Path, args: list[str], code: int, message: str
) -> None:
    assert run("lists", "create", "DUP").exit_code == 0
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_invalid_file_imports_nothing_and_lists_problems(
    safelight_env: Path, tmp_path: Path
) -> None:
    run("lists", "create", "L")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"hash,kind\n{MD5},md5\nzz,md5\n{PDQ},pdq\n")
    result = run("lists", "import", "L", str(bad), "--map", "value=hash,type=kind")
    assert result.exit_code == 1
    assert f"error: 1 invalid record in {bad.resolve()}; nothing was imported" in result.output
    assert f"  {bad}:3: md5 value must be 32 hex characters, got 2" in result.output
    assert json.loads(run("lists", "show", "L", "--format", "json").output)["entries"] == 0

    problems = tmp_path / "problems.tsv"
    result = run(
        "lists",
        "import",
        "L",
        str(bad),
        "--map",
        "value=hash,type=kind",
        "--skip-invalid",
        "--problems",
        str(problems),
        "--format",
        "json",
    )
    assert result.exit_code == 1  # some records were skipped
    report = json.loads(result.stdout)
    assert (report["added"], report["invalid"]) == (2, 1)
    assert problems.read_text() == (
        f"location\treason\n{bad}:3\tmd5 value must be 32 hex characters, got 2\n"
    )
    again = run("lists", "import", "L", str(bad), "--map", "value=hash,type=kind", "--skip-invalid")
    assert "already present    2" in again.stdout
    assert f"{bad}:3: md5 value must be" in again.stderr


def test_problems_file_guards_formula_cells(
    safelight_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("lists", "create", "F")
    monkeypatch.chdir(tmp_path)
    Path("=bad.csv").write_text(f"hash\n{MD5}\nzz\n")
    result = run("lists", "import", "F", "=bad.csv", "--skip-invalid", "--problems", "p.tsv")
    assert result.exit_code == 1, result.output
    assert Path("p.tsv").read_text().splitlines()[1].startswith("'=bad.csv:3\t")


def test_import_from_stdin_with_type(safelight_env: Path) -> None:
    run("lists", "create", "S")
    sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    result = run(
        "lists", "import", "S", "-", "--type", "sha256", "--by", "analyst 7", input=f"{sha256}\n"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(run("lists", "show", "S", "--format", "json").output)
    assert data["by_type"] == {"sha256": 1}
    assert data["imports"][0]["imported_by"] == "analyst 7"
    assert data["imports"][0]["source_path"] == "<stdin>"


def test_export_to_file_and_stdout(safelight_env: Path, hashes: Path, tmp_path: Path) -> None:
    run("lists", "create", "E")
    run("lists", "import", "E", str(hashes))
    out = tmp_path / "out.csv"
    result = run("lists", "export", "E", "-o", str(out), "--format", "csv")
    assert result.exit_code == 0
    assert "exported 2 entries of E" in result.stderr
    assert out.read_text().splitlines()[0] == "id,type,value,labels,note,disabled_until"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv")] == []
    lines = run("lists", "export", "E", "--format", "lines", "--type", "md5")
    assert lines.stdout == f"md5 {MD5}\n"
    vic = run("lists", "export", "E", "--format", "projectvic")
    assert "left out 1 entries the projectvic format cannot hold" in vic.stderr
    assert json.loads(vic.stdout)["value"][0]["MD5"] == MD5.upper()


def test_enable_disable_and_rm(safelight_env: Path, hashes: Path) -> None:
    run("lists", "create", "D")
    run("lists", "import", "D", str(hashes))
    assert run("lists", "disable", "D").output == "disabled list D (generation 2)\n"
    assert run("lists", "enable", "D").output == "enabled list D (generation 3)\n"
    entry = json.loads(run("lists", "export", "D", "--type", "md5").stdout)["id"]
    result = run("lists", "disable", "D", "--entry", str(entry), "--until", "2099-01-01T00:00:00Z")
    assert (
        result.output == "disabled 1 entries of D until 2099-01-01T00:00:00+00:00 (generation 4)\n"
    )
    enabled_only = run("lists", "export", "D", "--format", "lines", "--enabled-only").stdout
    assert enabled_only == f"pdq {PDQ}\n"
    assert run("lists", "enable", "D", "--entry", str(entry)).exit_code == 0
    assert run("lists", "rm", "D", input="n\n").exit_code == 1  # declined: aborted
    assert run("lists", "rm", "D", input="y\n").output.endswith("deleted list D (2 entries)\n")
    assert run("lists", "show", "D").exit_code == 3


def test_the_cli_names_its_own_flags_for_library_errors(safelight_env: Path, hashes: Path) -> None:
    assert run("lists", "create", "M").exit_code == 0
    bad_map = run("lists", "import", "M", str(hashes), "--map", "value")
    assert bad_map.exit_code == 2
    assert "error: --map: 'value': expected FIELD=COLUMN" in bad_map.stderr
    untyped = hashes.parent / "untyped.txt"
    untyped.write_text("ab" * 32 + "\n")
    refused = run("lists", "import", "M", str(untyped))
    assert "hint: declare the type" in refused.stderr
    assert "--skip-invalid imports the valid records" in refused.stderr


def test_output_options_create_missing_folders(
    safelight_env: Path, hashes: Path, tmp_path: Path
) -> None:
    run("lists", "create", "O")
    run("lists", "import", "O", str(hashes))
    exported = tmp_path / "new" / "deeper" / "o.jsonl"
    result = run("lists", "export", "O", "-o", str(exported))
    assert result.exit_code == 0, result.output
    assert len(exported.read_text().splitlines()) == 2
    problems = tmp_path / "other" / "problems.tsv"
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{MD5}\nzz\n")
    result = run("lists", "import", "O", str(bad), "--skip-invalid", "--problems", str(problems))
    assert result.exit_code == 1  # a record was skipped
    assert problems.read_text().startswith("location\treason\n")


@pytest.mark.parametrize("option", [["export", "O", "-o"], ["import", "O", "-", "--problems"]])
def test_an_output_path_that_cannot_be_made_is_named(
    safelight_env: Path, tmp_path: Path, option: list[str]
) -> None:
    run("lists", "create", "O")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = blocker / "x.out"
    result = run("lists", *option, str(target), input=f"md5 {MD5}\n")
    assert result.exit_code == 2, result.output
    assert f"error: cannot create folder {blocker} for {target}: " in result.output
    assert "Traceback" not in result.output


def test_disable_until_a_past_time_is_a_usage_error(safelight_env: Path, hashes: Path) -> None:
    run("lists", "create", "P")
    run("lists", "import", "P", str(hashes))
    entry = json.loads(run("lists", "export", "P", "--type", "md5").stdout)["id"]
    result = run("lists", "disable", "P", "--entry", str(entry), "--until", "2020-01-01T00:00Z")
    assert result.exit_code == 2, result.output
    assert "error: --until 2020-01-01T00:00:00+00:00 is in the past (now 20" in result.output
    assert not result.output.startswith("disabled")
    enabled = run("lists", "export", "P", "--format", "lines", "--enabled-only").stdout
    assert f"md5 {MD5}" in enabled


def test_list_name_mistakes_are_explained(safelight_env: Path, tmp_path: Path) -> None:
    run("lists", "create", "MY_LIST")
    run("lists", "create", "OFF", "--disabled")
    shown = run("lists", "show", "my_list")
    assert shown.exit_code == 3
    assert "error: list 'my_list' does not exist (did you mean 'MY_LIST'?)" in shown.output
    matched = run("match", "--hash", MD5, "--list", "my_list")
    assert matched.exit_code == 3
    assert "error: list 'my_list' does not exist (did you mean 'MY_LIST'?)" in matched.output
    log = tmp_path / "log.csv"
    log.write_text(f"ts,ip,md5\n2024-01-01T00:00:00Z,192.0.2.1,{MD5}\n")
    commands = (
        ["match", "--hash", MD5],
        ["scan", str(tmp_path)],
        ["network", "ingest", str(log), "--case", "c"],
    )
    for args in commands:
        result = run(*args, "--list", "OFF")
        assert result.exit_code == 2, result.output
        assert "error: list 'OFF' is disabled and matches nothing until enabled" in result.output
        assert "enable it with: safelight lists enable OFF" in result.output
    assert (
        "no network case named 'c'"
        in run("network", "analyze", "--case", "c", "--out", str(tmp_path / "r")).output
    )
