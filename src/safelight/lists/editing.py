"""Editing lists and single entries inside a caller's transaction.

``HashListStore`` opens a transaction per call; a front that must commit something with the
change (the service writes its audit entry in the same transaction) uses ``ListEditor``,
whose methods take the open ``Connection``::

    with db.begin() as conn:
        entry = editor.add_entry(conn, "KNOWN", "ab12...", signal_type="pdq", by="alice")
        audit.record("user:alice", "entry.add", "KNOWN", {"id": entry.id}, conn=conn)

A single entry is added the way an import adds one (same parsing, same typing rule: a bare
64-hex value must be declared), as an import of one record whose provenance names the caller.
Every change bumps the list's generation, so indexes see it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from safelight.constants import PDQ_MAX_LIST_THRESHOLD
from safelight.errors import NotFoundError, UsageError, ValidationError
from safelight.lists import changes
from safelight.lists.importer import run_import
from safelight.lists.models import Entry, HashList, ImportReport, Problem, Record
from safelight.lists.records import ParseOptions, make_record
from safelight.lists.store import FOREVER, HashListStore, PastTimeError, _signal_type
from safelight.lists.values import validate_label
from safelight.store.lists_tables import (
    hash_entries,
    hash_entry_labels,
    hash_list_imports,
    hash_lists,
)

# The fields of a list that ``update_list`` may change.
LIST_FIELDS = (
    "description",
    "source",
    "terms_of_use",
    "pdq_threshold",
    "default_signal_type",
    "enabled",
)


class ListEditor:
    """List and entry changes on a caller's connection (see the module docstring)."""

    def __init__(self, store: HashListStore) -> None:
        self.store = store

    def update_list(self, conn: Connection, name: str, changes: dict[str, Any]) -> HashList:
        """Change some of LIST_FIELDS; unknown fields and bad values are UsageErrors."""
        unknown = sorted(set(changes) - set(LIST_FIELDS))
        if unknown:
            raise UsageError(f"cannot change {', '.join(unknown)}", field=unknown[0])
        values = dict(changes)
        for required in ("enabled", "pdq_threshold"):
            if required in values and values[required] is None:
                raise UsageError(f"{required} cannot be null", field=required)
        threshold = values.get("pdq_threshold")
        if threshold is not None and not 0 <= int(threshold) <= PDQ_MAX_LIST_THRESHOLD:
            raise UsageError(
                f"pdq threshold {threshold} is outside 0-{PDQ_MAX_LIST_THRESHOLD}",
                field="pdq_threshold",
            )
        if values.get("default_signal_type") is not None:
            values["default_signal_type"] = _signal_type(values["default_signal_type"])
        for text in ("description", "source", "terms_of_use"):
            if text in values and values[text] is None:
                values[text] = ""
        hash_list = self.store._get(conn, name)
        if values:
            conn.execute(
                hash_lists.update().where(hash_lists.c.id == hash_list.id).values(**values)
            )
            self.store._bump(conn, hash_list.id)  # the list itself: no entry rows
        return self.store._get(conn, name)

    def delete_list(self, conn: Connection, name: str) -> int:
        """Delete a list with its entries, labels and imports; returns the entries deleted."""
        hash_list = self.store._get(conn, name)
        ids = select(hash_entries.c.id).where(hash_entries.c.list_id == hash_list.id)
        conn.execute(delete(hash_entry_labels).where(hash_entry_labels.c.entry_id.in_(ids)))
        removed = conn.execute(
            delete(hash_entries).where(hash_entries.c.list_id == hash_list.id)
        ).rowcount
        conn.execute(delete(hash_list_imports).where(hash_list_imports.c.list_id == hash_list.id))
        conn.execute(delete(hash_lists).where(hash_lists.c.id == hash_list.id))
        changes.forget(conn, hash_list.id)
        return int(removed)

    def get_entry(self, conn: Connection, name: str, entry_id: int) -> Entry:
        # Plain queries, not the store's streaming ones: those set yield_per on the
        # connection, which would turn the caller's later statements into cursors.
        hash_list = self.store._get(conn, name)
        row = conn.execute(
            select(hash_entries).where(
                hash_entries.c.id == entry_id, hash_entries.c.list_id == hash_list.id
            )
        ).first()
        if row is None:
            raise NotFoundError(f"list {name!r} has no entry with id {entry_id}", field="id")
        m = row._mapping
        labels = conn.execute(
            select(hash_entry_labels.c.label).where(hash_entry_labels.c.entry_id == entry_id)
        ).scalars()
        return Entry(
            id=m["id"],
            list_name=hash_list.name,
            signal_type=m["signal_type"],
            value=m["vpdq_features"] if m["vpdq_features"] is not None else m["value_key"],
            labels=frozenset(labels),
            note=m["note"],
            disabled_until=m["disabled_until"],
            import_id=m["import_id"],
        )

    def add_entry(
        self,
        conn: Connection,
        name: str,
        value: str,
        *,
        signal_type: str | None = None,
        labels: Iterable[str] = (),
        note: str | None = None,
        by: str,
    ) -> tuple[Entry, bool]:
        """Add one value (typed as in an import); (the entry, whether it is new). An
        existing entry gains the labels and takes the note."""
        hash_list = self.store._get(conn, name)
        options = ParseOptions(default_type=hash_list.default_signal_type)
        try:
            record = make_record(options, value, signal_type, list(labels), note)
        except ValueError as exc:
            problem = Problem.of("value", exc)
            raise ValidationError(
                f"invalid entry: {exc}",
                [(problem.location, problem.reason)],
                codes=frozenset({problem.code}),
            ) from None
        report = ImportReport(name, f"api:{by}", "api", by)
        run_import(
            conn,
            hash_list.id,
            [record],
            report,
            now=self.store.clock(),
            skip_invalid=False,
            on_problem=None,
            finish_source=lambda: _record_digest(record),
        )  # bumps the list's generation, logging the entry
        entry_id = conn.execute(
            select(hash_entries.c.id).where(
                hash_entries.c.list_id == hash_list.id,
                hash_entries.c.signal_type == record.signal_type,
                hash_entries.c.value_key == record.key,
            )
        ).scalar_one()
        return self.get_entry(conn, name, int(entry_id)), report.added == 1

    def add_entries(
        self,
        conn: Connection,
        name: str,
        values: Sequence[tuple[str, str]],
        *,
        labels: Iterable[str] = (),
        note: str | None = None,
        by: str,
        source: str,
    ) -> list[tuple[Entry, bool]]:
        """Add several (signal type, value) pairs as one import whose provenance is
        ``source`` (what they were banked from, e.g. a hotline report and item); for each,
        (the entry, whether it is new). Every entry gains ``labels``; ``note`` is given to
        the new entries only (an entry already listed keeps the note it has)."""
        hash_list = self.store._get(conn, name)
        options = ParseOptions(default_type=hash_list.default_signal_type)
        records: list[Record] = []
        for position, (signal_type, value) in enumerate(values):
            try:
                records.append(make_record(options, value, signal_type, list(labels)))
            except ValueError as exc:
                problem = Problem.of(f"values[{position}]", exc)
                raise ValidationError(
                    f"invalid entry: {exc}",
                    [(problem.location, problem.reason)],
                    codes=frozenset({problem.code}),
                ) from None
        existing = self._entry_ids(conn, hash_list.id, records)
        if note is not None:
            records = [
                r if (r.signal_type, r.key) in existing else r._replace(note=note.strip() or None)
                for r in records
            ]
        report = ImportReport(name, source, "api", by)
        run_import(
            conn,
            hash_list.id,
            records,
            report,
            now=self.store.clock(),
            skip_invalid=False,
            on_problem=None,
            finish_source=lambda: _records_digest(records),
        )
        self.store._bump(conn, hash_list.id)
        ids = self._entry_ids(conn, hash_list.id, records)
        return [
            (
                self.get_entry(conn, name, ids[(r.signal_type, r.key)]),
                (r.signal_type, r.key) not in existing,
            )
            for r in records
        ]

    @staticmethod
    def _entry_ids(
        conn: Connection, list_id: int, records: Sequence[Record]
    ) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for record in records:
            entry_id = conn.execute(
                select(hash_entries.c.id).where(
                    hash_entries.c.list_id == list_id,
                    hash_entries.c.signal_type == record.signal_type,
                    hash_entries.c.value_key == record.key,
                )
            ).scalar_one_or_none()
            if entry_id is not None:
                found[(record.signal_type, record.key)] = int(entry_id)
        return found

    def update_entry(
        self,
        conn: Connection,
        name: str,
        entry_id: int,
        *,
        labels: Iterable[str] | None = None,
        note: str | None = None,
        clear_note: bool = False,
    ) -> Entry:
        """Replace an entry's labels (when given) and set or clear its note."""
        hash_list = self.store._get(conn, name)
        self.store._check_entries(conn, hash_list, [entry_id])
        if labels is not None:
            try:
                wanted = sorted({validate_label(label) for label in labels})
            except ValueError as exc:
                raise UsageError(str(exc), field="labels") from None
            conn.execute(delete(hash_entry_labels).where(hash_entry_labels.c.entry_id == entry_id))
            for label in wanted:
                conn.execute(hash_entry_labels.insert().values(entry_id=entry_id, label=label))
        if note is not None or clear_note:
            conn.execute(
                hash_entries.update()
                .where(hash_entries.c.id == entry_id)
                .values(note=None if clear_note else (note.strip() or None if note else None))
            )
        self.store._bump(conn, hash_list.id, [entry_id])
        return self.get_entry(conn, name, entry_id)

    def set_entry_enabled(
        self,
        conn: Connection,
        name: str,
        entry_id: int,
        *,
        until: datetime | None = None,
        enabled: bool,
    ) -> Entry:
        """Enable an entry, or disable it until a time (default: for good); a past time is
        refused (PastTimeError)."""
        if enabled and until is not None:
            raise UsageError("'until' only applies when disabling", field="until")
        if until is not None and until <= (now := self.store.clock()):
            raise PastTimeError(until, now)
        hash_list = self.store._get(conn, name)
        self.store._check_entries(conn, hash_list, [entry_id])
        conn.execute(
            hash_entries.update()
            .where(hash_entries.c.id == entry_id)
            .values(disabled_until=None if enabled else (until or FOREVER))
        )
        self.store._bump(conn, hash_list.id, [entry_id])
        return self.get_entry(conn, name, entry_id)

    def delete_entry(self, conn: Connection, name: str, entry_id: int) -> Entry:
        """Delete one entry with its labels; returns what it was."""
        entry = self.get_entry(conn, name, entry_id)
        conn.execute(delete(hash_entry_labels).where(hash_entry_labels.c.entry_id == entry_id))
        conn.execute(delete(hash_entries).where(hash_entries.c.id == entry_id))
        self.store._bump(conn, self.store._get(conn, name).id, [entry_id])
        return entry


def _records_digest(records: Sequence[Record]) -> str:
    """The provenance digest of entries added together: SHA-256 over their types and keys."""
    text = "\n".join(f"{r.signal_type}:{r.key}" for r in records)
    return hashlib.sha256(text.encode()).hexdigest()


def _record_digest(record: Record) -> str:
    """The provenance digest of an entry added by hand: SHA-256 of its type and key."""
    return hashlib.sha256(f"{record.signal_type}:{record.key}".encode()).hexdigest()
