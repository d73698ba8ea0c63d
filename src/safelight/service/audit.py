"""The audit trail: an append-only log of every security-relevant act, hash-chained.

Each entry carries the SHA-256 of the one before (``prev_sha256``) and its own SHA-256
(``sha256``) over a canonical serialisation of its fields (``canonical_bytes``), so editing,
deleting, inserting or reordering entries breaks the chain where it happened, and
``AuditLog.verify`` names the first bad entry. The ``audit_head`` row holds the newest
entry's number and hash: cutting entries off the end is caught too.

Appends are serialised: each one first updates the head row, which takes PostgreSQL's row
lock (other writers wait for the commit) and SQLite's write lock (the busy timeout waits),
so two writers in different processes can never both extend the same entry.

Anyone may call ``record(actor, action, target, details)``; pass ``conn`` to write the entry
in the same transaction as the change it records (both commit or neither does). Acts too
frequent for a write each (lookups) go through an ``AuditBuffer``
(``safelight.service.audit_buffer``): entries kept in memory, with the time of the act, and
appended in batches; ``record`` writes what a buffer holds first, in the same transaction,
so one process's entries stay in the order of its acts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, select, update

from safelight.store import Database
from safelight.store.service_tables import audit_head, audit_log

if TYPE_CHECKING:
    from safelight.service.audit_buffer import AuditBuffer

GENESIS = "0" * 64  # the prev_sha256 of the first entry
FIELDS = ("seq", "occurred_at", "actor", "action", "target", "details", "prev_sha256")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """The one text form of an entry's time: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Act:
    """An act to append: its fields but the chain's (``seq`` and hashes come at writing)."""

    occurred_at: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    occurred_at: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_sha256: str
    sha256: str

    def canonical_bytes(self) -> bytes:
        """What ``sha256`` is the digest of: every field but the hash itself."""
        return canonical_bytes(
            self.seq,
            self.occurred_at,
            self.actor,
            self.action,
            self.target,
            self.details,
            self.prev_sha256,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
            "prev_sha256": self.prev_sha256,
            "sha256": self.sha256,
        }


