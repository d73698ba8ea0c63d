"""What a referral holds, whatever it came from: tables of known columns, a timeline, and
the keys of the items referred.

Every source (a network case, a scan run, the hotline's items) gives one
``SourceContent``; the builder merges them. The tables and their columns are fixed here,
each column with its category (``roles``), so a recipient's role decides column by column
what a package carries, and a new source cannot add a column nobody classified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from safelight.errors import InputError
from safelight.referrals.roles import HASHES, METADATA, NETWORK, PERSONAL

# table name -> {column: category}; the CSV of each table is ``<name>.csv``.
TABLES: dict[str, dict[str, str]] = {
    "leads": {
        "lead": METADATA,  # L1, L2, ... in this package: a reference that names no one
        "source": METADATA,
        "connection": PERSONAL,
        "ip": PERSONAL,
        "ips": METADATA,
        "country": NETWORK,
        "asn": NETWORK,
        "as_org": NETWORK,
        "client": NETWORK,
        "protocol": NETWORK,
        "known_files": METADATA,
        "known_sightings": METADATA,
        "unknown_files": METADATA,
        "first_seen": METADATA,
        "last_seen": METADATA,
        "group": METADATA,
        "group_size": METADATA,
        "share_of_group_files": METADATA,
        "pagerank": METADATA,
        "removal_step": METADATA,
    },
    "files": {
        "file": METADATA,  # F1, F2, ...
        "source": METADATA,
        "md5": HASHES,
        "sha1": HASHES,
        "sha256": HASHES,
        "pdq": HASHES,
        "lists": HASHES,
        "labels": HASHES,
        "size": METADATA,
        "holders": METADATA,  # network: connections of the country that hold it
        "path": PERSONAL,  # scan: where it was found (paths can name people)
    },
    "matches": {
        "file": METADATA,
        "source": METADATA,
        "list": HASHES,
        "entry_id": HASHES,
        "signal_type": HASHES,
        "value": HASHES,
        "distance": HASHES,
        "labels": HASHES,
    },
    "urls": {
        # Hotline items: one reported URL each, assessed illegal, hosted in the country.
        "item": METADATA,  # U1, U2, ...
        "source": METADATA,
        "url": NETWORK,  # where the material is: what the recipient acts on
        "host": NETWORK,
        "country": NETWORK,
        "ip": PERSONAL,  # the hosting address (personal data by the roles' rule)
        "asn": NETWORK,
        "network": NETWORK,  # the hosting network (prefix or operator)
        "resolved_at": METADATA,
        "status": METADATA,
        "classification": METADATA,
        "reports": METADATA,  # the public references of the reports that named it
        "times_reported": METADATA,
        "reported_at": METADATA,
        "last_reported_at": METADATA,
        "assessed_at": METADATA,
        "referred_at": METADATA,  # when a referral of ours that carried it was sent
        "le_notified_at": METADATA,
        "hp_notified_at": METADATA,
        "removed_at": METADATA,
        "notice_count": METADATA,
    },
    "timeline": {
        "day": METADATA,
        "source": METADATA,
        "sightings": METADATA,
        "known_sightings": METADATA,
        "connections": METADATA,
        "matched_files": METADATA,
    },
}

# Columns whose absence makes a row unusable: each file needs a hash, each lead a time,
# each URL the time it was reported and assessed.
DIGEST_COLUMNS = ("md5", "sha1", "sha256", "pdq")
TIME_COLUMNS = ("first_seen", "last_seen")
URL_TIME_COLUMNS = ("reported_at", "assessed_at")
OPTIONAL_TIME_COLUMNS = (
    "last_reported_at",
    "referred_at",
    "le_notified_at",
    "hp_notified_at",
    "removed_at",
    "resolved_at",
)


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    source: str
    event: str

    def to_dict(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "source": self.source,
            "event": self.event,
        }


@dataclass
class SourceContent:
    """One source's part of a referral.

    ``description`` goes into ``referral.json`` and the store as it is (so a referral can be
    rebuilt, e.g. to supersede it); ``items`` are stable keys of what is referred
    (``file:sha256:...``, ``connection:...``): two referrals of the same items to the same
    country are duplicates."""

    description: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: list[TimelineEvent] = field(default_factory=list)
    headline: dict[str, int] = field(default_factory=dict)
    items: set[str] = field(default_factory=set)
    empty_reason: str | None = None  # when there are no items: why, in words


def parse_time(text: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {text!r} is not an ISO 8601 time", field=where) from None
    if moment.tzinfo is None:
        raise InputError(f"{where}: {text!r} has no time zone", field=where)
    return moment.astimezone(UTC)


def check_content(content: SourceContent, now: datetime) -> None:
    """Required fields present, known columns only, no time in the future: before anything
    is written. Every problem names the source, table, row and column."""
    name = content.description.get("name", "source")
    problems: list[str] = []
    for table, rows in content.tables.items():
        columns = TABLES.get(table)
        if columns is None:
            raise InputError(f"{name}: unknown table {table!r}")
        for number, row in enumerate(rows, start=1):
            where = f"{name}: {table} row {number}"
            unknown = set(row) - set(columns)
            if unknown:
                problems.append(f"{where}: unclassified columns {sorted(unknown)}")
            if table == "files" and not any(row.get(c) for c in DIGEST_COLUMNS):
                problems.append(f"{where}: no digest or PDQ (a file needs one)")
            for column in TIME_COLUMNS:
                if column in row:
                    _check_time(row.get(column), f"{where}: {column}", now, problems)
            if table == "leads" and not row.get("connection"):
                problems.append(f"{where}: connection: missing")
            if table == "urls":
                _check_url_row(row, where, now, problems)
    for event in content.events:
        if event.at > now:
            problems.append(f"{name}: timeline: {event.event} at {event.at} is in the future")
    if problems:
        raise InputError("; ".join(problems[:20]), code="invalid_referral")


def _check_time(value: Any, where: str, now: datetime, problems: list[str]) -> None:
    if not value:
        problems.append(f"{where}: missing")
        return
    try:
        moment = parse_time(str(value), where)
    except InputError as exc:
        problems.append(exc.message)
        return
    if moment > now:
        problems.append(f"{where}: {value} is in the future")


def _check_url_row(row: dict[str, Any], where: str, now: datetime, problems: list[str]) -> None:
    if not row.get("url"):
        problems.append(f"{where}: url: missing")
    for column in URL_TIME_COLUMNS:
        _check_time(row.get(column), f"{where}: {column}", now, problems)
    for column in OPTIONAL_TIME_COLUMNS:
        if row.get(column):
            _check_time(row[column], f"{where}: {column}", now, problems)
