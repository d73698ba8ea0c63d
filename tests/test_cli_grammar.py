"""One CLI grammar: the same flag means the same thing in every command (docs/cli.md).

The structural tests walk every registered command, so a new command that declares its own
``--format``, ``--jobs`` or ``--out`` with another meaning or default fails here.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import safelight
from safelight.cli import flag_of, main
from safelight.constants import JOBS_DEFAULT
from safelight.errors import UsageError
from safelight.lists.formats import EXPORT_FORMATS

SOURCE = Path(safelight.__file__).parent
# A command-line flag in a message: "--max-pixels", not "a -- b" or "x--y".
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def commands(group: click.Group = main, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.extend(commands(command, path + " "))
        else:
            found.append((path, command))
    return found


def option(command: click.Command, flag: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and flag in param.opts + param.secondary_opts:
            return param
    return None


def run(*args: str, input: str | None = None) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), input=input, prog_name="safelight")


def test_the_walk_sees_every_command() -> None:
    names = [path for path, _ in commands()]
    for expected in ("hash", "match", "scan", "demo", "lists import", "scans ls", "network cases"):
        assert expected in names


def test_format_is_always_the_output_format() -> None:
    with_format = 0
    for path, command in commands():
        found = option(command, "--format")
        if found is None:
            continue
        with_format += 1
        assert found.name == "output_format", path
        assert isinstance(found.type, click.Choice), path
        choices = set(found.type.choices)
        # What a command prints; what it reads has its own option (--input-format).
        if path == "lists export":  # export writes the formats import reads back
            assert choices == set(EXPORT_FORMATS)
        else:
            assert choices <= {"table", "json", "jsonl", "csv"}, path
        # One rule for the default: a table for people, JSON lines for record streams.
        assert found.default == (
            "jsonl" if path in {"hash", "match", "lists export", "audit export"} else "table"
        )
    assert with_format >= 10
    assert option(main.commands["lists"].commands["import"], "--input-format") is not None  # type: ignore[attr-defined]


def test_jobs_has_one_default_and_one_spelling() -> None:
    offered = []
    for path, command in commands():
        found = option(command, "--jobs")
        if found is None:
            continue
        offered.append(path)
        assert found.default == JOBS_DEFAULT, path
        assert "-j" in found.opts, path
    assert {"hash", "match", "scan", "network ingest", "network analyze"} <= set(offered)


def test_jobs_zero_is_one_worker_per_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked = []

    def fake_hash_paths(paths: object, options: object, *, jobs: int, **_: object) -> list[object]:
        asked.append(jobs)
        return []

    monkeypatch.setattr("safelight.signals.batch.hash_paths", fake_hash_paths)
    monkeypatch.setattr("safelight.workers.usable_cpus", lambda: 7)
    assert run("hash", "a.jpg", "-j", "0").exit_code == 0
    assert run("hash", "a.jpg").exit_code == 0
    assert asked == [7, JOBS_DEFAULT]
    assert run("hash", "a.jpg", "-j", "-1").exit_code == 2


def test_out_is_one_option() -> None:
    offered = []
    for path, command in commands():
        found = option(command, "--out")
        if found is None:
            continue
        offered.append(path)
        assert found.opts == ["-o", "--out"] and found.name == "out", path
    assert {"scan", "demo", "lists export", "network analyze", "network simulate"} <= set(offered)


@pytest.mark.parametrize("path", ["hash", "match", "scan"])
def test_every_hashing_command_offers_the_decode_options(path: str) -> None:
    command = main.commands[path]
    assert option(command, "--fast") is not None and option(command, "--exact-reference")
    both = run(path, "x.jpg", "--fast", "--exact-reference")
    assert both.exit_code == 2
    assert "--fast and --exact-reference exclude each other" in both.stderr


def test_list_threshold_and_min_quality_read_alike() -> None:
    for path, command in commands():
        found = option(command, "--list")
        if found is not None:
            assert found.multiple and found.name == "lists", path
            assert "default: every enabled list" in (found.help or ""), path
    match = main.commands["match"]
    assert option(match, "--threshold") is not None and option(match, "--min-quality")


def test_hidden_old_spellings_work_and_say_what_replaces_them(
    safelight_env: Path, tmp_path: Path
) -> None:
    assert run("lists", "create", "OLD").exit_code == 0
    # JSON lines in a .txt file: read as lines unless the old --format says otherwise.
    values = tmp_path / "values.txt"
    values.write_text('{"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"}\n')
    # `lists import --format jsonl` named the input format before --input-format.
    legacy = run("lists", "import", "OLD", str(values), "--format", "jsonl", "--report", "json")
    assert legacy.exit_code == 0, legacy.output
    assert json.loads(legacy.stdout)["added"] == 1
    assert "--format jsonl is deprecated and will be removed; use --input-format jsonl" in (
        legacy.stderr
    )
    assert "--report is deprecated" in legacy.stderr
    clash = run("lists", "import", "OLD", str(values), "--format", "csv", "--input-format", "csv")
    assert clash.exit_code == 2
    out = tmp_path / "exported.jsonl"
    exported = run("lists", "export", "OLD", "--output", str(out))
    assert exported.exit_code == 0 and "use -o/--out" in exported.stderr
    assert out.read_text().count("\n") == 1
    new = run("lists", "import", "OLD", str(values), "--input-format", "jsonl", "--format", "json")
    assert new.exit_code == 0 and json.loads(new.stdout)["already_present"] == 1
    assert new.stderr == ""
    old_json = run("scans", "ls", "--json")
    assert old_json.exit_code == 0 and json.loads(old_json.stdout) == []
    assert "--json is deprecated and will be removed; use --format json" in old_json.stderr
    # Hidden: the help shows one spelling.
    assert "--json" not in run("scans", "ls", "--help").stdout
    assert "--report" not in run("lists", "import", "--help").stdout
    assert "--output" not in run("lists", "export", "--help").stdout


def test_out_creates_missing_folders_everywhere(safelight_env: Path, tmp_path: Path) -> None:
    assert run("lists", "create", "OUT").exit_code == 0
    exported = tmp_path / "a" / "b" / "out.jsonl"
    assert run("lists", "export", "OUT", "-o", str(exported)).exit_code == 0
    assert exported.is_file()
    folder = tmp_path / "scanned"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    results = tmp_path / "c" / "d" / "results.jsonl"
    scanned = run("scan", str(folder), "--no-match", "--quiet", "-o", str(results))
    assert scanned.exit_code == 0, scanned.output
    assert len(results.read_text().splitlines()) == 1
    refused = run("scan", str(folder), "--no-match", "--quiet", "--out", str(tmp_path))
    assert refused.exit_code == 2


def test_library_errors_name_fields_and_the_cli_words_them_as_flags(tmp_path: Path) -> None:
    from safelight.network.simulate import simulate

    with pytest.raises(UsageError) as info:
        simulate(tmp_path / "s.csv", connections=100, countries=0, groups=2, files=100)
    assert info.value.field == "countries" and "--" not in info.value.message
    worded = run(
        "network", "simulate", "--connections", "10", "--countries", "2", "--groups", "2",
        "--files", "100", "--out", str(tmp_path / "s.csv"),
    )  # fmt: skip
    assert worded.exit_code == 2
    assert "error: --connections: need at least 8 per group (16 for 2 groups)" in worded.stderr
    assert flag_of("lists") == "--list" and flag_of("max_pixels") == "--max-pixels"
    assert flag_of("fmt") == "--input-format"


def test_hash_says_how_to_read_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    result = run("hash", str(tmp_path))
    assert result.exit_code == 1
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert "--" not in record["error"]["message"]
    assert "hint: folders were not read: -r/--recursive reads the files in them" in result.stderr
    assert "hint:" not in run("hash", str(tmp_path), "-r").stderr


# --- The library names no flag: its messages are worded by the fronts --------------------


def _is_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if not isinstance(parent, ast.Expr):
        return False
    holder = parents.get(parent)
    body = getattr(holder, "body", None)
    return bool(body) and body[0] is parent  # type: ignore[index]


def library_strings() -> list[tuple[str, int, str]]:
    """Every string literal (f-string parts included) of library modules, docstrings aside:
    the CLI modules (cli.py, cli_options.py, */commands.py, */*_commands.py) are the ones
    that word flags."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name in {"cli.py", "cli_options.py"} or path.name.endswith("commands.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if not _is_docstring(node, parents):
                    found.append((str(path.relative_to(SOURCE)), node.lineno, node.value))
    return found


def test_the_library_never_names_a_flag() -> None:
    strings = library_strings()
    assert len(strings) > 500  # the walk reads the package, not an empty folder
    named = [f"{where}:{line}: {text!r}" for where, line, text in strings if FLAG.search(text)]
    assert named == []


def test_the_flag_check_catches_a_flag() -> None:
    assert FLAG.search("over the limit (--max-pixels)")
    assert not FLAG.search("a -- separator, x--y, ---")


def test_commands_open_the_database_one_way() -> None:
    for path in sorted(SOURCE.rglob("commands.py")):
        text = path.read_text(encoding="utf-8")
        assert ".dispose()" not in text, path
        for line in text.splitlines():
            if "Database.open(" in line:
                assert line.strip().startswith("with Database.open("), f"{path}: {line}"


@pytest.mark.parametrize("path", ["hash", "match"])
@pytest.mark.parametrize(
    ("flags", "mode"), [([], "default"), (["--fast"], "fast"), (["--exact-reference"], "reference")]
)
def test_the_decode_options_reach_the_hasher(
    safelight_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    flags: list[str],
    mode: str,
) -> None:
    seen = []

    def fake_hash_paths(paths: object, options: object, **_kwargs: object) -> list[object]:
        seen.append(options.mode)  # type: ignore[attr-defined]
        return []

    monkeypatch.setattr("safelight.signals.batch.hash_paths", fake_hash_paths)
    result = run(path, "photo.jpg", *flags)
    assert result.exit_code == 0, result.output
    assert seen == [mode]
