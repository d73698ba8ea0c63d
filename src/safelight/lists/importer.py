"""Importing a stream of parsed records into one list, inside one transaction.

Records stream into connection-private staging tables (executemany, batch by batch), then a
few set-based statements merge them into the list: ``INSERT ... SELECT ... ORDER BY ...
ON CONFLICT DO NOTHING`` on (list, type, value). Merging in key order turns a million
random B-tree inserts into one sorted pass, which is what makes a 1M-line import take
seconds (docs/performance.md). Re-importing adds nothing twice and an entry keeps its id
(the id indexes use); labels are merged into the entry's set; a note or ``disabled_until``
given by the file replaces the stored one (the last one in the file wins). The caller's
transaction makes the import all or nothing, even under kill -9.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Insert,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from safelight.constants import (
    LIST_CHANGE_LOG_MAX_ROWS,
    LIST_IMPORT_BATCH_ROWS,
    LIST_IMPORT_WORK_MEM,
    LIST_MAX_REPORTED_PROBLEMS,
)
from safelight.errors import ValidationError
from safelight.lists import changes
from safelight.lists.models import ImportReport, Problem, Record
from safelight.store.lists_tables import (
    HexKey,
    SignalTypeName,
    UTCDateTime,
    hash_entries,
    hash_entry_labels,
    hash_list_imports,
)

ProblemSink = Callable[[Problem], None]

# Staging tables live in their own MetaData: temporary, per connection, never migrated.
# Most records are a bare (type, value); the few with features, a note or a disable time
# go to a second table, so the common row binds 2 values rather than 6.
_staging_metadata = MetaData()
staged_entries = Table(
    "safelight_staged_entries",
    _staging_metadata,
    Column("signal_type", SignalTypeName, nullable=False),
    Column("value_key", HexKey, nullable=False),
    prefixes=["TEMPORARY"],
)
staged_details = Table(
    "safelight_staged_details",
    _staging_metadata,
    Column("seq", BigInteger, nullable=False),
    Column("signal_type", SignalTypeName, nullable=False),
    Column("value_key", HexKey, nullable=False),
    Column("vpdq_features", Text),
    Column("note", Text),
    Column("disabled_until", UTCDateTime),
    prefixes=["TEMPORARY"],
)
staged_labels = Table(
    "safelight_staged_labels",
    _staging_metadata,
    Column("signal_type", SignalTypeName, nullable=False),
    Column("value_key", HexKey, nullable=False),
    Column("label", String(255), nullable=False),
    prefixes=["TEMPORARY"],
)
_STAGED = (staged_entries, staged_details, staged_labels)

# The staged keys copied in (type, value) order, numbered by ``pos``: joins that walk them
# by ``pos`` probe the list's unique index in order and append to the label table, where
# probing in file order means a random B-tree access per row.
Position = BigInteger().with_variant(Integer(), "sqlite")
sorted_entries = Table(
    "safelight_sorted_entries",
    _staging_metadata,
    Column("pos", Position, primary_key=True, autoincrement=True),
    Column("signal_type", SignalTypeName, nullable=False),
    Column("value_key", HexKey, nullable=False),
    prefixes=["TEMPORARY"],
)
sorted_labels = Table(
    "safelight_sorted_labels",
    _staging_metadata,
    Column("pos", Position, primary_key=True, autoincrement=True),
    Column("signal_type", SignalTypeName, nullable=False),
    Column("value_key", HexKey, nullable=False),
    Column("label", String(255), nullable=False),
    prefixes=["TEMPORARY"],
)


def insert_ignoring_conflicts(conn: Connection, table: Table, unique: list[str]) -> Insert:
    """INSERT ... ON CONFLICT (unique) DO NOTHING on SQLite and PostgreSQL alike."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=unique)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=unique)


