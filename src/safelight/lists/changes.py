"""The entry change log: followers of the lists catch up by the change, not by the list.

Every change to a list goes through ``bump``, in the change's own transaction: it moves the
list's generation on, NOTIFYs listeners on PostgreSQL (``CHANGE_CHANNEL``, sent on commit),
and writes one ``hash_entry_changes`` row per entry the change touched, carrying the new
generation. A follower (the service's lookup engine, a match index) holding list L at
generation g reads L's generation G from ``hash_lists`` and then the rows with
g < generation <= G (``read``): the entries to re-read, found or gone (deleted).

Why every such row is there once G is visible, on PostgreSQL as on SQLite: the bump's UPDATE
of the list row takes its row lock until commit, so the writers of one list commit in
generation order; each writes its rows after its bump. A transaction whose rows carry a
generation <= G bumped before the one that reached G, which waited for it to commit.
(A global sequence number would not do: PostgreSQL hands them out before commit.)

Three kinds of row (``op``): ``entry`` names one entry; ``reload`` says a change touched
more than ``LIST_CHANGE_LOG_MAX_ROWS`` entries (a big import): read the list whole;
``horizon`` says older rows were pruned (``LIST_CHANGE_LOG_RETENTION_DAYS``): a follower
from before it reads the list whole too. List-level changes (enabled, threshold,
provenance) log no rows: followers read them from the list's row.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, delete, func, literal, select, update

from safelight.constants import (
    LIST_CHANGE_LOG_MAX_ROWS,
    LIST_CHANGE_LOG_PRUNE_EVERY,
    LIST_CHANGE_LOG_RETENTION_DAYS,
)
from safelight.store.database import Database
from safelight.store.lists_tables import hash_entry_changes, hash_lists

# PostgreSQL: every list change NOTIFYs this channel (payload: the list id) when it commits,
# so a service's lookup engine sees it at once rather than at its next poll.
CHANGE_CHANNEL = "safelight_lists"
_ROWS_PER_INSERT = 1_000
_local = itertools.count(1)
_local_changes = 0


@dataclass(frozen=True, slots=True)
class ListChanges:
    """What changed in one list between two generations."""

    entry_ids: tuple[int, ...]  # sorted, each once: re-read these (absent: deleted)
    complete: bool  # False: the log cannot say (a bulk change, or pruned): read the list


def bump(
    conn: Connection,
    list_id: int,
    now: datetime,
    *,
    entries: Iterable[int] | Select[Any] | None = None,
    reload: bool = False,
) -> int:
    """Move the list's generation on and log the entries changed (ids, or a SELECT of ids;
    None: a list-level change), or a ``reload`` row; returns the new generation."""
    notify(conn, list_id)
    Database.after_commit(conn, _count_local_change)
    conn.execute(
        update(hash_lists)
        .where(hash_lists.c.id == list_id)
        .values(generation=hash_lists.c.generation + 1, updated_at=now)
    )
    generation = int(
        conn.execute(select(hash_lists.c.generation).where(hash_lists.c.id == list_id)).scalar_one()
    )
    if reload:
        _log_marker(conn, list_id, generation, "reload", now)
    elif isinstance(entries, Select):
        _log_select(conn, list_id, generation, entries, now)
    elif entries is not None:
        ids = sorted(set(entries))
        if len(ids) > LIST_CHANGE_LOG_MAX_ROWS:
            _log_marker(conn, list_id, generation, "reload", now)
        else:
            _log_ids(conn, list_id, generation, ids, now)
    if generation % LIST_CHANGE_LOG_PRUNE_EVERY == 0:
        prune(conn, list_id, now - timedelta(days=LIST_CHANGE_LOG_RETENTION_DAYS), now)
    return generation


def local_changes() -> int:
    """How many transactions of this process changed a list so far: a follower in this
    process that saw this number unchanged since it last read the lists has missed none of
    them (changes by other processes come by polling or NOTIFY)."""
    return _local_changes


def _count_local_change() -> None:
    """After a list change of this process has committed (not before: a follower reading
    the lists between the two would miss it and think itself current)."""
    global _local_changes
    _local_changes = next(_local)


def notify(conn: Connection, list_id: int) -> None:
    """Tell listeners (the service's lookup engines) a list changed; sent on commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_notify(CHANGE_CHANNEL, str(list_id))))


def forget(conn: Connection, list_id: int) -> None:
    """A deleted list's rows (followers drop a list that is gone, whatever its log said)."""
    conn.execute(delete(hash_entry_changes).where(hash_entry_changes.c.list_id == list_id))
    notify(conn, list_id)


def read(conn: Connection, list_id: int, after: int, upto: int) -> ListChanges:
    """The changes of a list from generation ``after`` (exclusive) to ``upto`` (inclusive)."""
    c = hash_entry_changes.c
    rows = conn.execute(
        select(c.entry_id, c.op).where(
            c.list_id == list_id, c.generation > after, c.generation <= upto
        )
    ).all()
    complete = all(op == "entry" for _, op in rows)
    ids = sorted({int(i) for i, op in rows if op == "entry" and i is not None})
    return ListChanges(tuple(ids), complete)


def prune(conn: Connection, list_id: int, before: datetime, now: datetime) -> int:
    """Drop the list's rows logged before ``before``, leaving a horizon row in their place;
    returns the rows dropped."""
    c = hash_entry_changes.c
    cut = conn.execute(
        select(func.max(c.generation)).where(c.list_id == list_id, c.changed_at < before)
    ).scalar_one()
    if cut is None:
        return 0
    dropped = conn.execute(
        delete(hash_entry_changes).where(c.list_id == list_id, c.generation <= cut)
    ).rowcount
    _log_marker(conn, list_id, int(cut), "horizon", now)
    return int(dropped)


def _log_marker(conn: Connection, list_id: int, generation: int, op: str, now: datetime) -> None:
    conn.execute(
        hash_entry_changes.insert().values(
            list_id=list_id, generation=generation, entry_id=None, op=op, changed_at=now
        )
    )


def _log_ids(
    conn: Connection, list_id: int, generation: int, ids: list[int], now: datetime
) -> None:
    for start in range(0, len(ids), _ROWS_PER_INSERT):
        conn.execute(
            hash_entry_changes.insert(),
            [
                {
                    "list_id": list_id,
                    "generation": generation,
                    "entry_id": entry_id,
                    "op": "entry",
                    "changed_at": now,
                }
                for entry_id in ids[start : start + _ROWS_PER_INSERT]
            ],
        )


def _log_select(
    conn: Connection, list_id: int, generation: int, ids: Select[Any], now: datetime
) -> None:
    """Log every id the one-column ``ids`` query gives (set-based: an import's entries)."""
    inner = ids.subquery()
    conn.execute(
        hash_entry_changes.insert().from_select(
            ["list_id", "generation", "entry_id", "op", "changed_at"],
            select(
                literal(list_id),
                literal(generation),
                inner.c[0],
                literal("entry"),
                literal(now, type_=hash_entry_changes.c.changed_at.type),
            ),
        )
    )
