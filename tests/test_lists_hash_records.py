"""``safelight hash ... | safelight lists import NAME -``: hash records bank every signal."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from safelight.cli import main
from safelight.lists import HashListStore
from safelight.signals.synthetic import photo_like
from safelight.store import Database

from .signals_media import save

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_hash_output_pipes_into_a_list_and_matches_itself(
    safelight_env: Path, tmp_path: Path
) -> None:
    photo = save(tmp_path / "p.jpg", photo_like(3, 320, 240))
    hashed = run("hash", str(photo), "--jobs", "1")
    assert hashed.exit_code == 0, hashed.output
    record = json.loads(hashed.stdout)
    assert run("lists", "create", "BANKED").exit_code == 0
    imported = run("lists", "import", "BANKED", "-", "--input-format", "jsonl", input=hashed.stdout)
    assert imported.exit_code == 0, imported.output
    db = Database.open()
    entries = {(e.signal_type, e.value) for e in HashListStore(db).find_entries("BANKED")}
    db.dispose()
    assert entries == {(t, record[t]) for t in ("md5", "sha1", "sha256", "pdq")}
    [found] = [json.loads(x) for x in run("match", str(photo), "--jobs", "1").stdout.splitlines()]
    assert sorted(m["signal_type"] for m in found["matches"]) == ["md5", "pdq", "sha1", "sha256"]


def test_video_frames_low_quality_and_failed_records(safelight_env: Path, tmp_path: Path) -> None:
    video = {
        "path": "clip.mp4", "media": "video", "md5": "0f" * 16, "sha1": None, "sha256": None,
        "pdq": None, "pdq_quality": None, "error": None,
        "vpdq": [{"frame": 0, "timestamp": 0.0, "pdq": PDQ, "quality": 100},
                 {"frame": 30, "timestamp": 1.0, "pdq": PDQ.upper(), "quality": 90}],
    }  # fmt: skip
    blurry = {"path": "flat.png", "media": "photo", "md5": "1e" * 16, "pdq": PDQ,
              "pdq_quality": 10, "error": None}  # fmt: skip
    broken = {"path": "bad.jpg", "media": "photo", "md5": None, "pdq": None,
              "error": {"code": "truncated", "message": "ends early"}}  # fmt: skip
    lines = "".join(json.dumps(r) + "\n" for r in (video, blurry, broken))
    assert run("lists", "create", "MIXED").exit_code == 0
    refused = run("lists", "import", "MIXED", "-", "--input-format", "jsonl", input=lines)
    assert refused.exit_code == 1
    assert "<stdin>:2 ('flat.png'): pdq quality 10 is below 50: not banked" in refused.stderr
    assert "<stdin>:3 ('bad.jpg'): not hashed: truncated: ends early" in refused.stderr
    kept = run(
        "lists", "import", "MIXED", "-", "--input-format", "jsonl", "--skip-invalid", input=lines
    )
    assert kept.exit_code == 1  # some records were skipped, and said so
    db = Database.open()
    entries = {(e.signal_type, e.value[:20]) for e in HashListStore(db).find_entries("MIXED")}
    db.dispose()
    assert entries == {("md5", "0f" * 10), ("md5", "1e" * 10), ("vpdq", f'["{PDQ[:18]}')}
