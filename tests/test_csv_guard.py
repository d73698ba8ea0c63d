"""CSV formula injection: every CSV Safelight writes guards its text cells (csvguard)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from safelight import csvguard
from safelight.csvguard import guard_cell, guard_table, unguard_cell
from safelight.network.report import write_referrals, write_tables

SRC = Path(__file__).resolve().parents[1] / "src" / "safelight"
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tleading tab",
    "\rleading return",
    "'=already quoted",
]


@pytest.mark.parametrize("cell", HOSTILE)
def test_hostile_text_is_guarded(cell: str) -> None:
    assert guard_cell(cell) == "'" + cell
    assert unguard_cell(guard_cell(cell)) == cell


@pytest.mark.parametrize("cell", ["plain", "", "'quoted", "a=b", " =x", "x-1", "192.0.2.1"])
def test_harmless_text_is_left_alone(cell: str) -> None:
    assert guard_cell(cell) == cell
    assert unguard_cell(cell) == cell


@pytest.mark.parametrize("number", [-1, -33.9, 0, 2.5, None, True])
def test_numbers_stay_numbers(number: object) -> None:
    assert guard_cell(number) is number


@given(st.text(alphabet="'=+-@\t\rab", max_size=8))
def test_unguard_gives_back_every_cell(cell: str) -> None:
    guarded = guard_cell(cell)
    assert unguard_cell(guarded) == cell
    assert not re.match(r"[=+\-@\t\r]", guarded)


def test_guard_table_guards_text_columns_only() -> None:
    table = pa.table(
        {
            "client": pa.array(["=cmd|' /C calc'!A0", "uTorrent", None]),
            "file": pa.array(["+evil.jpg", "-", "ok"], pa.large_string()),
            "asn": pa.array(["@org", "x", "y"]).dictionary_encode(),
            "lat": pa.array([-33.9, 51.5, -0.1]),
            "port": pa.array([-1, 6881, 1], pa.int64()),
        }
    )
    out = guard_table(table).to_pydict()
    assert out["client"] == ["'=cmd|' /C calc'!A0", "uTorrent", None]
    assert out["file"] == ["'+evil.jpg", "'-", "ok"]
    assert out["asn"] == ["'@org", "x", "y"]
    assert out["lat"] == [-33.9, 51.5, -0.1]
    assert out["port"] == [-1, 6881, 1]


def test_guarded_writer_writes_numbers_as_numbers() -> None:
    out = io.StringIO()
    csvguard.writer(out, lineterminator="\n").writerows([["-1", -1, "@x", -0.5]])
    assert out.getvalue() == "'-1,-1,'@x,-0.5\n"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_network_report_tables_and_referrals_are_guarded(tmp_path: Path) -> None:
    leads = pd.DataFrame(
        {
            "rank": [1, 2],
            "country": ["DE", "=1+1"],
            "client": ["=cmd|' /C calc'!A0", "uTorrent"],
            "share": [-0.25, 0.5],
        }
    )
    files = pd.DataFrame({"file_name": ["@evil.jpg", "fine.jpg"], "distance": [-3, 4]})
    analysis = SimpleNamespace(tables={"leads": leads, "known_files": files})
    written = write_tables(analysis.tables, tmp_path)
    assert [r["client"] for r in _read(written["leads"])] == ["'=cmd|' /C calc'!A0", "uTorrent"]
    assert [r["share"] for r in _read(written["leads"])] == ["-0.25", "0.5"]
    assert [r["file_name"] for r in _read(written["known_files"])] == ["'@evil.jpg", "fine.jpg"]
    assert [r["distance"] for r in _read(written["known_files"])] == ["-3", "4"]
    report = {"case": "c", "generated_at": "now", "sources": {}}
    referrals = write_referrals(analysis, report, tmp_path / "referrals")  # type: ignore[arg-type]
    assert [r["country"] for r in _read(referrals["referrals/=1+1"] / "leads.csv")] == ["'=1+1"]
    assert [r["client"] for r in _read(referrals["referrals/DE"] / "leads.csv")] == [
        "'=cmd|' /C calc'!A0"
    ]


# Writers of CSV: the standard library's and Arrow's. Only csvguard.py may call them.
CSV_WRITERS = re.compile(
    r"\bcsv\.writer\(|\bDictWriter\(|\.to_csv\(|\bwrite_csv\(|\bCSVWriter\(|\bpacsv\.write"
)


def test_no_csv_writer_bypasses_the_guard() -> None:
    found = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "csvguard.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if CSV_WRITERS.search(line)
    ]
    assert found == [], "write CSV through safelight.csvguard (writer, write_table):\n" + "\n".join(
        found
    )


def test_the_writer_pattern_sees_each_kind_of_writer() -> None:
    for line in [
        "w = csv.writer(fh)",
        "csv.DictWriter(fh, names)",
        "frame.to_csv(path)",
        "pacsv.write_csv(table, path)",
        "pyarrow.csv.CSVWriter(sink, schema)",
    ]:
        assert CSV_WRITERS.search(line), line
