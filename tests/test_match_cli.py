"""``safelight match`` through the real command line, store and index."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from safelight.cli import main
from safelight.match import index_root
from safelight.signals.synthetic import photo_like
from safelight.store import Database

from .signals_media import save
from .test_match import flip, random_pdq, write_jsonl


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def make_list(tmp_path: Path, name: str, rows: list[dict[str, object]], *extra: str) -> None:
    assert run("lists", "create", name, *extra).exit_code == 0
    path = write_jsonl(tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.jsonl", rows)
    result = run("lists", "import", name, str(path))
    assert result.exit_code == 0, result.output


def test_hash_queries_jsonl_shape(safelight_env: Path, tmp_path: Path) -> None:
    base, md5 = random_pdq(), "0f" * 16
    make_list(tmp_path, "L", [
        {"type": "pdq", "value": flip(base, 3), "labels": ["A", "B"]},
        {"type": "md5", "value": md5},
    ])  # fmt: skip
    result = run("match", "--hash", f"pdq:{base}", "--hash", md5, "--hash", f"PDQ:{random_pdq()}")
    assert result.exit_code == 0, result.output
    first, second, third = lines(result)
    assert first == {
        "query": base,
        "signal_type": "pdq",
        "low_quality": False,
        "matches": [{"list": "L", "entry_id": first["matches"][0]["entry_id"],  # type: ignore[index]
                     "value": flip(base, 3), "distance": 3, "labels": ["A", "B"],
                     "signal_type": "pdq"}],
        "error": None,
    }  # fmt: skip
    assert second["signal_type"] == "md5" and second["matches"][0]["distance"] == 0  # type: ignore[index]
    assert third["matches"] == []
    table = run("match", "--hash", base, "--hash-type", "pdq", "--format", "table")
    assert table.exit_code == 0 and " L " in table.stdout and "   3" in table.stdout


def test_usage_errors_exit_2(safelight_env: Path) -> None:
    assert run("match").exit_code == 2
    bad = run("match", "--hash", "abc")
    assert bad.exit_code == 2 and "--hash #1" in bad.stderr
    assert run("match", "--hash", "pdq:" + "zz" * 32).exit_code == 2
    assert run("match", "--hash", "pdq:" + "00" * 32, "--threshold", "64").exit_code == 2
    unknown = run("match", "--hash", "photodna:" + "00" * 32)
    assert unknown.exit_code == 2 and "unknown signal type 'photodna'" in unknown.stderr
    assert run("match", "--hash", "00", "--hash-type", "nope").exit_code == 2


def test_a_bare_64_hex_hash_must_say_pdq_or_sha256(safelight_env: Path) -> None:
    """64 hex is PDQ or SHA-256: taking one silently would miss the other (issue 9)."""
    ambiguous = run("match", "--hash", "ab" * 32)
    assert ambiguous.exit_code == 2
    assert "could be pdq or sha256; pass --hash-type pdq or --hash-type sha256" in (
        ambiguous.stderr
    )


def test_sha256_digests_imported_untyped_are_refused_then_found_once_declared(
    safelight_env: Path, tmp_path: Path
) -> None:
    """The new user's path of issue 9: a plain file of SHA-256 values, then ``match``."""
    evidence = tmp_path / "file.txt"
    evidence.write_bytes(b"not a photo, just bytes a platform saw\n")
    digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
    sha_file = tmp_path / "sha.txt"
    sha_file.write_text(f"{hashlib.sha256(b'other').hexdigest()}\n{digest}\n")
    assert run("lists", "create", "KNOWN_SHA").exit_code == 0
    refused = run("lists", "import", "KNOWN_SHA", str(sha_file))
    assert refused.exit_code == 1
    assert f"{sha_file}:1: a 64-character value could be pdq or sha256" in refused.stderr
    assert f"{sha_file}:2:" in refused.stderr
    assert "--type TYPE" in refused.stderr and "lists create KNOWN_SHA --type" in refused.stderr
    assert lines(run("match", str(evidence), "--list", "KNOWN_SHA"))[0]["matches"] == []
    typed = run("lists", "import", "KNOWN_SHA", str(sha_file), "--type", "sha256")
    assert typed.exit_code == 0, typed.output
    [found] = lines(run("match", str(evidence), "--list", "KNOWN_SHA", "--jobs", "1"))
    assert [(m["signal_type"], m["value"]) for m in found["matches"]] == [("sha256", digest)]  # type: ignore[union-attr]
    # the same with a list that declares its type when created
    assert run("lists", "create", "SHA_LIST", "--type", "sha256").exit_code == 0
    assert run("lists", "import", "SHA_LIST", str(sha_file)).exit_code == 0
    [again] = lines(run("match", str(evidence), "--list", "SHA_LIST", "--jobs", "1"))
    assert [m["list"] for m in again["matches"]] == ["SHA_LIST"]  # type: ignore[union-attr]


