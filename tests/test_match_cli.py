"""``safelight match`` through the real command line, store and index."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
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