def canonical_bytes(
    seq: int,
    occurred_at: str,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any],
    prev_sha256: str,
) -> bytes:
    values = (seq, occurred_at, actor, action, target, dict(details), prev_sha256)
    return canonical_json(dict(zip(FIELDS, values, strict=True))).encode("utf-8")


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of checking the chain: ``first_bad`` is None when every entry holds."""

    entries: int
    head_seq: int
    head_sha256: str
    first_bad: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_sha256": self.head_sha256,
            "first_bad": self.first_bad,
            "problem": self.problem,
        }


class AuditLog:
    """The audit log of one store."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.clock = clock
        self.buffer: AuditBuffer | None = None  # acts waiting to be appended (lookups)

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        details: Mapping[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> AuditEntry:
        """Append one entry: who (``actor``: ``user:NAME``, ``token:NAME``, ``cli:OSUSER``),
        did what (``action``: ``area.verb``, e.g. ``token.create``), to what (``target``),
        with what (``details``: JSON-serialisable; never secrets)."""
        act = Act(iso_utc(self.clock()), actor, action, target, dict(details or {}))
        if conn is not None:
            return self._append_after_buffered(conn, act)
        with self.db.begin(lock=True) as own:
            return self._append_after_buffered(own, act)

    def _append_after_buffered(self, conn: Connection, act: Act) -> AuditEntry:
        """``act`` after the acts a buffer holds, in ``conn``'s transaction (if it rolls
        back, they go back to the buffer)."""
        waiting = self.buffer.take() if self.buffer is not None else []
        if waiting:
            buffer = self.buffer
            assert buffer is not None
            event.listen(conn, "rollback", lambda _: buffer.put_back(waiting), once=True)
        return self.append(conn, [*waiting, act])[-1]

    def append(self, conn: Connection, acts: Sequence[Act]) -> list[AuditEntry]:
        """Append acts in order, in ``conn``'s transaction: the head is locked once."""
        # The head row is written first: its lock serialises appends (see the module doc).
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq))
        head = conn.execute(select(audit_head.c.seq, audit_head.c.sha256)).one()
        seq, prev = int(head.seq), str(head.sha256)
        entries, rows = [], []
        for act in acts:
            details = json.loads(canonical_json(act.details))  # as it will read back
            seq += 1
            digest = hashlib.sha256(
                canonical_bytes(
                    seq, act.occurred_at, act.actor, act.action, act.target, details, prev
                )
            ).hexdigest()
            entry = AuditEntry(
                seq, act.occurred_at, act.actor, act.action, act.target, details, prev, digest
            )
            row = entry.to_dict()
            row["details"] = canonical_json(details)
            entries.append(entry)
            rows.append(row)
            prev = digest
        if rows:
            conn.execute(audit_log.insert(), rows)
            conn.execute(
                update(audit_head).where(audit_head.c.id == 1).values(seq=seq, sha256=prev)
            )
        return entries

    def entries(self, *, after: int = 0) -> Generator[AuditEntry, None, None]:
        """Every entry from ``after + 1`` on, in order (streamed)."""
        with self.db.connect() as conn:
            rows = conn.execution_options(yield_per=1000).execute(
                select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
            )
            try:
                for row in rows:
                    yield _entry(row._mapping)
            finally:  # a reader that stops early must not leave a server-side cursor open
                rows.close()

    def head(self) -> tuple[int, str]:
        with self.db.connect() as conn:
            row = conn.execute(select(audit_head.c.seq, audit_head.c.sha256)).one()
        return int(row.seq), str(row.sha256)

    def verify(self) -> VerifyReport:
        """Walk the chain from the first entry; stop at the first that does not hold."""
        head_seq, head_sha = self.head()
        expected_seq, prev, count = 1, GENESIS, 0
        with closing(self.entries()) as entries:
            for entry in entries:
                problem = _problem(entry, expected_seq, prev)
                if problem is not None:
                    first_bad = min(entry.seq, expected_seq)
                    return VerifyReport(count, head_seq, head_sha, first_bad, problem)
                expected_seq, prev, count = entry.seq + 1, entry.sha256, count + 1
        if (expected_seq - 1, prev) != (head_seq, head_sha):
            problem = (
                f"the log ends at entry {expected_seq - 1} but its head names entry {head_seq} "
                f"({head_sha[:12]}...): entries were deleted from the end, or the head edited"
            )
            return VerifyReport(count, head_seq, head_sha, expected_seq, problem)
        return VerifyReport(count, head_seq, head_sha)


def _problem(entry: AuditEntry, expected_seq: int, prev: str) -> str | None:
    if entry.seq != expected_seq:
        return (
            f"entry {expected_seq} is missing (the next stored entry is {entry.seq}): "
            "entries were deleted or renumbered"
        )
    if entry.prev_sha256 != prev:
        before = entry.seq - 1
        return (
            f"entry {entry.seq} does not follow entry {before} (its prev_sha256 is "
            f"{entry.prev_sha256[:12]}..., entry {before} hashes to {prev[:12]}...): entry "
            f"{before} was inserted or rewritten, or entries here were deleted or moved"
        )
    if hashlib.sha256(entry.canonical_bytes()).hexdigest() != entry.sha256:
        return f"entry {entry.seq} does not match its sha256: its fields were edited"
    return None


def _entry(row: Any) -> AuditEntry:
    try:
        details = json.loads(row["details"])
    except ValueError:
        details = {"unreadable": str(row["details"])}
    return AuditEntry(
        seq=int(row["seq"]),
        occurred_at=str(row["occurred_at"]),
        actor=str(row["actor"]),
        action=str(row["action"]),
        target=str(row["target"]),
        details=details if isinstance(details, dict) else {"value": details},
        prev_sha256=str(row["prev_sha256"]),
        sha256=str(row["sha256"]),
    )
