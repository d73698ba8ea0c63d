"""Scan runs in the store: create, record item batches, finish, list, summarise.

Item batches are written in one transaction each and never twice (unique run + path key,
conflicting rows ignored), so a kill -9 loses at most the batch in flight and a resume
cannot duplicate anything.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert, Table, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from safelight.errors import NotFoundError
from safelight.match.results import Match
from safelight.scan.model import ItemResult
from safelight.signals.records import HashRecord
from safelight.store import Database
from safelight.store.scan_tables import scan_items, scan_runs
from safelight.timestamps import utc_timestamp

RUNNING, FINISHED, INTERRUPTED, FAILED = "running", "finished", "interrupted", "failed"


def path_key(logical_path: str) -> str:
    return hashlib.sha256(logical_path.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: int
    status: str
    sources: list[str]
    lists: list[dict[str, Any]]
    options: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None
    items: int
    bytes: int
    matched_items: int
    errors: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "sources": self.sources,
            "lists": [entry["name"] for entry in self.lists],
            "started_at": utc_timestamp(self.started_at),
            "finished_at": utc_timestamp(self.finished_at) if self.finished_at else None,
            "items": self.items,
            "bytes": self.bytes,
            "matched_items": self.matched_items,
            "errors": self.errors,
        }


@dataclass(slots=True)
class Tally:
    """Counts over item results: the run's summary, built from rows or from a live stream."""

    items: int = 0
    bytes: int = 0
    matched_items: int = 0
    matches: int = 0
    errors: int = 0
    per_list: Counter[str] = field(default_factory=Counter)
    per_label: Counter[str] = field(default_factory=Counter)
    per_error: Counter[str] = field(default_factory=Counter)
    flagged: int = 0
    per_flag: Counter[str] = field(default_factory=Counter)

    def add(self, result: ItemResult) -> None:
        self.add_parts(result.size, result.matches, result.error.code if result.error else None)
        self.add_flags(result.flags)

    def add_flags(self, flags: Sequence[str], count: int = 1) -> None:
        if flags:
            self.flagged += count
            self.per_flag.update({flag: count for flag in flags})

    def add_parts(self, size: int | None, matches: Sequence[Match], error: str | None) -> None:
        self.items += 1
        self.bytes += size or 0
        if matches:
            self.matched_items += 1
            self.matches += len(matches)
            # An item counts once per list and once per label, however many entries it hit.
            self.per_list.update({m.list_name for m in matches})
            self.per_label.update({label for m in matches for label in m.labels})
        if error:
            self.errors += 1
            self.per_error[error] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "bytes": self.bytes,
            "matched_items": self.matched_items,
            "matches": self.matches,
            "errors": self.errors,
            "matches_per_list": dict(sorted(self.per_list.items())),
            "matches_per_label": dict(sorted(self.per_label.items())),
            "errors_per_code": dict(sorted(self.per_error.items())),
            "flagged_items": self.flagged,
            "flags_per_name": dict(sorted(self.per_flag.items())),
        }


def _insert_ignoring_conflicts(conn: Connection, table: Table) -> Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["run_id", "path_key"]
        )
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["run_id", "path_key"])


class RunStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, sources: list[str], lists: list[dict[str, Any]], options: dict[str, Any]
    ) -> int:
        with self.db.begin() as conn:
            result = conn.execute(
                scan_runs.insert().values(
                    status=RUNNING,
                    sources=json.dumps(sources),
                    lists=json.dumps(lists),
                    options=json.dumps(options, sort_keys=True),
                    started_at=datetime.now(UTC),
                    items=0,
                    bytes=0,
                    matched_items=0,
                    errors=0,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def get(self, run_id: int) -> RunInfo:
        with self.db.connect() as conn:
            row = conn.execute(select(scan_runs).where(scan_runs.c.id == run_id)).first()
            if row is None:
                raise NotFoundError(f"scan run {run_id} not found", code="run_not_found")
            return _run_info(conn, row._mapping)

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        query = select(scan_runs).order_by(scan_runs.c.id.desc()).limit(limit)
        with self.db.connect() as conn:
            return [_run_info(conn, row._mapping) for row in conn.execute(query).all()]

    def set_status(self, run_id: int, status: str) -> None:
        with self.db.begin() as conn:
            conn.execute(update(scan_runs).where(scan_runs.c.id == run_id).values(status=status))

    def finish(self, run_id: int, status: str, tally: Tally) -> None:
        """End a run with its totals; ``finished_at`` is set only when it finished."""
        finished_at = datetime.now(UTC) if status == FINISHED else None
        with self.db.begin() as conn:
            conn.execute(
                update(scan_runs)
                .where(scan_runs.c.id == run_id)
                .values(
                    status=status,
                    finished_at=finished_at,
                    items=tally.items,
                    bytes=tally.bytes,
                    matched_items=tally.matched_items,
                    errors=tally.errors,
                )
            )

    def record(self, run_id: int, results: Sequence[ItemResult]) -> None:
        """Write a batch of item rows in one transaction; rows already there are kept."""
        if not results:
            return
        now = datetime.now(UTC)
        rows = [_item_row(run_id, result, now) for result in results]
        with self.db.begin() as conn:
            conn.execute(_insert_ignoring_conflicts(conn, scan_items), rows)

    def recorded_keys(self, run_id: int) -> set[str]:
        query = select(scan_items.c.path_key).where(scan_items.c.run_id == run_id)
        with self.db.connect() as conn:
            return {row[0] for row in conn.execute(query)}

    def iter_results(self, run_id: int, *, matched_only: bool = False) -> Iterator[ItemResult]:
        query = select(scan_items).where(scan_items.c.run_id == run_id).order_by(scan_items.c.id)
        if matched_only:
            query = query.where(scan_items.c.match_count > 0)
        with self.db.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(query):
                yield _item_result(row._mapping)

    def results_page(
        self, run_id: int, *, after: int = 0, limit: int = 100, matched_only: bool = False
    ) -> list[tuple[int, ItemResult]]:
        """(row id, result) of up to ``limit`` items after row id ``after``, in id order: a
        page, and the id to ask the next one after."""
        query = (
            select(scan_items)
            .where(scan_items.c.run_id == run_id, scan_items.c.id > after)
            .order_by(scan_items.c.id)
            .limit(limit)
        )
        if matched_only:
            query = query.where(scan_items.c.match_count > 0)
        with self.db.connect() as conn:
            self.get(run_id)
            rows = conn.execute(query).all()
        return [(int(row._mapping["id"]), _item_result(row._mapping)) for row in rows]

    def tally(self, run_id: int) -> Tally:
        """The run's summary from its rows: SQL aggregates, then Python over matched rows."""
        tally = Tally()
        items = scan_items.c
        totals = select(
            func.count(), func.coalesce(func.sum(items.size), 0), func.count(items.error_code)
        ).where(items.run_id == run_id)
        errors = (
            select(items.error_code, func.count())
            .where(items.run_id == run_id, items.error_code.is_not(None))
            .group_by(items.error_code)
        )
        flags = (
            select(items.flags, func.count())
            .where(items.run_id == run_id, items.flags.is_not(None))
            .group_by(items.flags)
        )
        with self.db.connect() as conn:
            count, size, error_count = conn.execute(totals).one()
            tally.items, tally.bytes, tally.errors = int(count), int(size), int(error_count)
            tally.per_error.update({code: int(n) for code, n in conn.execute(errors)})
            for joined, n in conn.execute(flags):
                tally.add_flags(joined.split(","), int(n))
        for result in self.iter_results(run_id, matched_only=True):
            tally.matched_items += 1
            tally.matches += len(result.matches)
            tally.per_list.update({m.list_name for m in result.matches})
            tally.per_label.update({label for m in result.matches for label in m.labels})
        return tally


def _live_counts(conn: Connection, run_id: int) -> dict[str, int]:
    """Counts of a run from its item rows (a run that did not finish has no stored totals,
    or totals from before its last resume)."""
    items = scan_items.c
    query = select(
        func.count(),
        func.coalesce(func.sum(items.size), 0),
        func.count(case((items.match_count > 0, 1))),
        func.count(items.error_code),
    ).where(items.run_id == run_id)
    count, size, matched, errors = conn.execute(query).one()
    return {"items": count, "bytes": size, "matched_items": matched, "errors": errors}


def _run_info(conn: Connection, row: Any) -> RunInfo:
    counts = {name: row[name] for name in ("items", "bytes", "matched_items", "errors")}
    if row["status"] != FINISHED:
        counts = _live_counts(conn, row["id"])
    return RunInfo(
        id=row["id"],
        status=row["status"],
        sources=json.loads(row["sources"]),
        lists=json.loads(row["lists"]),
        options=json.loads(row["options"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        items=int(counts["items"]),
        bytes=int(counts["bytes"]),
        matched_items=int(counts["matched_items"]),
        errors=int(counts["errors"]),
    )


def _item_row(run_id: int, result: ItemResult, now: datetime) -> dict[str, Any]:
    record = result.record
    matches = [m.to_dict() for m in result.matches]
    body = record.to_dict()
    del body["path"]
    return {
        "run_id": run_id,
        "path_key": path_key(record.path),
        "logical_path": record.path,
        "size": record.size,
        "md5": record.digests.get("md5"),
        "sha1": record.digests.get("sha1"),
        "sha256": record.digests.get("sha256"),
        "media": record.media,
        "format": record.format,
        "pdq": record.pdq.hex if record.pdq else None,
        "quality": record.pdq.quality if record.pdq else None,
        "vpdq": json.dumps(body["vpdq"], separators=(",", ":")) if record.vpdq else None,
        "match_count": len(matches),
        "matches": json.dumps(matches) if matches else None,
        "error_code": record.error.code if record.error else None,
        "error_message": record.error.message if record.error else None,
        "flags": ",".join(result.flags) or None,
        "record": json.dumps(body, separators=(",", ":")),
        "recorded_at": now,
    }


def _item_result(row: Any) -> ItemResult:
    matches = tuple(Match.from_dict(m) for m in json.loads(row["matches"] or "[]"))
    flags = tuple(row["flags"].split(",")) if row["flags"] else ()
    if row["record"]:
        record = HashRecord.from_dict({**json.loads(row["record"]), "path": row["logical_path"]})
    else:  # a row written before scans_0003: rebuilt from its columns
        record = HashRecord.from_dict(_legacy_record(row))
    return ItemResult(record, matches, flags)


def _legacy_record(row: Any) -> dict[str, Any]:
    error = {"code": row["error_code"], "message": row["error_message"] or ""}
    return {
        "path": row["logical_path"],
        "size": row["size"],
        "media": row["media"] or "other",
        "format": row["format"],
        "width": None,
        "height": None,
        "md5": row["md5"],
        "sha1": row["sha1"],
        "sha256": row["sha256"],
        "pdq": row["pdq"],
        "pdq_quality": row["quality"],
        "vpdq": json.loads(row["vpdq"]) if row["vpdq"] else None,
        "error": error if row["error_code"] else None,
    }
