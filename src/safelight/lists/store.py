"""``HashListStore``: the core API of hash lists, on any ``safelight.store.Database``.

Indexes build from ``iter_entries`` and check ``generations`` to know they are stale;
match results turn ids back into entries with ``entries_by_ids``.
"""

from __future__ import annotations

import builtins
import difflib
import getpass
import os
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from sqlalchemy import Connection, Row, and_, delete, func, or_, select, true
from sqlalchemy.exc import IntegrityError

from safelight.constants import PDQ_MATCH_THRESHOLD, PDQ_MAX_LIST_THRESHOLD
from safelight.errors import ConflictError, InputError, NotFoundError, StoreError, UsageError
from safelight.lists import changes
from safelight.lists.changes import CHANGE_CHANNEL as CHANGE_CHANNEL  # where it lived
from safelight.lists.changes import ListChanges
from safelight.lists.formats import detect_format, read_records, write_entries
from safelight.lists.importer import ProblemSink, run_import
from safelight.lists.models import (
    Entry,
    HashList,
    ImportInfo,
    ImportReport,
    IndexEntry,
    IndexRow,
    ListSummary,
)
from safelight.lists.records import HashingReader, ParseOptions
from safelight.lists.values import validate_list_name
from safelight.signals.types import UnknownSignalTypeError, registry
from safelight.store import Database
from safelight.store.lists_tables import (
    hash_entries,
    hash_entry_labels,
    hash_list_imports,
    hash_lists,
)

# ``disable`` without an end: HMA's "0 = disabled" as a time no clock will reach.
FOREVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_ID_CHUNK = 500  # ids per IN (...) query: well under every database's parameter limit
_STREAM_ROWS = 10_000


class ListNotFoundError(NotFoundError):
    """Lists named that do not exist; ``suggestions`` maps each to the closest existing
    name (the same name in upper case first, as list names are UPPER_WITH_UNDERSCORE)."""

    default_code = "list_not_found"

    def __init__(self, names: Sequence[str], known: Iterable[str]) -> None:
        existing = sorted(known)
        self.names = builtins.list(names)
        self.suggestions = {n: s for n in self.names if (s := _closest(n, existing))}
        quoted = ", ".join(repr(n) for n in self.names)
        message = f"list {quoted} does not exist"
        if len(self.names) > 1:
            message = f"lists {quoted} do not exist"
        if self.suggestions:
            hints = [f"{s!r} for {n!r}" for n, s in self.suggestions.items()]
            if len(self.names) == 1:
                hints = [repr(self.suggestions[self.names[0]])]
            message += f" (did you mean {', '.join(hints)}?)"
        super().__init__(message)


class ListDisabledError(UsageError):
    """Lists named explicitly that are disabled: a disabled list matches nothing, so naming
    one would report "no match" for anything. ``names`` lists them."""

    default_code = "list_disabled"

    def __init__(self, names: Sequence[str]) -> None:
        self.names = builtins.list(names)
        quoted = ", ".join(repr(n) for n in self.names)
        verb = "is" if len(self.names) == 1 else "are"
        super().__init__(f"list {quoted} {verb} disabled and matches nothing until enabled")


def _closest(name: str, existing: Sequence[str]) -> str | None:
    if name.upper() in existing:
        return name.upper()
    close = difflib.get_close_matches(name.upper(), existing, n=1, cutoff=0.6)
    return close[0] if close else None


