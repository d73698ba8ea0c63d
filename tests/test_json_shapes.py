"""One record shape and one match shape across the fronts' outputs (docs/model.md): the
record ``hash`` writes is the record a scan stores and ``match`` reports for a file, and a
match is the same object in ``match`` and ``scan`` output; network tables name digests as
records do."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from safelight.cli import main
from safelight.match.results import MATCH_FORMAT, Match
from safelight.signals.synthetic import photo_like

from .signals_media import save

RECORD_KEYS = {
    "path", "size", "media", "format", "width", "height", "md5", "sha1", "sha256", "pdq",
    "pdq_quality", "error",
}  # fmt: skip
MATCH_KEYS = {"list", "entry_id", "value", "distance", "labels", "signal_type"}


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_hash_match_and_scan_share_the_record_and_the_match(
    safelight_env: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    photo = save(folder / "p.jpg", photo_like(11, 320, 240))
    [hashed] = jsonl(run("hash", str(photo), "--jobs", "1").stdout)
    assert RECORD_KEYS <= hashed.keys()
    banked = (
        run("lists", "create", "SHAPES").exit_code,
        run("lists", "import", "SHAPES", "-", "--format", "jsonl", input=json.dumps(hashed) + "\n"),
    )
    assert banked[0] == 0 and banked[1].exit_code == 0, banked[1].output
    [matched] = jsonl(run("match", str(photo), "--jobs", "1").stdout)
    out = tmp_path / "scan.jsonl"
    assert run("scan", str(folder), "--jobs", "1", "--out", str(out)).exit_code == 0
    [scanned] = jsonl(out.read_text())
    # the record: the same keys and values in all three (the path as each front names it)
    for result in (matched, scanned):
        assert {k: result[k] for k in RECORD_KEYS - {"path"}} == {
            k: hashed[k] for k in RECORD_KEYS - {"path"}
        }
    # the matches: one shape, equal objects, readable back
    assert matched["matches"] == scanned["matches"] and len(matched["matches"]) == 4  # type: ignore[arg-type]
    for match in matched["matches"]:  # type: ignore[attr-defined]
        assert set(match) == MATCH_KEYS
        assert Match.from_dict(match).to_dict() == match
    assert MATCH_FORMAT == 1


def test_network_tables_name_digests_as_records_do(safelight_env: Path, tmp_path: Path) -> None:
    log = tmp_path / "s.csv"
    simulated = run(
        "network", "simulate", "--connections", "60", "--countries", "3", "--groups", "2",
        "--files", "60", "--seed", "3", "--out", str(log),
    )  # fmt: skip
    assert simulated.exit_code == 0, simulated.output
    known = tmp_path / "known.csv"
    ingest = run("network", "ingest", str(log), "--case", "shape", "--list-file", str(known))
    assert ingest.exit_code in (0, 1), ingest.output  # the simulation plants one bad row
    assert "rows kept" in ingest.output
    report = tmp_path / "report"
    analyzed = run("network", "analyze", "--case", "shape", "--out", str(report))
    assert analyzed.exit_code == 0, analyzed.output
    header = (report / "known_files.csv").read_text().splitlines()[0].replace('"', "").split(",")
    digests = {"md5", "sha1", "sha256", "pdq"}
    assert digests <= RECORD_KEYS and digests <= set(header), header
