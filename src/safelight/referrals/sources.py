"""Where referred items come from: the sources a referral is built of.

A source is anything with ``describe()`` and ``collect(country)`` (``ReferralSource``):
a network case, a scan run, and the hotline's items (``hotline_source.HotlineSource``),
each written against the same protocol, with nothing in the builder to change.
``describe()`` is recorded with the referral, and ``source_from_description`` makes the
source again from it (to rebuild a referral that supersedes another).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from safelight.errors import UsageError
from safelight.network.pipeline import CaseAnalysis, case_analysis
from safelight.referrals.content import TABLES, SourceContent, TimelineEvent, parse_time
from safelight.scan.runs import RunStore
from safelight.store import Database


class ReferralSource(Protocol):
    def describe(self) -> dict[str, Any]:
        """``{"kind": ..., "name": ..., ...}``: enough to make the source again."""
        ...

    def collect(self, country: str) -> SourceContent:
        """What this source refers to ``country``."""
        ...


def _clean(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _rows(frame: pd.DataFrame, table: str, source: str) -> list[dict[str, Any]]:
    columns = [c for c in frame.columns if c in TABLES[table]]
    return [
        {"source": source, **{c: _clean(v) for c, v in zip(columns, row, strict=True)}}
        for row in frame[columns].itertuples(index=False, name=None)
    ]


class NetworkCaseSource:
    """The leads of one country in a network case, the known files they hold, and their
    days. The countries are the ones the analysis gave each lead (docs/network.md)."""

    def __init__(
        self, db: Database, case: str, *, geo: Sequence[Path] = (), home: Path | None = None
    ) -> None:
        self.db, self.case, self.geo, self.home = db, case, tuple(geo), home
        self._analysis: CaseAnalysis | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "network_case",
            "name": f"network case {self.case}",
            "case": self.case,
            "geo": [str(p) for p in self.geo],
        }

    def analysis(self) -> CaseAnalysis:
        if self._analysis is None:
            self._analysis = case_analysis(self.db, self.case, geo_paths=self.geo, home=self.home)
        return self._analysis

    def collect(self, country: str) -> SourceContent:
        run = self.analysis()
        name = f"network:{self.case}"
        leads = run.analysis.tables["leads"]
        mine = leads[leads["country"] == country]
        agg = run.aggregates
        codes = np.flatnonzero(np.isin(np.asarray(agg.conns, dtype=object), mine["connection"]))
        files = _country_files(run, codes)
        content = SourceContent(
            description={**self.describe(), "report": run.report["sources"]},
            tables={
                "leads": _rows(mine, "leads", name),
                "files": _rows(files, "files", name),
                "timeline": _rows(_country_days(run, codes), "timeline", name),
            },
            headline={"connections": len(mine), "known_files": len(files)},
        )
        content.items = {f"connection:{self.case}:{c}" for c in mine["connection"]} | {
            f"file:{key}" for key in files["file_key"]
        }
        if not len(mine):
            content.empty_reason = _no_leads(leads, country)
        else:
            first = parse_time(str(mine["first_seen"].min()), "first_seen")
            last = parse_time(str(mine["last_seen"].max()), "last_seen")
            content.events += [
                TimelineEvent(first, name, f"first sighting of known material in {country}"),
                TimelineEvent(last, name, f"last sighting of known material in {country}"),
            ]
        return content


def _no_leads(leads: pd.DataFrame, country: str) -> str:
    if leads.empty:
        return "the case has no leads (no known file was sighted)"
    counts = leads["country"].value_counts()
    if list(counts.index) == ["unknown"]:
        return (
            f"no lead is in {country}: the country of every lead is unknown "
            "(no geolocation database was given for the case)"
        )
    found = ", ".join(f"{c} {n}" for c, n in counts.items())
    return f"no lead is in {country} (leads by country: {found})"


def _country_files(run: CaseAnalysis, codes: np.ndarray) -> pd.DataFrame:
    """The known files the country's connections hold, with how many of them hold each."""
    edges = run.aggregates.edges
    mine = np.isin(edges["conn"], codes)
    file_codes, holders = np.unique(np.asarray(edges["file"])[mine], return_counts=True)
    files = run.aggregates.files.iloc[file_codes].assign(holders=holders)
    files = files[files["file_key"].isin(run.matches.keys())]
    files = files.assign(
        lists=["|".join(run.matches[k].lists) for k in files["file_key"]],
        labels=["|".join(run.matches[k].labels) for k in files["file_key"]],
    )
    for column in ("md5", "sha1", "sha256", "pdq"):
        if column in files:
            files[column] = files[column].replace("", None)
    return files.sort_values(["holders", "file_key"], ascending=[False, True])


