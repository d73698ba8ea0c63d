from __future__ import annotations

import json
from pathlib import Path

from safelight.scan.demo import run_demo_scan
from safelight.store import Database


def test_demo_finds_exactly_the_planted_items(db: Database, tmp_path: Path) -> None:
    printed: list[str] = []
    report = run_demo_scan(tmp_path, db, echo=printed.append)
    corpus = tmp_path / "corpus"
    assert sorted(report["found"]) == sorted(
        [
            f"{corpus}/camera/IMG_9000.jpg",
            f"{corpus}/partner-upload.zip!/upload/inner.tar.gz!/2026/photo.jpg",
            f"{corpus}/shared-resized.jpg",
        ]
    )
    assert report["errors_per_code"] == {}
    rows = [json.loads(line) for line in Path(report["out"]).read_text().splitlines()]
    flagged = {row["path"]: row["flags"] for row in rows if row["flags"]}
    assert flagged == {f"{corpus}/partner-upload.zip!/../../escape.txt": ["unsafe_name"]}
    assert report["matches_per_label"]["demo-known"] == 3
    assert any("shared-resized.jpg (pdq d=" in line for line in printed)
    assert Path(report["out"]).read_text().count("\n") == report["items"]