def bulk_insert(conn: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    """Append rows (driver-ready values, all columns) to a table as fast as the driver allows.

    PostgreSQL: COPY. SQLite: the driver's executemany, skipping SQLAlchemy's per-row
    parameter handling, which costs more than SQLite's own work here.
    """
    names = ", ".join(column.name for column in table.columns)
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join("?" for _ in table.columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)


class Stager:
    """Buffers records and appends them to the staging tables a batch at a time."""

    def __init__(self, conn: Connection, file_labels: frozenset[str] = frozenset()) -> None:
        self.conn = conn
        # Labels every record of the file carries (--label) are not staged row by row:
        # the merge attaches them to all staged entries in one statement each.
        self.file_labels = file_labels
        self.rows = 0
        self.has_features = self.has_notes = self.has_disabled = self.has_labels = False
        self._buffers: dict[Table, list[tuple[Any, ...]]] = {table: [] for table in _STAGED}
        # psycopg's COPY adapts datetimes itself; SQLite gets the text SQLAlchemy would write.
        column_type = staged_details.c.disabled_until.type
        self._time_to_db = (
            None if conn.dialect.name == "postgresql" else column_type.bind_processor(conn.dialect)
        )
        for table in _STAGED:
            table.create(conn)

    def add(self, record: Record) -> None:
        self.rows += 1
        kind, value, key, labels, note, disabled_until = record
        entries = self._buffers[staged_entries]
        entries.append((kind, key))
        if kind == "vpdq" or note is not None or disabled_until is not None:
            self.has_features = self.has_features or kind == "vpdq"
            self.has_notes = self.has_notes or note is not None
            if disabled_until is not None:
                self.has_disabled = True
                if self._time_to_db is not None:
                    disabled_until = self._time_to_db(disabled_until)
            features = value if kind == "vpdq" else None
            self._buffers[staged_details].append(
                (self.rows, kind, key, features, note, disabled_until)
            )
        if labels and labels is not self.file_labels:
            own = labels - self.file_labels
            if own:
                self.has_labels = True
                self._buffers[staged_labels].extend((kind, key, label) for label in own)
        if len(entries) >= LIST_IMPORT_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        for table, rows in self._buffers.items():
            if rows:
                bulk_insert(self.conn, table, rows)
                rows.clear()

    def drop(self) -> None:
        for table in reversed(_STAGED):
            table.drop(self.conn)
        if self.file_labels:
            sorted_entries.drop(self.conn)
        if self.has_labels:
            sorted_labels.drop(self.conn)


def _same_entry(list_id: int, staged: Table) -> Any:
    return and_(
        hash_entries.c.list_id == list_id,
        hash_entries.c.signal_type == staged.c.signal_type,
        hash_entries.c.value_key == staged.c.value_key,
    )


def _sort_into(conn: Connection, target: Table, source: Table, columns: list[str]) -> Table:
    """Copy a staging table into ``target`` in key order (``pos`` numbers that order)."""
    target.create(conn)
    ordered = [source.c[name] for name in columns]
    conn.execute(target.insert().from_select(columns, select(*ordered).order_by(*ordered)))
    return target


def _merge_into_list(conn: Connection, stager: Stager, list_id: int, import_id: int) -> int:
    """Set-based merge of the staged records into the list; returns the entries added."""
    if stager.file_labels:
        # Walked twice (entries, then labels): sort once into a numbered table.
        s = _sort_into(conn, sorted_entries, staged_entries, ["signal_type", "value_key"])
        order = [s.c.pos]
    else:
        # Walked once: let the INSERT sort.
        s = staged_entries
        order = [s.c.signal_type, s.c.value_key]
    inserted = conn.execute(
        insert_ignoring_conflicts(
            conn, hash_entries, ["list_id", "signal_type", "value_key"]
        ).from_select(
            ["list_id", "signal_type", "value_key", "import_id"],
            select(literal(list_id), s.c.signal_type, s.c.value_key, literal(import_id))
            # WHERE true: SQLite needs it to parse INSERT ... SELECT ... ON CONFLICT.
            .where(true())
            .order_by(*order),
        ),
        # SQLAlchemy keeps rowcount of an INSERT only when asked to.
        execution_options={"preserve_rowcount": True},
    )
    # Rows inserted; those that met an existing entry (ON CONFLICT DO NOTHING) not counted.
    added = inserted.rowcount
    insert_label = insert_ignoring_conflicts(conn, hash_entry_labels, ["entry_id", "label"])
    for label in sorted(stager.file_labels):
        conn.execute(
            insert_label.from_select(
                ["entry_id", "label", "import_id"],
                select(hash_entries.c.id, literal(label), literal(import_id))
                .select_from(s.join(hash_entries, _same_entry(list_id, s)))
                .where(true())
                .order_by(s.c.pos),
            )
        )
    if stager.has_labels:
        sl = _sort_into(conn, sorted_labels, staged_labels, ["signal_type", "value_key", "label"])
        conn.execute(
            insert_label.from_select(
                ["entry_id", "label", "import_id"],
                select(hash_entries.c.id, sl.c.label, literal(import_id))
                .select_from(sl.join(hash_entries, _same_entry(list_id, sl)))
                .where(true())
                .order_by(sl.c.pos),
            )
        )
    d = staged_details
    if stager.has_features:
        # Same key, same features (the key is their SHA-256): fill only new entries.
        conn.execute(
            update(hash_entries)
            .where(
                _same_entry(list_id, d),
                d.c.vpdq_features.is_not(None),
                hash_entries.c.vpdq_features.is_(None),
            )
            .values(vpdq_features=d.c.vpdq_features)
        )
    for column, present in (("note", stager.has_notes), ("disabled_until", stager.has_disabled)):
        if not present:
            continue
        # The last record of each entry that gives this field decides it.
        last = (
            select(func.max(d.c.seq))
            .where(d.c[column].is_not(None))
            .group_by(d.c.signal_type, d.c.value_key)
        )
        conn.execute(
            update(hash_entries)
            .where(_same_entry(list_id, d), d.c.seq.in_(last))
            .values({column: d.c[column]})
        )
    return added


def _log_changes(conn: Connection, stager: Stager, list_id: int, now: datetime) -> int:
    """Bump the list, logging every entry a staged record met (new, or given labels, a
    note or a disable time), or one "reload" row past the log's limit."""
    if stager.rows > LIST_CHANGE_LOG_MAX_ROWS:
        return changes.bump(conn, list_id, now, reload=True)
    s = staged_entries
    touched = (
        select(hash_entries.c.id)
        .select_from(s.join(hash_entries, _same_entry(list_id, s)))
        .distinct()
    )
    return changes.bump(conn, list_id, now, entries=touched)


def count_labels_added(conn: Connection, import_id: int) -> int:
    """Labels this import attached (a label already on an entry keeps its first import)."""
    query = (
        select(func.count())
        .select_from(hash_entry_labels)
        .where(hash_entry_labels.c.import_id == import_id)
    )
    return int(conn.execute(query).scalar_one())


def run_import(
    conn: Connection,
    list_id: int,
    items: Iterable[Record | Problem],
    report: ImportReport,
    *,
    now: datetime,
    skip_invalid: bool,
    on_problem: ProblemSink | None,
    finish_source: Callable[[], str],
    file_labels: frozenset[str] = frozenset(),
) -> None:
    """Stage valid records, count and collect problems, merge, record provenance, then
    move the list's generation on (``report.generation``), logging the entries touched.

    Raises ValidationError (so the caller's transaction rolls back) when a record is
    invalid and ``skip_invalid`` is off; records after the first problem are then only
    checked, not staged.
    """
    inserted = conn.execute(
        hash_list_imports.insert().values(
            list_id=list_id,
            source_path=report.source_path,
            sha256="",
            format=report.format,
            imported_at=now,
            imported_by=report.imported_by,
            records=0,
            added=0,
            invalid=0,
        )
    ).inserted_primary_key
    assert inserted is not None
    import_id = int(inserted[0])
    if conn.dialect.name == "postgresql":
        # Sort the staged keys in memory rather than in temp files (this transaction only).
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{LIST_IMPORT_WORK_MEM}'")
    stager = Stager(conn, file_labels)
    for item in items:
        if isinstance(item, Problem):
            report.invalid += 1
            if len(report.problems) < LIST_MAX_REPORTED_PROBLEMS:
                report.problems.append(item)
            if on_problem is not None:
                on_problem(item)
            continue
        report.records += 1
        if skip_invalid or not report.invalid:
            stager.add(item)
    report.sha256 = finish_source()
    if report.invalid and not skip_invalid:
        raise _validation_error(report)
    stager.flush()
    report.added = _merge_into_list(conn, stager, list_id, import_id)
    report.generation = _log_changes(conn, stager, list_id, now)
    stager.drop()
    report.import_id = import_id
    report.imported_at = now
    report.already_present = report.records - report.added
    if stager.has_labels or stager.file_labels:
        report.labels_added = count_labels_added(conn, import_id)
    conn.execute(
        hash_list_imports.update()
        .where(hash_list_imports.c.id == import_id)
        .values(
            sha256=report.sha256,
            records=report.records,
            added=report.added,
            invalid=report.invalid,
        )
    )


def _validation_error(report: ImportReport) -> ValidationError:
    problems: list[tuple[str, str]] = [(p.location, p.reason) for p in report.problems]
    hidden = report.invalid - len(problems)
    if hidden:
        problems.append(("...", f"{hidden} more invalid records not listed"))
    plural = "record" if report.invalid == 1 else "records"
    message = (
        f"{report.invalid} invalid {plural} in {report.source_path}; nothing was imported "
        f"({report.records} valid)"
    )
    codes = frozenset(p.code for p in report.problems)
    return ValidationError(message, problems, codes=codes)