def test_files_sha256_change_visible_and_bad_file(safelight_env: Path, tmp_path: Path) -> None:
    photo = save(tmp_path / "p.png", photo_like(5, 200, 150))
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff not really a jpeg")
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    make_list(tmp_path, "S", [{"type": "sha256", "value": digest}])
    result = run("match", str(photo), str(junk), str(tmp_path / "missing.png"), "--jobs", "1")
    assert result.exit_code == 1, result.output
    hit, bad, missing = lines(result)
    assert [m["signal_type"] for m in hit["matches"]] == ["sha256"]  # type: ignore[union-attr]
    assert hit["media"] == "photo" and isinstance(hit["pdq_quality"], int)
    assert bad["error"] is not None and missing["error"]["code"] == "unreadable"  # type: ignore[index]
    # a new list, imported after the index was built, is visible to the next match
    pdq = hit["pdq"]
    assert isinstance(pdq, str)
    make_list(tmp_path, "P", [{"type": "pdq", "value": flip(pdq, 2)}])
    again = lines(run("match", str(photo), "--jobs", "1", "--list", "P"))
    assert [m["distance"] for m in again[0]["matches"]] == [2]  # type: ignore[union-attr]


def test_truncated_index_rebuilt_with_warning(safelight_env: Path, tmp_path: Path) -> None:
    values = [random_pdq() for _ in range(10)]
    make_list(tmp_path, "L", [{"type": "pdq", "value": v} for v in values])
    assert len(lines(run("match", "--hash", f"pdq:{values[0]}"))[0]["matches"]) == 1  # type: ignore[arg-type]
    db = Database.open()
    for segment in (index_root(db, safelight_env) / "pdq").glob("seg-*.seg"):
        segment.write_bytes(segment.read_bytes()[:5000])
    db.dispose()
    result = run("match", "--hash-type", "pdq", *[a for v in values for a in ("--hash", v)])
    assert result.exit_code == 0
    assert all(len(r["matches"]) == 1 for r in lines(result))  # type: ignore[arg-type]
    assert "warning:" in result.stderr and "rebuild" in result.stderr


def test_rotations_flag_reports_variant(safelight_env: Path, tmp_path: Path) -> None:
    pixels = photo_like(21, 240, 180)
    original = save(tmp_path / "o.png", pixels)
    rotated = save(tmp_path / "r.png", np.ascontiguousarray(np.rot90(pixels)))
    pdq = lines(run("match", str(original), "--jobs", "1"))[0]["pdq"]
    make_list(tmp_path, "R", [{"type": "pdq", "value": pdq}])
    assert lines(run("match", str(rotated), "--jobs", "1"))[0]["matches"] == []
    [hit] = lines(run("match", str(rotated), "--rotations", "--jobs", "1"))[0]["matches"]  # type: ignore[misc]
    assert hit["variant"] in ("rotate90", "rotate270") and hit["distance"] <= 31


