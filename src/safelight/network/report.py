"""Write an analysis out: report.json, one CSV per table, report.html, referral exports.

``report.json`` (schema ``safelight.network.report/1``, documented in docs/network.md) holds
the headline, the sources (geolocation with its licence and date, the hash lists), and the top
rows of every table; the CSVs hold every row. ``referrals/<CC>/leads.{csv,json}`` split the
leads by country for referral. Reports contain IP addresses: handle them as sensitive.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from safelight.constants import NETWORK_LOUVAIN_RESOLUTION
from safelight.csvguard import write_table
from safelight.errors import UsageError
from safelight.network.analysis import Analysis
from safelight.outputs import cannot_write, prepare_parent
from safelight.timestamps import utc_timestamp

SCHEMA = "safelight.network.report/1"
TOP_ROWS = 100
NOTICE = (
    "This report contains IP addresses and other identifiers from sighting logs: personal "
    "data. Store and share it only as your legal basis and data-protection rules allow."
)


def _records(frame: pd.DataFrame, limit: int | None = TOP_ROWS) -> list[dict[str, Any]]:
    rows = frame if limit is None else frame.head(limit)
    out: list[dict[str, Any]] = []
    for record in rows.to_dict(orient="records"):
        out.append({str(k): _plain(v) for k, v in record.items()})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> dict[str, Path]:
    """``<name>.csv`` per table, through Arrow's writer (a million leads in a second, not
    half a minute), text cells guarded against formulas (csvguard)."""
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        path = out / f"{name}.csv"
        write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        written[name] = path
    return written


def build_report(
    analysis: Analysis,
    *,
    case: str,
    entity_mode: str,
    resolution: float = NETWORK_LOUVAIN_RESOLUTION,
    geo_source: dict[str, str],
    known_description: str,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "case": case,
        "generated_at": utc_timestamp(datetime.now(UTC)),
        "entity_mode": entity_mode,
        "resolution": resolution,
        "notice": NOTICE,
        "headline": analysis.headline,
        "notes": report_notes(analysis.headline, known_description),
        "sources": {"geolocation": geo_source, "known_material": known_description},
        "tables": {name: f"{name}.csv" for name in analysis.tables},
        **{name: _records(frame) for name, frame in analysis.tables.items()},
        "group_graph": analysis.group_graph,
    }


def report_notes(headline: dict[str, Any], known_description: str) -> list[str]:
    """Plain-language caveats a reader must see before the numbers (empty when none)."""
    notes: list[str] = []
    if not headline.get("connections_total"):
        notes.append("the case holds no sightings: nothing to analyze")
    elif not headline.get("known_files"):
        notes.append(
            f"no sighted file is known (known material: {known_description}), so there is "
            "no network, no group and no lead; ingest the logs against a hash list or a "
            "hash-list file to find known files"
        )
    return notes


def write_outputs(analysis: Analysis, report: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write every output into a new folder beside ``out``, then put it in place of ``out``:
    a failure leaves the earlier report (or nothing), never a half-written one."""
    _check_replaceable(out)
    prepare_parent(out)
    try:
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    except OSError as exc:
        raise cannot_write(out, exc) from None
    try:
        _write_all(analysis, report, staging)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    names = [*analysis.tables, "report.json", "report.html"]
    written = {n: out / (n if n.startswith("report.") else f"{n}.csv") for n in names}
    for country in sorted(p.name for p in (out / "referrals").iterdir()):
        written[f"referrals/{country}"] = out / "referrals" / country
    return written


def _check_replaceable(out: Path) -> None:
    """``out`` is replaced whole: only a new or empty folder or an earlier report."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "report.json").is_file():
        raise UsageError(
            f"{out} is not empty and holds no earlier report: the report replaces its folder "
            "whole, so choose a new or empty folder"
        )


def _swap_in(staging: Path, out: Path) -> None:
    if not out.exists():  # a new folder stays private to its owner (mkdtemp's 0700)
        staging.replace(out)
        return
    shutil.copymode(out, staging)
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    old.rmdir()
    out.replace(old)
    try:
        staging.replace(out)
    except BaseException:
        old.replace(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_all(analysis: Analysis, report: dict[str, Any], out: Path) -> None:
    from safelight.network.html import render_html

    write_tables(analysis.tables, out)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=_plain), encoding="utf-8")
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    write_referrals(analysis, report, out / "referrals")


def write_referrals(analysis: Analysis, report: dict[str, Any], folder: Path) -> dict[str, Path]:
    """One folder per country: its leads as CSV and JSON, with the sources and notice."""
    leads = analysis.tables["leads"]
    written: dict[str, Path] = {}
    folder.mkdir(parents=True, exist_ok=True)
    if leads.empty:  # nothing to refer (no known file was sighted)
        return written
    # Leads in country order (stable: each country keeps the leads' order), then one Arrow
    # table and contiguous slices: per-country conversions and row gathers cost a fixed
    # overhead each, and there may be ~200 countries.
    by_country = leads.iloc[np.argsort(leads["country"].to_numpy(dtype=object), kind="stable")]
    table = pa.Table.from_pandas(by_country, preserve_index=False)
    countries = by_country["country"].to_numpy(dtype=object)
    change = np.ones(len(countries), dtype=bool)
    change[1:] = countries[1:] != countries[:-1]
    starts: list[int] = np.flatnonzero(change).tolist()
    for first, end in zip(starts, [*starts[1:], len(countries)], strict=True):
        country = countries[first]
        rows = by_country.iloc[first:end]
        target = folder / str(country)
        target.mkdir(parents=True, exist_ok=True)
        write_table(table.slice(first, end - first), target / "leads.csv")
        payload = {
            "schema": "safelight.network.referral/1",
            "case": report["case"],
            "country": country,
            "generated_at": report["generated_at"],
            "notice": NOTICE,
            "sources": report["sources"],
        }
        # pandas writes the (possibly very many) leads; the header is ordinary JSON.
        head = json.dumps(payload, indent=1)[:-2]
        leads_json = rows.to_json(orient="records", force_ascii=False)
        (target / "leads.json").write_text(
            f'{head},\n "leads": {leads_json}\n}}\n', encoding="utf-8"
        )
        written[f"referrals/{country}"] = target
    return written
