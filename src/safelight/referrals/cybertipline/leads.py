"""A network lead of a case, with the sightings behind it, for a CyberTipline report.

The case is analysed as ``safelight network analyze`` does (IP entities, the case's lists),
the lead of the given rank is taken, and its known sightings are read back from the case's
parts: each one becomes a peer-to-peer IP capture event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.feather as feather

from safelight.errors import NotFoundError
from safelight.network.pipeline import case_analysis
from safelight.network.sightings import get_case, part_paths
from safelight.store import Database

# How many sightings of one lead become capture events, earliest first (the rest are
# counted in the report's text). The reference sets no limit; this keeps a report readable.
MAX_CAPTURE_EVENTS = 100


@dataclass(frozen=True)
class Sighting:
    at: datetime
    ip: str
    port: int | None
    client: str | None
    file_name: str | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    lists: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkLead:
    case: str
    rank: int
    connection: str
    ip: str
    client: str | None
    protocol: str | None
    country: str | None
    first_seen: datetime
    last_seen: datetime
    known_files: int
    sightings: list[Sighting] = field(default_factory=list)
    more_sightings: int = 0  # known sightings beyond MAX_CAPTURE_EVENTS


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def lead_from_case(
    db: Database,
    case_name: str,
    rank: int,
    *,
    geo_paths: Sequence[Path] = (),
    home: Path | None = None,
) -> NetworkLead:
    """Lead ``rank`` (1 = first) of the case, with its known sightings."""
    case = get_case(db, case_name, home)
    parts = part_paths(db, case)
    run = case_analysis(db, case_name, geo_paths=geo_paths, home=home)  # the one analysis path
    matches = run.matches
    leads = run.analysis.tables["leads"]
    if not 1 <= rank <= len(leads):
        raise NotFoundError(
            f"case {case_name!r} has {len(leads)} leads; there is no lead {rank}",
            code="lead_not_found",
        )
    row = leads.iloc[rank - 1]
    ip = str(row["ip"])
    events: list[Sighting] = []
    for path in parts:
        table = feather.read_table(str(path))
        table = table.filter(pc.equal(table["ip"], ip))
        for item in table.to_pylist():
            match = matches.get(item["file_key"])
            if match is None:
                continue
            events.append(
                Sighting(
                    at=datetime.fromtimestamp(item["ts"] / 1e6, UTC),
                    ip=ip,
                    port=item["port"] or None,
                    client=_text(item["client"]),
                    file_name=_text(item["file_name"]),
                    md5=_text(item["md5"]),
                    sha1=_text(item["sha1"]),
                    sha256=_text(item["sha256"]),
                    pdq=_text(item["pdq"]),
                    lists=match.lists,
                    labels=match.labels,
                )
            )
    events.sort(key=lambda s: (s.at, s.file_name or ""))
    country = str(row["country"])
    return NetworkLead(
        case=case.name,
        rank=rank,
        connection=str(row["connection"]),
        ip=ip,
        client=_text(row["client"]),
        protocol=_text(row["protocol"]),
        country=None if country == "unknown" else country,
        first_seen=datetime.fromisoformat(str(row["first_seen"])),
        last_seen=datetime.fromisoformat(str(row["last_seen"])),
        known_files=int(row["known_files"]),
        sightings=events[:MAX_CAPTURE_EVENTS],
        more_sightings=max(0, len(events) - MAX_CAPTURE_EVENTS),
    )
