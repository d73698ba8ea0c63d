"""Hashes known for an item, with provenance: typed in by an analyst, or taken from a scan.

Safelight never fetches reported content. An analyst who has the item's media elsewhere
(the hotline's own capture tool, ICCAM, a colleague's scan) enters its hashes, one per line
as ``TYPE VALUE`` (``pdq f8f8...``, ``md5 d41d...``; any type in the signal registry, a bare
value typed by its length where that is unambiguous), or links a ``safelight scan`` run of
that media: each item of the run gives its digests, its PDQ (not below the quality cut-off,
as when banking hash records) and its vPDQ. Each hash is stored once per item, with who
added it, when, and where it came from; adding it again adds nothing. Audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from safelight.constants import HOTLINE_MAX_HASH_LINES, HOTLINE_MAX_SCAN_ITEMS
from safelight.errors import UsageError, ValidationError
from safelight.hotline.classification import item_row, locked_item
from safelight.lists.hash_records import hash_record_items
from safelight.lists.models import Problem
from safelight.lists.records import ParseOptions, make_record
from safelight.scan.runs import RunStore
from safelight.signals.types import registry
from safelight.store import Database
from safelight.store.hotline_class_tables import hotline_item_hashes

if TYPE_CHECKING:
    from safelight.service.audit import AuditLog

ANALYST, SCAN = "analyst", "scan"


@dataclass(frozen=True, slots=True)
class ItemHash:
    id: int
    item_id: int
    signal_type: str
    value: str
    key: str
    source: str  # ANALYST or SCAN
    scan_run_id: int | None
    scan_path: str | None
    by: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "signal_type": self.signal_type,
            "value": self.value,
            "source": self.source,
            "scan_run_id": self.scan_run_id,
            "scan_path": self.scan_path,
            "added_by": self.by,
            "added_at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class NewHash:
    """One hash to add, normalised, with where it came from."""

    signal_type: str
    value: str
    key: str
    scan_run_id: int | None = None
    scan_path: str | None = None


@dataclass(slots=True)
class Added:
    """What an addition did: the hashes it stored, how many were there already, and the
    scan items it could take nothing from."""

    added: list[ItemHash] = field(default_factory=list)
    already_present: int = 0
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [h.to_dict() for h in self.added],
            "already_present": self.already_present,
            "skipped": self.skipped,
        }


def parse_hash_lines(text: str) -> list[NewHash]:
    """``TYPE VALUE`` lines (blank lines and ``#`` comments skipped); every bad line is
    reported at once (ValidationError, ``hashes[N]`` naming the line from 1)."""
    found: list[NewHash] = []
    problems: list[tuple[str, str]] = []
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if len(lines) > HOTLINE_MAX_HASH_LINES:
        raise ValidationError(
            f"at most {HOTLINE_MAX_HASH_LINES} hashes at a time",
            [("hashes", f"at most {HOTLINE_MAX_HASH_LINES} lines")],
        )
    for number, line in lines:
        first, _, rest = line.partition(" ")
        declared, value = (first, rest.strip()) if rest and first in registry else (None, line)
        try:
            record = make_record(ParseOptions(), value, declared)
        except ValueError as exc:
            problems.append((f"hashes[{number}]", str(exc)))
            continue
        found.append(NewHash(record.signal_type, record.value, record.key))
    if problems:
        raise ValidationError(
            "some hashes are not valid: "
            + "; ".join(f"line {where[7:-1]}: {reason}" for where, reason in problems),
            problems,
        )
    if not found:
        raise ValidationError("give at least one hash", [("hashes", "required")])
    return found


def scan_hashes(db: Database, run_id: int) -> tuple[list[NewHash], list[str]]:
    """The hashes of a scan run's items, and why items gave none (``path: reason``)."""
    runs = RunStore(db)
    info = runs.get(run_id)  # NotFoundError (run_not_found) for an unknown run
    if info.items > HOTLINE_MAX_SCAN_ITEMS:
        raise UsageError(
            f"scan run {run_id} has {info.items} items; an item links at most "
            f"{HOTLINE_MAX_SCAN_ITEMS} (the media of one address)",
            field="scan_run_id",
        )
    found: list[NewHash] = []
    skipped: list[str] = []
    for result in runs.iter_results(run_id):
        path = result.record.path
        for part in hash_record_items(result.record.to_dict(), path, ParseOptions()):
            if isinstance(part, Problem):
                skipped.append(f"{path}: {part.reason}")
                continue
            found.append(NewHash(part.signal_type, part.value, part.key, run_id, path))
    return found, skipped


class ItemHashes:
    """An item's hashes: add by hand or from a scan run, list."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    def add_text(self, item_id: int, text: str, *, by: str) -> Added:
        return self.add(item_id, parse_hash_lines(text), by=by, source=ANALYST)

    def link_scan(self, item_id: int, run_id: int, *, by: str) -> Added:
        new, skipped = scan_hashes(self.db, run_id)
        added = self.add(item_id, new, by=by, source=SCAN, scan_run_id=run_id)
        added.skipped = skipped
        return added

    def add(
        self,
        item_id: int,
        hashes: Iterable[NewHash],
        *,
        by: str,
        source: str,
        scan_run_id: int | None = None,
    ) -> Added:
        out = Added()
        with self.db.begin(lock=True) as conn:
            locked_item(conn, item_id)
            have = {(h.signal_type, h.key) for h in _hashes(conn, item_id)}
            now = self.clock()
            for new in hashes:
                if (new.signal_type, new.key) in have:
                    out.already_present += 1
                    continue
                have.add((new.signal_type, new.key))
                row = conn.execute(
                    insert(hotline_item_hashes).values(
                        item_id=item_id,
                        signal_type=new.signal_type,
                        value=new.value,
                        value_key=new.key,
                        source=source,
                        scan_run_id=new.scan_run_id,
                        scan_path=new.scan_path,
                        added_by=by,
                        added_at=now,
                    )
                ).inserted_primary_key
                assert row is not None
                out.added.append(
                    ItemHash(
                        int(row[0]),
                        item_id,
                        new.signal_type,
                        new.value,
                        new.key,
                        source,
                        new.scan_run_id,
                        new.scan_path,
                        by,
                        now,
                    )
                )
            details: dict[str, Any] = {
                "source": source,
                "added": [f"{h.signal_type}:{h.key}" for h in out.added],
                "already_present": out.already_present,
            }
            if scan_run_id is not None:
                details["scan_run_id"] = scan_run_id
            self.audit.record(by, "hotline.hashes.add", f"item:{item_id}", details, conn=conn)
        return out

    def list(self, item_id: int) -> list[ItemHash]:
        with self.db.connect() as conn:
            item_row(conn, item_id)
            return _hashes(conn, item_id)


def item_hashes(conn: Connection, item_id: int) -> list[ItemHash]:
    """An item's hashes on the caller's connection, in the order they were added."""
    return _hashes(conn, item_id)


def _hashes(conn: Connection, item_id: int) -> list[ItemHash]:
    h = hotline_item_hashes.c
    rows = conn.execute(
        select(hotline_item_hashes).where(h.item_id == item_id).order_by(h.id)
    ).mappings()
    return [
        ItemHash(
            id=m["id"],
            item_id=m["item_id"],
            signal_type=m["signal_type"],
            value=m["value"],
            key=m["value_key"],
            source=m["source"],
            scan_run_id=m["scan_run_id"],
            scan_path=m["scan_path"],
            by=m["added_by"],
            at=m["added_at"],
        )
        for m in rows
    ]