def _country_days(run: CaseAnalysis, codes: np.ndarray) -> pd.DataFrame:
    from safelight.network.aggregate import DAY_US

    days = pd.DataFrame(run.aggregates.days)
    days = days[days["conn"].isin(codes)]
    known = days[days["known"]]
    out = pd.DataFrame(
        {
            "sightings": days.groupby("day")["sightings"].sum(),
            "known_sightings": known.groupby("day")["sightings"].sum(),
            "connections": days.groupby("day")["conn"].nunique(),
        }
    ).fillna(0)
    out = out.astype(np.int64)
    out.index = pd.to_datetime(out.index * DAY_US, unit="us", utc=True).strftime("%Y-%m-%d")
    return out.reset_index(names="day")


class ScanRunSource:
    """The matched items of one scan run: each file with its digests and PDQ, each match."""

    def __init__(self, db: Database, run_id: int) -> None:
        self.db, self.run_id = db, run_id

    def describe(self) -> dict[str, Any]:
        return {"kind": "scan_run", "name": f"scan run {self.run_id}", "run_id": self.run_id}

    def collect(self, country: str) -> SourceContent:
        store = RunStore(self.db)
        run = store.get(self.run_id)
        name = f"scan:{self.run_id}"
        files: list[dict[str, Any]] = []
        matches: list[dict[str, Any]] = []
        items: set[str] = set()
        for result in store.iter_results(self.run_id, matched_only=True):
            record = result.record
            digests = record.digests
            key = digests.get("sha256") or digests.get("md5") or result.logical_path
            files.append(
                {
                    "source": name,
                    **{d: digests.get(d) for d in ("md5", "sha1", "sha256")},
                    "pdq": record.pdq.hex if record.pdq else None,
                    "lists": "|".join(sorted({m.list_name for m in result.matches})),
                    "labels": "|".join(sorted({x for m in result.matches for x in m.labels})),
                    "size": record.size,
                    "path": result.logical_path,
                }
            )
            index = len(files)
            matches += [
                {
                    "file": index,  # replaced by the file's id when the package is numbered
                    "source": name,
                    **{k: v for k, v in m.to_dict().items() if k in TABLES["matches"]},
                    "list": m.list_name,
                    "labels": "|".join(sorted(m.labels)),
                }
                for m in result.matches
            ]
            items.add(f"file:{key}")
        started = run.started_at.astimezone(UTC)
        events = [TimelineEvent(started, name, f"scan run {self.run_id} started")]
        if run.finished_at is not None:
            finished = run.finished_at.astimezone(UTC)
            events.append(TimelineEvent(finished, name, f"scan run {self.run_id} finished"))
        day = started.date().isoformat()
        return SourceContent(
            empty_reason=None if files else f"scan run {self.run_id} matched nothing",
            description={**self.describe(), "status": run.status, "sources": run.sources},
            tables={
                "files": files,
                "matches": matches,
                "timeline": [{"day": day, "source": name, "matched_files": len(files)}],
            },
            events=events,
            headline={"matched_files": len(files), "matches": len(matches)},
            items=items,
        )


def source_from_description(
    db: Database, description: dict[str, Any], home: Path | None = None
) -> ReferralSource:
    """The source a recorded ``describe()`` names (to rebuild a referral)."""
    kind = description.get("kind")
    if kind == "network_case":
        geo = [Path(p) for p in description.get("geo", [])]
        return NetworkCaseSource(db, str(description["case"]), geo=geo, home=home)
    if kind == "scan_run":
        return ScanRunSource(db, int(description["run_id"]))
    if kind == "hotline_items":
        from safelight.referrals.hotline_source import HotlineSource

        return HotlineSource(
            db, references=description.get("references"), item_ids=description.get("items")
        )
    raise UsageError(f"a recorded referral source of unknown kind {kind!r}")


def require_sources(sources: Sequence[ReferralSource]) -> None:
    if not sources:
        raise UsageError(
            "nothing to refer: name a network case, a scan run or hotline reports",
            code="no_source",
            field="case",
        )
