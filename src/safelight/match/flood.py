"""Flood protection: an entry that matches more than its list's threshold of distinct queries
within a window is paused for review, not silently served (docs/lists.md, "Flood
protection").

    counter = FloodCounter(store)                # one per process or worker
    counter.observe("pdq:f8f8...", served)       # per query: in memory only
    for pause in counter.flush():                # one batched write; who got paused now
        ...

Counting is shared through the store, so every process and worker adds to the same count:
one ``flood_sightings`` row per (entry, fixed window, distinct query), written with
insert-or-ignore, so a repeated query is counted once and two workers seeing the same query
write one row. Windows are fixed (aligned to the epoch, ``window_start = now // window *
window``): a flood straddling a boundary can reach up to twice the threshold before the
pause, the price of counting with one indexed COUNT instead of keeping per-query times.

Sightings are buffered: ``observe`` costs a hash and a set insert; ``flush`` (called by
``Matcher`` at the end of each call, or by the caller every ``FLOOD_FLUSH_SIGHTINGS``) makes
one transaction: one multi-row insert, one grouped COUNT over the touched (entry, window)
pairs, and an update plus an audit entry per newly paused entry.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from safelight.constants import FLOOD_FLUSH_SIGHTINGS
from safelight.errors import UsageError
from safelight.lists.models import Entry
from safelight.lists.store import HashListStore
from safelight.match.results import Match
from safelight.store.lists_tables import flood_sightings, hash_entries

# Who the audit log names for a pause: no user acts, the rule does.
FLOOD_ACTOR = "system:flood"


@dataclass(frozen=True, slots=True)
class FloodPause:
    """An entry paused by the flood rule: the event ``flush`` reports."""

    entry_id: int
    list_name: str
    distinct_queries: int
    threshold: int
    window_s: int
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "entry_id": self.entry_id,
            "list": self.list_name,
            "distinct_queries": self.distinct_queries,
            "threshold": self.threshold,
            "window_s": self.window_s,
            "reason": self.reason,
        }


def query_key(query: str) -> str:
    """The 32-hex key that stands for one distinct query (a hash, or a file's digest)."""
    return hashlib.sha256(query.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class FloodCounter:
    """Buffers sightings of served matches and pauses entries past their list's limit."""

    def __init__(
        self,
        store: HashListStore,
        *,
        flush_every: int = FLOOD_FLUSH_SIGHTINGS,
        flush_after_s: float = 0.0,
        audit: bool = True,
    ) -> None:
        self.store = store
        self.flush_every = flush_every
        # ``flush_due`` writes once sightings have waited this long (0: on every call).
        self.flush_after_s = flush_after_s
        self._first_pending = 0.0
        self.audit = audit
        # observe (request threads) and flush (a background thread) share the buffer.
        self._lock = threading.Lock()
        self._pending: set[tuple[int, int, str]] = set()
        self._names: dict[int, str] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read each list's limits (after a list is created or changed)."""
        lists = self.store.list()
        self._limits = {hl.name: hl.flood_limits() for hl in lists}
        self._list_ids = {hl.name: hl.id for hl in lists}

    def observe(self, query: str, matches: Sequence[Match]) -> list[FloodPause]:
        """Count one query's served matches; flushes (and returns the pauses) when the
        buffer is full, else returns nothing."""
        if not matches:
            return []
        key = None
        now = int(self.store.clock().timestamp())
        with self._lock:
            for match in matches:
                limits = self._limits.get(match.list_name)
                if limits is None:
                    continue
                key = key or query_key(query)
                if not self._pending:
                    self._first_pending = time.monotonic()
                window = limits[1]
                self._pending.add((match.entry_id, now // window * window, key))
                self._names[match.entry_id] = match.list_name
            full = len(self._pending) >= self.flush_every
        return self.flush() if full else []

    def flush_due(self) -> list[FloodPause]:
        """``flush`` when the oldest buffered sighting has waited ``flush_after_s`` (what
        ``Matcher`` calls after each call; an engine answering one hash per request sets
        ``flush_after_s`` to 1 s so a write serves many lookups)."""
        if self._pending and time.monotonic() - self._first_pending >= self.flush_after_s:
            return self.flush()
        return []

    def flush(self) -> list[FloodPause]:
        """Write the buffered sightings and pause every entry now over its limit."""
        with self._lock:
            pending, names = self._pending, self._names
            self._pending, self._names = set(), {}
        if not pending:
            return []
        with self.store.db.begin() as conn:
            # An entry deleted since it matched counts no more (its rows would break the
            # foreign key, and with them the whole batch).
            alive = set(
                conn.execute(
                    select(hash_entries.c.id).where(
                        hash_entries.c.id.in_(sorted({e for e, _, _ in pending}))
                    )
                ).scalars()
            )
            pending = {row for row in pending if row[0] in alive}
            if not pending:
                return []
            rows = [{"entry_id": e, "window_start": w, "query_key": k} for e, w, k in pending]
            touched = {(e, w) for e, w, _ in pending}
            conn.execute(_insert_ignore(conn), rows)
            counts = conn.execute(
                select(flood_sightings.c.entry_id, flood_sightings.c.window_start, func.count())
                .where(
                    tuple_(flood_sightings.c.entry_id, flood_sightings.c.window_start).in_(
                        sorted(touched)
                    )
                )
                .group_by(flood_sightings.c.entry_id, flood_sightings.c.window_start)
            ).all()
            return [
                pause
                for entry_id, _, count in counts
                if (pause := self._pause(conn, entry_id, names[entry_id], int(count)))
            ]

    def _pause(
        self, conn: Connection, entry_id: int, list_name: str, count: int
    ) -> FloodPause | None:
        limits = self._limits.get(list_name)
        if limits is None or count <= limits[0]:
            return None
        threshold, window = limits
        reason = f"flood: {count} distinct queries in {window} s (threshold {threshold})"
        paused = conn.execute(
            update(hash_entries)
            .where(hash_entries.c.id == entry_id, hash_entries.c.paused_at.is_(None))
            .values(paused_at=self.store.clock(), paused_reason=reason)
        )
        if not paused.rowcount:  # already paused (by another worker, or earlier)
            return None
        # A new generation tells every index and lookup engine that servability changed.
        self.store._bump(conn, self._list_ids[list_name], [entry_id])
        pause = FloodPause(entry_id, list_name, count, threshold, window, reason)
        if self.audit:
            from safelight.service.audit import AuditLog

            AuditLog(self.store.db, clock=self.store.clock).record(
                FLOOD_ACTOR,
                "entry.flood_pause",
                f"{list_name}/{entry_id}",
                pause.to_dict(),
                conn=conn,
            )
        return pause


def _insert_ignore(conn: Connection) -> Insert:
    unique = ["entry_id", "window_start", "query_key"]
    if conn.dialect.name == "postgresql":
        return postgresql.insert(flood_sightings).on_conflict_do_nothing(index_elements=unique)
    return sqlite.insert(flood_sightings).on_conflict_do_nothing(index_elements=unique)


def paused_entry_ids(store: HashListStore) -> list[int]:
    """Ids of every paused entry, ascending (the lookup engine holds them in each view)."""
    with store.db.connect() as conn:
        found = conn.execute(
            select(hash_entries.c.id)
            .where(hash_entries.c.paused_at.is_not(None))
            .order_by(hash_entries.c.id)
        )
        return [int(i) for i in found.scalars()]


def paused_entries(store: HashListStore, lists: Sequence[str] | None = None) -> list[Entry]:
    """Entries paused for review, by id (``safelight lists flooded``)."""
    found = store.entries_by_ids(paused_entry_ids(store))
    wanted = None if lists is None else set(lists)
    if wanted is not None:
        store.require(sorted(wanted))
    return [e for i, e in sorted(found.items()) if wanted is None or e.list_name in wanted]


def resume(store: HashListStore, list_name: str, entry_ids: Iterable[int], *, actor: str) -> int:
    """Serve paused entries again after review; their counts start afresh. Returns how many
    were paused. An id not in the list is a UsageError naming it."""
    ids = sorted(set(entry_ids))
    hash_list = store.get(list_name)
    with store.db.begin() as conn:
        known = set(
            conn.execute(
                select(hash_entries.c.id).where(
                    hash_entries.c.list_id == hash_list.id, hash_entries.c.id.in_(ids)
                )
            ).scalars()
        )
        missing = [i for i in ids if i not in known]
        if missing:
            raise UsageError(f"list {list_name} has no entry {missing[0]}")
        resumed = conn.execute(
            update(hash_entries)
            .where(hash_entries.c.id.in_(ids), hash_entries.c.paused_at.is_not(None))
            .values(paused_at=None, paused_reason=None)
        ).rowcount
        conn.execute(delete(flood_sightings).where(flood_sightings.c.entry_id.in_(ids)))
        if resumed:
            store._bump(conn, hash_list.id, ids)
            from safelight.service.audit import AuditLog

            AuditLog(store.db, clock=store.clock).record(
                actor, "entry.flood_resume", list_name, {"entry_ids": ids}, conn=conn
            )
    return int(resumed)


def prune(store: HashListStore, *, before: datetime) -> int:
    """Drop the counts of windows that started before ``before`` (older windows never pause
    anything again); returns the rows removed."""
    cutoff = int(before.timestamp())
    with store.db.begin() as conn:
        removed = conn.execute(
            delete(flood_sightings).where(flood_sightings.c.window_start < cutoff)
        ).rowcount
    return int(removed)


__all__ = [
    "FloodCounter",
    "FloodPause",
    "paused_entries",
    "prune",
    "query_key",
    "resume",
]