class PastTimeError(UsageError):
    """A "disabled until" time that has already passed: the entry would stay enabled."""

    default_code = "past_time"

    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__(
            f"until {until.isoformat(timespec='seconds')} is not in the future "
            f"(now {now.isoformat(timespec='seconds')})"
        )
        self.until = until
        self.now = now


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_user() -> str:
    """Who runs an import when no one is named: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _hash_list(row: Row[Any]) -> HashList:
    m = row._mapping
    return HashList(
        id=m["id"],
        name=m["name"],
        description=m["description"],
        source=m["source"],
        terms_of_use=m["terms_of_use"],
        pdq_threshold=m["pdq_threshold"],
        enabled=bool(m["enabled"]),
        generation=m["generation"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        default_signal_type=m["default_signal_type"],
        kind=m["kind"],
        flood_threshold=m["flood_threshold"],
        flood_window_s=m["flood_window_s"],
    )


class HashListStore:
    """Hash lists ("banks") with provenance, on SQLite or PostgreSQL."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.clock = clock

    # --- lists ---------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        description: str = "",
        source: str = "",
        terms_of_use: str = "",
        pdq_threshold: int = PDQ_MATCH_THRESHOLD,
        enabled: bool = True,
        default_signal_type: str | None = None,
        allow: bool = False,
        flood_threshold: int | None = None,
        flood_window_s: int | None = None,
        in_transaction: Callable[[Connection, HashList], None] | None = None,
    ) -> HashList:
        """A new list. ``default_signal_type`` types the values later imported without a
        type of their own (say sha256 for a list of 64-hex SHA-256 digests). ``allow`` makes
        an allow list (known false positives, docs/lists.md); ``flood_threshold`` and
        ``flood_window_s`` set its flood protection (None: the default, threshold 0: off).
        ``in_transaction(conn, list)`` runs before the commit (an audit entry)."""
        try:
            validate_list_name(name)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        default_type = None if default_signal_type is None else _signal_type(default_signal_type)
        if not 0 <= pdq_threshold <= PDQ_MAX_LIST_THRESHOLD:
            raise UsageError(f"pdq threshold {pdq_threshold} is outside 0-{PDQ_MAX_LIST_THRESHOLD}")
        _check_flood(flood_threshold, flood_window_s)
        now = self.clock()
        try:
            with self.db.begin() as conn:
                if self._find(conn, name) is not None:
                    raise ConflictError(f"list {name!r} already exists")
                conn.execute(
                    hash_lists.insert().values(
                        name=name,
                        description=description,
                        source=source,
                        terms_of_use=terms_of_use,
                        pdq_threshold=pdq_threshold,
                        default_signal_type=default_type,
                        kind="allow" if allow else "block",
                        flood_threshold=flood_threshold,
                        flood_window_s=flood_window_s,
                        enabled=enabled,
                        generation=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
                if in_transaction is not None:
                    in_transaction(conn, self._get(conn, name))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # a concurrent create won the race
                raise ConflictError(f"list {name!r} already exists") from None
            raise
        return self.get(name)

    def get(self, name: str) -> HashList:
        with self.db.connect() as conn:
            return self._get(conn, name)

    def list(self) -> builtins.list[HashList]:
        with self.db.connect() as conn:
            rows = conn.execute(select(hash_lists).order_by(hash_lists.c.name))
            return [_hash_list(row) for row in rows]

    def delete(self, name: str) -> int:
        """Delete a list with its entries, labels and imports; returns the entries deleted."""
        with self.db.begin() as conn:
            hash_list = self._get(conn, name)
            ids = select(hash_entries.c.id).where(hash_entries.c.list_id == hash_list.id)
            conn.execute(delete(hash_entry_labels).where(hash_entry_labels.c.entry_id.in_(ids)))
            removed = conn.execute(
                delete(hash_entries).where(hash_entries.c.list_id == hash_list.id)
            ).rowcount
            conn.execute(
                delete(hash_list_imports).where(hash_list_imports.c.list_id == hash_list.id)
            )
            conn.execute(delete(hash_lists).where(hash_lists.c.id == hash_list.id))
            changes.forget(conn, hash_list.id)
            return int(removed)

    def set_enabled(
        self,
        name: str,
        enabled: bool,
        *,
        entry_ids: Sequence[int] | None = None,
        until: datetime | None = None,
    ) -> HashList:
        """Enable or disable a list, or only some of its entries.

        Entries are disabled until ``until`` (default: for good) and enabled by clearing it;
        ``until`` applies to entries only. Every call bumps the list's generation.
        """
        if until is not None and enabled:
            raise UsageError("'until' only applies when disabling")
        if until is not None and not entry_ids:
            raise UsageError("a time applies to entries: name the entries", field="until")
        if until is not None and until <= (now := self.clock()):
            raise PastTimeError(until, now)
        with self.db.begin() as conn:
            hash_list = self._get(conn, name)
            if entry_ids:
                self._check_entries(conn, hash_list, entry_ids)
                new_until = None if enabled else (until or FOREVER)
                for chunk in _chunks(sorted(set(entry_ids))):
                    conn.execute(
                        hash_entries.update()
                        .where(hash_entries.c.list_id == hash_list.id, hash_entries.c.id.in_(chunk))
                        .values(disabled_until=new_until)
                    )
            else:
                conn.execute(
                    hash_lists.update()
                    .where(hash_lists.c.id == hash_list.id)
                    .values(enabled=enabled)
                )
            self._bump(conn, hash_list.id, entry_ids or None)
            return self._get(conn, name)

    def summary(self, name: str, *, imports: int = 10) -> ListSummary:
        """Metadata, counts per signal type and per label, the latest imports."""
        now = self.clock()
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            in_list = hash_entries.c.list_id == hash_list.id
            by_type = _counts(
                conn,
                select(hash_entries.c.signal_type, func.count())
                .where(in_list)
                .group_by(hash_entries.c.signal_type)
                .order_by(hash_entries.c.signal_type),
            )
            by_label = _counts(
                conn,
                select(hash_entry_labels.c.label, func.count())
                .select_from(hash_entry_labels.join(hash_entries))
                .where(in_list)
                .group_by(hash_entry_labels.c.label)
                .order_by(hash_entry_labels.c.label),
            )
            disabled = conn.execute(
                select(func.count())
                .select_from(hash_entries)
                .where(in_list, hash_entries.c.disabled_until > now)
            ).scalar_one()
            history = conn.execute(
                select(hash_list_imports)
                .where(hash_list_imports.c.list_id == hash_list.id)
                .order_by(hash_list_imports.c.id.desc())
                .limit(imports)
            )
            return ListSummary(
                hash_list=hash_list,
                entries=sum(by_type.values()),
                disabled_entries=int(disabled),
                by_type=by_type,
                by_label=by_label,
                imports=[_import_info(row) for row in history],
            )

    def import_info(self, import_id: int) -> ImportInfo:
        """Provenance of an entry (``Entry.import_id``): file, SHA-256, when, by whom."""
        query = select(hash_list_imports).where(hash_list_imports.c.id == import_id)
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"no import with id {import_id}")
        return _import_info(row)

    def entry_counts(self) -> dict[str, int]:
        """Entries per list name (lists without entries are absent)."""
        query = (
            select(hash_lists.c.name, func.count())
            .select_from(hash_entries.join(hash_lists))
            .group_by(hash_lists.c.name)
        )
        with self.db.connect() as conn:
            return _counts(conn, query)

    def generations(self, names: Sequence[str] | None = None) -> dict[str, int]:
        """Each list's change counter: an index built at these numbers is current."""
        query = select(hash_lists.c.name, hash_lists.c.generation)
        with self.db.connect() as conn:
            found = _counts(conn, query)
        if names is None:
            return found
        missing = [n for n in names if n not in found]
        if missing:
            raise ListNotFoundError(missing, found)
        return {n: found[n] for n in names}

    def require(self, names: Sequence[str]) -> builtins.list[HashList]:
        """The lists named, each of which must exist and be enabled: what a caller that
        names lists to match against needs (ListNotFoundError, ListDisabledError)."""
        known = {hl.name: hl for hl in self.list()}
        missing = [n for n in dict.fromkeys(names) if n not in known]
        if missing:
            raise ListNotFoundError(missing, known)
        disabled = [n for n in dict.fromkeys(names) if not known[n].enabled]
        if disabled:
            raise ListDisabledError(disabled)
        return [known[n] for n in dict.fromkeys(names)]

    # --- import / export -----------------------------------------------------------------

    def import_file(
        self,
        name: str,
        path: str | Path,
        *,
        fmt: str | None = None,
        options: ParseOptions | None = None,
        skip_invalid: bool = False,
        by: str | None = None,
        on_problem: ProblemSink | None = None,
        source_name: str | None = None,
        in_transaction: Callable[[Connection, ImportReport], None] | None = None,
    ) -> ImportReport:
        """Import a file ('-' is stdin) into a list, all or nothing; see docs/lists.md.

        ``source_name`` names the input in the provenance and in problems (``NAME:line``)
        where the path means nothing to anyone (an upload's temporary file);
        ``in_transaction(conn, report)`` runs before the commit (an audit entry)."""
        path_text = str(path)
        fmt = detect_format(source_name or path_text, fmt)
        options = options or ParseOptions()
        if options.default_type is not None:
            options = replace(options, default_type=_signal_type(options.default_type))
        report = ImportReport(
            list_name=name,
            source_path=source_name
            or ("<stdin>" if path_text == "-" else str(Path(path_text).resolve())),
            format=fmt,
            imported_by=by or default_user(),
        )
        with _open_source(path_text) as raw:
            source = HashingReader(raw)
            with self.db.begin() as conn:
                hash_list = self._get(conn, name)
                if options.default_type is None and hash_list.default_signal_type:
                    options = replace(options, default_type=hash_list.default_signal_type)
                run_import(
                    conn,
                    hash_list.id,
                    read_records(
                        fmt, source, source_name or _location_name(path_text), options, skip_invalid
                    ),
                    report,
                    now=self.clock(),
                    skip_invalid=skip_invalid,
                    on_problem=on_problem,
                    finish_source=source.hexdigest,
                    file_labels=options.extra_labels,
                )
                if in_transaction is not None:
                    in_transaction(conn, report)
        return report

    def export(
        self,
        name: str,
        out: TextIO,
        *,
        fmt: str = "jsonl",
        signal_type: str | None = None,
        label: str | None = None,
        only_enabled: bool = False,
    ) -> tuple[int, int]:
        """Stream a list's entries to ``out``; (written, skipped: not expressible in fmt)."""
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            entries = self._iter_entries(
                conn, [hash_list], signal_type=signal_type, label=label, only_enabled=only_enabled
            )
            return write_entries(fmt, entries, out)

    # --- queries for indexes and matches -------------------------------------------------

    def iter_entries(
        self,
        list_names: Sequence[str] | None,
        signal_type: str,
        only_enabled: bool = True,
    ) -> Iterator[IndexEntry]:
        """Stream (id, value, labels) of one signal type over some lists (None: all).

        ``only_enabled`` skips disabled lists and entries disabled now. For vPDQ the value
        is the feature JSON (``values.vpdq_pdq_hashes`` gives the frame hashes). Read
        ``generations`` first: an index built from this stream is current at least to them.
        """
        kind = _signal_type(signal_type)
        with self.db.connect() as conn:
            lists = self._lists(conn, list_names)
            if not lists:
                return
            conditions = self._conditions(lists, kind, only_enabled=only_enabled)
            columns = (hash_entries.c.value_key, hash_entries.c.vpdq_features)
            for (entry_id, key, features), labels in _grouped_rows(conn, columns, conditions):
                yield IndexEntry(entry_id, features if features is not None else key, labels)

    def entries_by_ids(self, ids: Iterable[int]) -> dict[int, Entry]:
        """Entries (with list name and labels) for ids an index returned; unknown ids absent."""
        wanted = sorted(set(ids))
        found: dict[int, Entry] = {}
        with self.db.connect() as conn:
            for chunk in _chunks(wanted):
                where = hash_entries.c.id.in_(chunk)
                for entry in self._iter_entries(conn, None, where=where):
                    found[entry.id] = entry
        return found

    def index_rows(
        self,
        signal_type: str,
        *,
        list_names: Sequence[str] | None = None,
        after_id: int | None = None,
    ) -> Iterator[IndexRow]:
        """(id, list name, value, disabled_until) of one type, in id order, without labels.

        What an index reads to build or catch up: every entry whether disabled or not (the
        index hides disabled ones itself), only ids above ``after_id`` when given.
        """
        kind = _signal_type(signal_type)
        with self.db.connect() as conn:
            lists = self._lists(conn, list_names)
            names = {hl.id: hl.name for hl in lists}
            conditions = self._conditions(lists if list_names is not None else None, kind)
            if after_id is not None:
                conditions.append(hash_entries.c.id > after_id)
            query = (
                select(
                    hash_entries.c.id,
                    hash_entries.c.list_id,
                    hash_entries.c.value_key,
                    hash_entries.c.vpdq_features,
                    hash_entries.c.disabled_until,
                )
                .where(and_(true(), *conditions))
                .order_by(hash_entries.c.id)
            )
            rows = conn.execution_options(yield_per=_STREAM_ROWS).execute(query)
            with closing(rows):
                for entry_id, list_id, key, features, disabled_until in rows:
                    value = features if features is not None else key
                    yield IndexRow(entry_id, names.get(list_id, ""), value, disabled_until)

    def entry_states(
        self, name: str, signal_type: str
    ) -> builtins.list[tuple[int, datetime | None]]:
        """(id, disabled_until) of every entry of one type in a list, by id: enough for an
        index to find what it lacks and which entries to hide, without reading values."""
        kind = _signal_type(signal_type)
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            query = (
                select(hash_entries.c.id, hash_entries.c.disabled_until)
                .where(hash_entries.c.list_id == hash_list.id, hash_entries.c.signal_type == kind)
                .order_by(hash_entries.c.id)
            )
            return [(int(i), until) for i, until in conn.execute(query)]

    def entry_pages(
        self, name: str, *, page_rows: int = 100_000
    ) -> Iterator[builtins.list[tuple[Any, ...]]]:
        """Every entry of a list, by id, in pages of plain rows: (id, signal_type, value,
        note, disabled_until, import_id, paused_at), without labels (``entry_labels``). What
        a follower reads a 10M list whole with: no object per entry."""
        c = hash_entries.c
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            query = (
                select(
                    c.id,
                    c.signal_type,
                    func.coalesce(c.vpdq_features, c.value_key),
                    c.note,
                    c.disabled_until,
                    c.import_id,
                    c.paused_at,
                )
                .where(c.list_id == hash_list.id)
                .order_by(c.id)
            )
            # The driver's rows as they come (SQLAlchemy's per-row processing costs more
            # than SQLite's own work here); only the few times present are converted.
            compiled = query.compile(dialect=conn.dialect)
            times = c.disabled_until.type.dialect_impl(conn.dialect).result_processor(
                conn.dialect, None
            )
            raw: Any = conn.connection.dbapi_connection
            # PostgreSQL: a server-side cursor, or the driver would fetch all 10M rows at once.
            named = conn.dialect.name == "postgresql"
            cursor = raw.cursor(name="safelight_entry_pages") if named else raw.cursor()
            try:
                params = compiled.construct_params()
                if conn.dialect.paramstyle == "qmark":
                    cursor.execute(str(compiled), [params[k] for k in compiled.positiontup or ()])
                else:
                    cursor.execute(str(compiled), params)
                while page := cursor.fetchmany(page_rows):
                    rows = [tuple(row) for row in page]
                    yield rows if times is None else [_with_times(row, times) for row in rows]
            finally:
                cursor.close()

    def entry_labels(self, name: str) -> dict[int, frozenset[str]]:
        """The labels of a list's entries that have any, by entry id."""
        found: dict[int, set[str]] = {}
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            query = (
                select(hash_entry_labels.c.entry_id, hash_entry_labels.c.label)
                .select_from(hash_entry_labels.join(hash_entries))
                .where(hash_entries.c.list_id == hash_list.id)
            )
            for entry_id, label in conn.execute(query):
                found.setdefault(int(entry_id), set()).add(str(label))
        return {i: frozenset(labels) for i, labels in found.items()}

    def entry_states_by_ids(self, ids: Iterable[int]) -> dict[int, tuple[int, datetime | None]]:
        """id -> (list id, disabled_until) of the entries among ``ids`` that exist."""
        found: dict[int, tuple[int, datetime | None]] = {}
        with self.db.connect() as conn:
            for chunk in _chunks(sorted(set(ids))):
                query = select(
                    hash_entries.c.id, hash_entries.c.list_id, hash_entries.c.disabled_until
                ).where(hash_entries.c.id.in_(chunk))
                for entry_id, list_id, until in conn.execute(query):
                    found[int(entry_id)] = (int(list_id), until)
        return found

    def entry_changes(self, list_id: int, after: int, upto: int) -> ListChanges:
        """The entries of a list changed from generation ``after`` (exclusive) to ``upto``
        (inclusive), from the change log; ``complete`` False when the log cannot say (a bulk
        change, or rows pruned): the follower then reads the list whole."""
        with self.db.connect() as conn:
            return changes.read(conn, list_id, after, upto)

    def imports_since(self, name: str, after_id: int) -> builtins.list[ImportInfo]:
        """A list's imports with ids above ``after_id``, oldest first (what a follower of the
        list has not seen yet)."""
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            rows = conn.execute(
                select(hash_list_imports)
                .where(
                    hash_list_imports.c.list_id == hash_list.id,
                    hash_list_imports.c.id > after_id,
                )
                .order_by(hash_list_imports.c.id)
            )
            return [_import_info(row) for row in rows]

    def entry_notes(self, name: str) -> dict[int, str]:
        """The notes of a list's entries that have one (few do), by entry id."""
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            query = select(hash_entries.c.id, hash_entries.c.note).where(
                hash_entries.c.list_id == hash_list.id, hash_entries.c.note.is_not(None)
            )
            return {int(i): str(note) for i, note in conn.execute(query)}

    def entries_labelled_by(self, import_ids: Sequence[int]) -> builtins.list[int]:
        """Ids of the entries given a label by these imports (new or already present)."""
        found: set[int] = set()
        with self.db.connect() as conn:
            for chunk in _chunks(sorted(set(import_ids))):
                query = select(hash_entry_labels.c.entry_id).where(
                    hash_entry_labels.c.import_id.in_(chunk)
                )
                found.update(int(i) for i in conn.execute(query).scalars())
        return sorted(found)

    def find_entries(
        self,
        name: str,
        *,
        label: str | None = None,
        signal_type: str | None = None,
        value: str | None = None,
        prefix: str | None = None,
        disabled: bool | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> builtins.list[Entry]:
        """Entries of a list in id order, filtered (labels are queryable).

        ``value`` is one exact value; ``prefix`` the start of the hex value (the key, for
        vPDQ); ``disabled`` True/False keeps entries disabled / enabled now (the entry's
        own state; the list's flag is separate); ``after_id`` and ``limit`` page through.
        """
        conditions: builtins.list[Any] = []
        if value is not None:
            conditions.append(
                or_(
                    hash_entries.c.value_key == value.strip().lower(),
                    hash_entries.c.vpdq_features == value.strip(),
                )
            )
        if prefix is not None:
            conditions.append(hash_entries.c.value_key.startswith(_hex_prefix(prefix)))
        if disabled is not None:
            until, now = hash_entries.c.disabled_until, self.clock()
            conditions.append(until > now if disabled else or_(until.is_(None), until <= now))
        if after_id is not None:
            conditions.append(hash_entries.c.id > after_id)
        if limit is not None and limit < 0:
            raise UsageError(f"limit must be 0 or more, got {limit}")
        with self.db.connect() as conn:
            hash_list = self._get(conn, name)
            entries = self._iter_entries(
                conn,
                [hash_list],
                signal_type=signal_type,
                label=label,
                where=and_(true(), *conditions),
            )
            with closing(entries):
                return builtins.list(islice(entries, limit))

    # --- internals -----------------------------------------------------------------------

    def _find(self, conn: Connection, name: str) -> HashList | None:
        row = conn.execute(select(hash_lists).where(hash_lists.c.name == name)).first()
        return None if row is None else _hash_list(row)

    def _get(self, conn: Connection, name: str) -> HashList:
        found = self._find(conn, name)
        if found is None:
            raise ListNotFoundError([name], conn.execute(select(hash_lists.c.name)).scalars())
        return found

    def _lists(self, conn: Connection, names: Sequence[str] | None) -> builtins.list[HashList]:
        if names is None:
            return [_hash_list(row) for row in conn.execute(select(hash_lists))]
        return [self._get(conn, name) for name in names]

    def _bump(self, conn: Connection, list_id: int, entry_ids: Iterable[int] | None = None) -> int:
        """Move the list's generation on, logging the entries changed (None: a change of
        the list itself); returns the new generation (safelight.lists.changes)."""
        return changes.bump(conn, list_id, self.clock(), entries=entry_ids)

    def _check_entries(self, conn: Connection, hash_list: HashList, ids: Sequence[int]) -> None:
        present: set[int] = set()
        for chunk in _chunks(sorted(set(ids))):
            present.update(
                conn.execute(
                    select(hash_entries.c.id).where(
                        hash_entries.c.list_id == hash_list.id, hash_entries.c.id.in_(chunk)
                    )
                ).scalars()
            )
        missing = sorted(set(ids) - present)
        if missing:
            shown = ", ".join(str(i) for i in missing[:20])
            raise NotFoundError(f"list {hash_list.name!r} has no entries with ids {shown}")

    def _conditions(
        self,
        lists: Sequence[HashList] | None,
        signal_type: str | None = None,
        label: str | None = None,
        only_enabled: bool = False,
        where: Any = None,
    ) -> builtins.list[Any]:
        conditions: builtins.list[Any] = []
        if lists is not None:
            conditions.append(hash_entries.c.list_id.in_([hl.id for hl in lists]))
        if signal_type is not None:
            conditions.append(hash_entries.c.signal_type == _signal_type(signal_type))
        if label is not None:
            tagged = select(hash_entry_labels.c.entry_id).where(hash_entry_labels.c.label == label)
            conditions.append(hash_entries.c.id.in_(tagged))
        if only_enabled:
            enabled_lists = select(hash_lists.c.id).where(hash_lists.c.enabled.is_(True))
            conditions.append(hash_entries.c.list_id.in_(enabled_lists))
            conditions.append(
                or_(
                    hash_entries.c.disabled_until.is_(None),
                    hash_entries.c.disabled_until <= self.clock(),
                )
            )
        if where is not None:
            conditions.append(where)
        return conditions

    def _iter_entries(
        self,
        conn: Connection,
        lists: Sequence[HashList] | None,
        *,
        signal_type: str | None = None,
        label: str | None = None,
        only_enabled: bool = False,
        where: Any = None,
    ) -> Generator[Entry, None, None]:
        """Full entries in id order with their labels, streamed."""
        names = {hl.id: hl.name for hl in lists or self._lists(conn, None)}
        conditions = self._conditions(lists, signal_type, label, only_enabled, where)
        columns = (
            hash_entries.c.list_id,
            hash_entries.c.signal_type,
            hash_entries.c.value_key,
            hash_entries.c.vpdq_features,
            hash_entries.c.note,
            hash_entries.c.disabled_until,
            hash_entries.c.import_id,
            hash_entries.c.paused_at,
            hash_entries.c.paused_reason,
        )
        for row, labels in _grouped_rows(conn, columns, conditions):
            list_id, kind, key, features, note, disabled_until, import_id = row[1:8]
            yield Entry(
                id=row[0],
                list_name=names[list_id],
                signal_type=kind,
                value=features if features is not None else key,
                labels=labels,
                note=note,
                disabled_until=disabled_until,
                import_id=import_id,
                paused_at=row[8],
                paused_reason=row[9],
            )


def _grouped_rows(
    conn: Connection, columns: Sequence[Any], conditions: Sequence[Any]
) -> Iterator[tuple[Sequence[Any], frozenset[str]]]:
    """(entry id + columns, labels) per entry in id order: one outer join, streamed."""
    query = (
        select(hash_entries.c.id, *columns, hash_entry_labels.c.label)
        .select_from(
            hash_entries.outerjoin(
                hash_entry_labels, hash_entry_labels.c.entry_id == hash_entries.c.id
            )
        )
        .where(and_(true(), *conditions))
        .order_by(hash_entries.c.id)
    )
    rows = conn.execution_options(yield_per=_STREAM_ROWS).execute(query)
    current: Sequence[Any] | None = None
    labels: set[str] = set()
    try:
        for row in rows:
            if current is None or row[0] != current[0]:
                if current is not None:
                    yield current[:-1], frozenset(labels)
                current, labels = row, set()
            if row[-1] is not None:
                labels.add(row[-1])
        if current is not None:
            yield current[:-1], frozenset(labels)
    finally:
        # A consumer that stops early must not leave a server-side cursor open.
        rows.close()


def _with_times(row: tuple[Any, ...], convert: Callable[[Any], Any]) -> tuple[Any, ...]:
    """An ``entry_pages`` row with its two times (disabled_until, paused_at) as datetimes."""
    if row[4] is None and row[6] is None:
        return row
    until = None if row[4] is None else convert(row[4])
    paused = None if row[6] is None else convert(row[6])
    return (*row[:4], until, row[5], paused)


def _counts(conn: Connection, query: Any) -> dict[str, int]:
    """A two-column (name, number) query as a dict, in query order."""
    return {str(name): int(number) for name, number in conn.execute(query)}


def _import_info(row: Row[Any]) -> ImportInfo:
    m = row._mapping
    return ImportInfo(
        id=m["id"],
        source_path=m["source_path"],
        sha256=m["sha256"],
        format=m["format"],
        imported_at=m["imported_at"],
        imported_by=m["imported_by"],
        records=m["records"],
        added=m["added"],
        invalid=m["invalid"],
    )


def _check_flood(threshold: int | None, window_s: int | None) -> None:
    if threshold is not None and threshold < 0:
        raise UsageError(f"flood threshold must be 0 (off) or more, got {threshold}")
    if window_s is not None and window_s < 1:
        raise UsageError(f"flood window must be at least 1 second, got {window_s}")


def _hex_prefix(text: str) -> str:
    """A value prefix to search by: hex digits only (so no LIKE wildcard), lower-cased."""
    prefix = text.strip().lower()
    if not prefix or any(c not in "0123456789abcdef" for c in prefix):
        raise UsageError(f"search prefix {text!r}: expected hex digits (0-9, a-f)")
    return prefix


def _signal_type(name: str) -> str:
    """The canonical name of a signal type or alias; unknown: UsageError with the choices."""
    try:
        return registry.get(name).name
    except UnknownSignalTypeError as exc:
        raise UsageError(str(exc)) from None


def _location_name(path: str) -> str:
    """How problems name the input: its path, or ``<stdin>`` for '-'."""
    return "<stdin>" if path == "-" else path


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), _ID_CHUNK):
        yield values[start : start + _ID_CHUNK]


@contextmanager
def _open_source(path: str) -> Iterator[BinaryIO]:
    """A binary input by path, or stdin for '-'; a clear InputError when unreadable."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", code="unreadable") from None
    with handle:
        yield handle
