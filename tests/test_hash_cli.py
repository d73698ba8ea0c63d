"""``safelight hash`` and ``safelight demo`` through the real command line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safelight.cli import main
from safelight.constants import PDQ_MATCH_THRESHOLD
from safelight.demo import run_demo
from safelight.signals.pdq import DIHEDRAL_NAMES, hamming_distance
from safelight.signals.synthetic import photo_like

from .signals_media import animation, save


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["hash", *args], catch_exceptions=False)


def records(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    save(folder / "a.jpg", photo_like(1, 700, 520), quality=85)
    save(folder / "b.png", photo_like(2, 200, 150))
    save(folder / "sub" / "c.jpg", photo_like(3, 320, 240), quality=85)
    (folder / "sub" / "readme.txt").write_text("hello")
    return folder


def test_jsonl_record_per_file_with_every_field(photos: Path) -> None:
    path = photos / "a.jpg"
    result = run(str(path), "--jobs", "1")
    assert result.exit_code == 0, result.output
    [record] = records(result)
    data = path.read_bytes()
    assert record["path"] == str(path) and record["size"] == len(data)
    assert record["md5"] == hashlib.md5(data).hexdigest()
    assert record["sha1"] == hashlib.sha1(data).hexdigest()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["media"] == "photo" and record["format"] == "jpeg"
    assert (record["width"], record["height"]) == (700, 520)
    assert isinstance(record["pdq"], str) and len(record["pdq"]) == 64
    assert record["pdq_quality"] == 100 and record["error"] is None
    assert "pdq8" not in record and "pdq_frames" not in record and "vpdq" not in record
    assert "hashed 1 of 1 files; 0 failed" in result.stderr


def test_recursive_folder_in_order_and_jobs_agree(photos: Path) -> None:
    serial = run("-r", str(photos), "--jobs", "1")
    assert serial.exit_code == 0
    names = [Path(str(r["path"])).relative_to(photos).as_posix() for r in records(serial)]
    assert names == ["a.jpg", "b.png", "sub/c.jpg", "sub/readme.txt"]
    assert records(serial)[-1]["media"] == "other" and records(serial)[-1]["pdq"] is None
    # Enough files for the process pool to start (a folder named twice is walked once).
    many = [str(photos)]
    for copy in range(2):
        many.append(str(shutil.copytree(photos, photos.parent / f"copy{copy}")))
    assert run("-r", *many, "--jobs", "2").stdout == run("-r", *many, "--jobs", "1").stdout


def test_exit_codes(photos: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    result = run(str(photos / "a.jpg"), str(bad), "--jobs", "1")
    assert result.exit_code == 1
    assert [r["error"] is None for r in records(result)] == [True, False]
    assert "1 failed" in result.stderr
    assert run().exit_code == 2
    unknown = run(str(bad), "--signals", "pdq,blake3")
    assert unknown.exit_code == 2 and "blake3" in unknown.stderr
    assert run(str(bad), "--signals", "pdq,,md5").exit_code == 2
    assert run(str(bad), "--fast", "--exact-reference").exit_code == 2
    assert run(str(bad), "--jobs", "-1").exit_code == 2
    assert run(str(bad), "--format", "xml").exit_code == 2
    assert run(str(photos), "--jobs", "1").exit_code == 1  # a folder without -r


def test_signals_choose_what_is_computed(photos: Path) -> None:
    [only_md5] = records(run(str(photos / "a.jpg"), "--signals", "md5", "--jobs", "1"))
    assert only_md5["md5"] and only_md5["sha1"] is None and only_md5["pdq"] is None
    [eight] = records(run(str(photos / "a.jpg"), "--signals", "pdq8", "--jobs", "1"))
    variants = eight["pdq8"]
    assert isinstance(variants, dict) and list(variants) == list(DIHEDRAL_NAMES)
    assert variants["original"] == eight["pdq"]
    assert len(set(variants.values())) == 8


def test_modes_and_options(photos: Path, tmp_path: Path) -> None:
    path = str(photos / "a.jpg")
    [default] = records(run(path, "--jobs", "1"))
    [fast] = records(run(path, "--fast", "--jobs", "1"))
    [exact] = records(run(path, "--exact-reference", "--jobs", "1"))
    for other in (fast, exact):
        distance = hamming_distance(
            bytes.fromhex(str(default["pdq"])), bytes.fromhex(str(other["pdq"]))
        )
        assert distance <= 10
    [bomb] = records(run(path, "--max-pixels", "1000", "--jobs", "1"))
    assert bomb["error"] == {
        "code": "decompression_bomb",
        "message": bomb["error"]["message"],  # type: ignore[index]
    }
    gif = animation(tmp_path / "a.gif", "GIF")
    [frames] = records(run(str(gif), "--all-frames", "--jobs", "1"))
    assert [f["frame"] for f in frames["pdq_frames"]] == [0, 1, 2]  # type: ignore[union-attr]
    assert frames["pdq_frames_complete"] is True


def test_exif_transpose_option(tmp_path: Path) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    path = str(save(tmp_path / "r.jpg", photo_like(4, 400, 300), exif=exif, quality=90))
    [stored] = records(run(path, "--jobs", "1"))
    [turned] = records(run(path, "--exif-transpose", "--jobs", "1"))
    assert stored["pdq"] != turned["pdq"]


def test_csv_and_table_formats(photos: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    result = run(str(photos / "a.jpg"), str(bad), "--format", "csv", "--signals", "pdq,pdq8,md5")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["media"] for r in rows] == ["photo", "photo"]
    assert len(rows[0]["pdq"]) == 64 and rows[0]["pdq8_original"] == rows[0]["pdq"]
    assert rows[0]["sha1"] == "" and rows[0]["error_code"] == ""
    assert rows[1]["error_code"] == "empty_file" and str(bad) in rows[1]["error_message"]
    table = run(str(photos / "a.jpg"), str(bad), "--format", "table", "--jobs", "1")
    lines = table.stdout.splitlines()
    assert lines[0].startswith("media") and len(lines) == 3
    assert lines[1].startswith("photo  jpeg") and lines[1].endswith(str(photos / "a.jpg"))
    assert lines[0].split()[4:] == ["signal", "value", "path"]
    assert lines[1].split()[4] == "pdq"
    assert lines[2].split()[4:6] == ["error", "empty_file"]
    assert f"error: {bad}: empty file" in table.stderr


def test_table_names_the_signal_it_shows(photos: Path) -> None:
    # A non-photo's SHA-256 is shown as sha256, never under a PDQ heading.
    text = photos / "sub" / "readme.txt"
    row = run(str(text), "--format", "table", "--jobs", "1").stdout.splitlines()[1].split()
    assert row[4:6] == ["sha256", hashlib.sha256(b"hello").hexdigest()]
    only_md5 = run(str(text), "--format", "table", "--signals", "md5", "--jobs", "1")
    assert only_md5.stdout.splitlines()[1].split()[4:6] == [
        "md5",
        hashlib.md5(b"hello").hexdigest(),
    ]
    nothing = run(str(text), "--format", "table", "--signals", "pdq", "--jobs", "1")
    assert nothing.stdout.splitlines()[1].split()[4:6] == ["-", "-"]


def test_undecodable_file_names_do_not_break_output(tmp_path: Path) -> None:
    name = tmp_path.as_posix().encode() + b"/caf\xe9.jpg"  # Latin-1 bytes, invalid UTF-8
    Path(name.decode("utf-8", "surrogateescape")).write_bytes(b"x")
    for fmt in ("jsonl", "csv", "table"):
        result = run(str(tmp_path), "-r", "--format", fmt, "--jobs", "1")
        assert result.exit_code == 1 and "caf" in result.stdout


def test_demo_command_and_function(tmp_path: Path, safelight_env: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("MATCH") >= 4 and "different photos" in result.stdout
    # The scan step finds the three planted known items, one inside nested archives.
    assert result.stdout.count("known item:") == 3
    assert "partner-upload.zip!/upload/inner.tar.gz!/" in result.stdout
    assert "  groups: " in result.stdout and "report.html" in result.stdout
    assert "9 reports in 9 languages; items: 3 received" in result.stdout
    results = run_demo(tmp_path / "again", echo=lambda _: None)
    hotline = results["hotline"]  # seeded by the first run: only a new password this time
    assert not hotline.seeded and hotline.password and hotline.statuses["removed"] == 5  # type: ignore[attr-defined]
    assert len(results["scan"]["found"]) == 3  # type: ignore[index]
    assert results["network"]["countries"] > 0  # type: ignore[index]
    demo = results["photos"]
    assert len(demo.records) >= 12 and all(r.ok for r in demo.records)  # type: ignore[attr-defined]
    assert all(v.distance <= PDQ_MATCH_THRESHOLD for v in demo.variants)  # type: ignore[attr-defined]
    assert demo.unrelated_distance > PDQ_MATCH_THRESHOLD  # type: ignore[attr-defined]


def test_csv_output_guards_file_names_against_formulas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("=HYPERLINK(1).txt").write_text("x")
    Path("-2+3.txt").write_text("y")
    result = run("--format", "csv", "--jobs", "1", "--", "=HYPERLINK(1).txt", "-2+3.txt")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["path"] for r in rows] == ["'=HYPERLINK(1).txt", "'-2+3.txt"]
    assert [r["size"] for r in rows] == ["1", "1"]  # numbers are written as they are