def test_hash_query_does_not_load_the_media_decoders(safelight_env: Path, tmp_path: Path) -> None:
    """A ``match --hash`` run needs the store and the index, not Pillow, PyAV or the PDQ
    image kernels (half a second of imports per run); ``--help`` not even numba."""
    value = random_pdq()
    make_list(tmp_path, "L", [{"type": "pdq", "value": value}])
    script = (
        "import sys\n"
        "from safelight.cli import main\n"
        "loaded = lambda: sorted(m for m in ('numba', 'PIL', 'av', 'safelight.signals.pdq')"
        " if m in sys.modules)\n"
        "print(','.join(loaded()), file=sys.stderr)\n"
        f"sys.argv = ['safelight', 'match', '--hash', 'pdq:{value}']\n"
        "try:\n    main()\nfinally:\n    print(','.join(loaded()), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["matches"][0]["distance"] == 0
    at_start, at_end = done.stderr.splitlines()[0], done.stderr.splitlines()[-1]
    assert at_start == "" and at_end == "numba"


def run_input(stdin: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def test_hash_jsonl_piped_into_match_gives_the_same_results(
    safelight_env: Path, tmp_path: Path
) -> None:
    """``safelight hash ... | safelight match -`` matches the records' digests, PDQ and
    rotations without hashing again: the results equal ``match`` on the files."""
    pixels = photo_like(31, 240, 180)
    photo = save(tmp_path / "p.png", pixels)
    rotated = save(tmp_path / "r.png", np.ascontiguousarray(np.rot90(pixels)))
    text = tmp_path / "note.txt"
    text.write_text("benign")
    paths = [str(photo), str(rotated), str(text), str(tmp_path / "missing.png")]
    direct = lines(run("match", *paths, "--jobs", "1", "--rotations"))
    make_list(tmp_path, "K", [
        {"type": "pdq", "value": direct[0]["pdq"]},
        {"type": "sha256", "value": hashlib.sha256(b"benign").hexdigest()},
    ])  # fmt: skip
    direct = lines(run("match", *paths, "--jobs", "1", "--rotations"))
    hashed = run("hash", *paths, "--jobs", "1", "--signals", "pdq,pdq8,md5,sha1,sha256")
    piped = run_input(hashed.stdout, "match", "-", "--rotations")
    assert piped.exit_code == 1  # the missing file's record carries its error
    assert lines(piped) == direct
    assert [len(r["matches"]) for r in direct] == [1, 1, 1, 0]  # type: ignore[arg-type]
    assert "matched 3 of 4 queries; 1 failed" in piped.stderr


def test_piped_records_with_bad_lines_name_them(safelight_env: Path, tmp_path: Path) -> None:
    make_list(tmp_path, "K", [{"type": "md5", "value": "0f" * 16}])
    good = {"path": "x.bin", "media": "other", "size": 3, "md5": "0f" * 16}
    stdin = "\n".join([
        json.dumps(good),
        "{not json",
        json.dumps({**good, "md5": "XYZ"}),
        "",
        json.dumps({"media": "other"}),
        json.dumps({**good, "pdq": "00" * 32}),  # a PDQ hash without its quality
    ]) + "\n"  # fmt: skip
    result = run_input(stdin, "match", "-")
    assert result.exit_code == 1
    first, *bad = lines(result)
    assert first["query"] == "x.bin" and len(first["matches"]) == 1  # type: ignore[arg-type]
    assert [r["query"] for r in bad] == ["<stdin>:2", "<stdin>:3", "<stdin>:5", "<stdin>:6"]
    messages = [r["error"]["message"] for r in bad]  # type: ignore[index]
    assert messages[0].startswith("<stdin>:2: not a JSON line")
    assert "md5" in messages[1] and "path: missing" in messages[2]
    assert "pdq_quality" in messages[3]
    assert run_input("", "match", "-", "x.png").exit_code == 2


def test_hash_values_from_stdin(safelight_env: Path, tmp_path: Path) -> None:
    values = [random_pdq() for _ in range(3)]
    make_list(tmp_path, "L", [{"type": "pdq", "value": values[1]}])
    stdin = f"{values[0]}\n\n  pdq:{values[1]}  \n"
    result = run_input(stdin, "match", "--hash", "-", "--hash-type", "pdq")
    assert result.exit_code == 0, result.output
    assert [r["query"] for r in lines(result)] == values[:2]
    assert [len(r["matches"]) for r in lines(result)] == [0, 1]  # type: ignore[arg-type]
    mixed = run_input(f"pdq:{values[0]}\n", "match", "--hash", f"pdq:{values[2]}", "--hash", "-")
    assert [r["query"] for r in lines(mixed)] == [values[2], values[0]]
    bad = run_input("abc\n", "match", "--hash", "-")
    assert bad.exit_code == 2 and "abc" in bad.stderr


def test_table_gives_the_error_reason_and_the_quality_hint(
    safelight_env: Path, tmp_path: Path
) -> None:
    make_list(tmp_path, "L", [{"type": "md5", "value": "0f" * 16}])
    flat = save(tmp_path / "flat.png", np.full((120, 120, 3), 128, np.uint8))
    missing = tmp_path / "missing.png"
    result = run("match", str(flat), str(missing), "--format", "table", "--jobs", "1")
    rows = result.stdout.splitlines()
    [error] = [row for row in rows if "ERROR unreadable" in row]
    assert f"{missing}: cannot read: no such file" in error
    [low] = [row for row in rows if "low quality" in row]
    assert "--min-quality 50" in low and str(flat) in low
    assert "1 photos below --min-quality 50 were not matched" in result.stderr
    relaxed = run("match", str(flat), "--min-quality", "0", "--jobs", "1")
    assert "--min-quality" not in relaxed.stderr


def test_progress_on_a_terminal_only(
    safelight_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_list(tmp_path, "L", [{"type": "md5", "value": "0f" * 16}])
    photo = save(tmp_path / "p.png", photo_like(5, 64, 48))
    for command in ("hash", "match"):
        quiet = run(command, str(photo), "--jobs", "1")
        assert f"{command}: " not in quiet.stderr  # stderr is no terminal here
    monkeypatch.setattr("safelight.scan.progress.stderr_is_terminal", lambda: True)
    for command in ("hash", "match"):
        shown = run(command, str(photo), "--jobs", "1")
        assert f"{command}: 1 items" in shown.stderr and shown.stdout.count("\n") == 1
        assert f"{command}: " not in run(command, str(photo), "--quiet", "--jobs", "1").stderr
