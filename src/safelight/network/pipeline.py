"""The network pipeline end to end: ingest logs into a case, analyze it, write the report.

The command line and the demo both call these functions; each takes an open ``Database``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from safelight.constants import NETWORK_LOUVAIN_RESOLUTION
from safelight.errors import UsageError
from safelight.network.aggregate import Aggregates, EntityOptions, aggregate
from safelight.network.analysis import Analysis, analyze
from safelight.network.columns import ColumnMapping
from safelight.network.geo import open_geo
from safelight.network.ingest import DIGEST_COLUMNS, FileSummary, ingest_files
from safelight.network.known import KnownMatch, KnownMaterial, lookup_columns
from safelight.network.known_sources import resolve_known
from safelight.network.report import build_report, write_outputs
from safelight.network.sightings import (
    Case,
    find_case,
    get_case,
    open_case,
    part_paths,
    registered,
    undo_open,
)
from safelight.store import Database
from safelight.workers import Workers, mapping

FILE_PREFIX = "file:"
# Imported once into the process pool's server: what the maps run (parse, aggregate).
WORKER_PRELOAD = ("safelight.network.ingest", "safelight.network.aggregate")


def case_known(db: Database, case: Case) -> KnownMaterial:
    """The known material a case was set up with: list names and list files."""
    names = [x for x in case.lists if not x.startswith(FILE_PREFIX)]
    files = [Path(x[len(FILE_PREFIX) :]) for x in case.lists if x.startswith(FILE_PREFIX)]
    return resolve_known(db, names, files)


def mapper_for(
    cluster: str | None, shared_dir: Path, jobs: int | None = 1
) -> AbstractContextManager[mapping.Mapper]:
    """Where the maps run, chosen as for every front (``safelight.workers.Workers``): a Dask
    ``cluster`` (``local``: a LocalCluster of ``jobs`` workers), else ``jobs`` processes."""
    return mapping.mapper(Workers(jobs, cluster), shared_dir, preload=WORKER_PRELOAD)


def ingest(
    db: Database,
    case_name: str,
    paths: Sequence[Path],
    *,
    lists: Sequence[str] = (),
    list_files: Sequence[Path] = (),
    mapping: Path | None = None,
    cluster: str | None = None,
    jobs: int | None = 1,
    home: Path | None = None,
) -> tuple[Case, list[FileSummary]]:
    Workers(jobs, cluster)  # a bad choice fails before the case is touched
    chosen: tuple[str, ...] | None = None
    if lists or list_files:
        chosen = tuple(lists) + tuple(FILE_PREFIX + str(p.resolve()) for p in list_files)
    known = resolve_known(db, lists, list_files)  # fail on a bad list before touching the case
    columns = ColumnMapping.load(mapping)
    before = find_case(db, case_name, home)
    ingests_before = len(registered(db, before)) if before else 0
    case = open_case(db, case_name, chosen, home)
    try:
        if chosen is None:
            known = case_known(db, case)
        with mapper_for(cluster, case.folder, jobs) as mapper:
            summaries = ingest_files(db, case, paths, columns, known, mapper=mapper)
    except BaseException:
        # A failed ingest leaves no new case and no changed lists behind.
        undo_open(db, case, before, ingests_before)
        raise
    return case, summaries


def _matcher(known: KnownMaterial) -> Any:
    def known_of(files: pd.DataFrame) -> dict[str, KnownMatch]:
        columns = [
            files[c].astype(str).to_numpy(dtype=object).tolist()
            for c in ("file_key", *DIGEST_COLUMNS)
        ]
        return lookup_columns(known, columns)

    return known_of


@dataclass
class AnalysisRun:
    analysis: Analysis
    report: dict[str, Any]
    written: dict[str, Path]


@dataclass
class CaseAnalysis:
    """A case analyzed in memory: the analysis and report, and the aggregates and known
    matches behind them (a referral picks one country's files from these)."""

    analysis: Analysis
    report: dict[str, Any]
    aggregates: Aggregates
    matches: dict[str, KnownMatch]


def analyze_case(
    db: Database,
    case_name: str,
    out: Path,
    *,
    mode: str = "ip",
    geo_paths: Sequence[Path] = (),
    cluster: str | None = None,
    jobs: int | None = 1,
    home: Path | None = None,
    resolution: float = NETWORK_LOUVAIN_RESOLUTION,
) -> AnalysisRun:
    """Aggregate a case's sightings, analyze them and write the report into ``out``.

    ``resolution`` is Louvain's: 1.0 is plain modularity; larger values split big groups
    (modularity merges groups smaller than about sqrt(edges), see docs/network.md).
    """
    run = case_analysis(
        db,
        case_name,
        mode=mode,
        geo_paths=geo_paths,
        cluster=cluster,
        jobs=jobs,
        home=home,
        resolution=resolution,
    )
    written = write_outputs(run.analysis, run.report, out)
    return AnalysisRun(run.analysis, run.report, written)


def case_analysis(
    db: Database,
    case_name: str,
    *,
    mode: str = "ip",
    geo_paths: Sequence[Path] = (),
    cluster: str | None = None,
    jobs: int | None = 1,
    home: Path | None = None,
    resolution: float = NETWORK_LOUVAIN_RESOLUTION,
) -> CaseAnalysis:
    """``analyze_case`` without writing anything: for fronts that use the results."""
    if not (math.isfinite(resolution) and resolution > 0):
        raise UsageError(f"expected a number above 0, got {resolution}", field="resolution")
    case = get_case(db, case_name, home)
    known = case_known(db, case)
    options = EntityOptions(mode)
    geo = open_geo(geo_paths)
    parts = part_paths(db, case)
    with mapper_for(cluster, case.folder, jobs) as mapper:
        agg, matches = aggregate(parts, options, _matcher(known), mapper)
    analysis = analyze(agg, matches, geo, resolution=resolution)
    source = geo.source
    report = build_report(
        analysis,
        case=case.name,
        entity_mode=mode,
        resolution=resolution,
        geo_source={
            "name": source.name,
            "licence": source.licence,
            "attribution": source.attribution,
            "date": source.date,
        },
        known_description=known.description,
    )
    return CaseAnalysis(analysis, report, agg, matches)


def run_demo_network(out: Path, *, seed: int = 7, db: Database | None = None) -> dict[str, Any]:
    """Simulate a small network, ingest and analyze it into ``out``; returns the headline.

    Uses its own SQLite store and home inside ``out`` unless a database is given.
    """
    from safelight.network.simulate import simulate

    out.mkdir(parents=True, exist_ok=True)
    sim = out / "simulated"
    simulate(
        sim / "sightings.csv",
        connections=600,
        countries=12,
        groups=8,
        files=800,
        seed=seed,
        overwrite=True,  # the demo's own folder: a rerun replaces it
    )
    home = out / "home"
    url = f"sqlite:///{home / 'safelight.db'}"
    # The caller's database stays open; one opened here is closed with the block.
    with nullcontext(db) if db is not None else Database.open(url) as database:
        ingest(
            database,
            "demo",
            [sim / "sightings.csv"],
            list_files=[sim / "known.csv"],
            home=home,
        )
        run = analyze_case(
            database, "demo", out / "report", geo_paths=[sim / "geo.mmdb"], home=home
        )
    return dict(run.report["headline"])
