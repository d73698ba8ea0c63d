"""Tables of the hash-list domain: lists ("banks"), their entries, labels and imports.

The Alembic branch ``lists`` (``migrations/versions/lists_0001_tables.py``) creates exactly
these tables; keep the two in step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from safelight.store.metadata import metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    SQLite has no time zone type and hands back naive values; PostgreSQL hands back the
    session's zone. Storing UTC and reading back UTC keeps comparisons (``disabled_until``
    against now) and round trips identical on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Safelight stores aware UTC times")
        value = value.astimezone(UTC)
        # SQLite compares the stored text: drop the offset so every row has one format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


# Hex keys need bytewise comparison, not a locale's collation rules: PostgreSQL's "C"
# collation sorts and indexes them with memcmp (SQLite compares bytewise already and knows
# no "C" collation).
HexKey = String(64).with_variant(String(64, collation="C"), "postgresql")
SignalTypeName = String(16).with_variant(String(16, collation="C"), "postgresql")

# Entry ids are the ids indexes hand back: int64, never reused (AUTOINCREMENT on SQLite, a
# sequence on PostgreSQL), so a stale index can never name a different, newer entry.
EntryId = BigInteger().with_variant(Integer(), "sqlite")

hash_lists = Table(
    "hash_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("terms_of_use", Text, nullable=False, default=""),
    Column("pdq_threshold", Integer, nullable=False),
    # The signal type of values imported without one (lists_0002); None: typed by length.
    Column("default_signal_type", SignalTypeName, nullable=True),
    Column("enabled", Boolean, nullable=False),
    # "block" (matches are hits) or "allow" (known false positives that suppress block
    # matches of the same query; lists_0003, docs/lists.md).
    Column("kind", String(8), nullable=False, default="block", server_default="block"),
    # Flood protection (lists_0003): pause an entry that matches more than this many distinct
    # queries within ``flood_window_s`` seconds; None: the default, 0: off.
    Column("flood_threshold", Integer, nullable=True),
    Column("flood_window_s", Integer, nullable=True),
    # Bumped on every change of content or enablement: indexes compare it to detect staleness.
    Column("generation", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("name"),
    CheckConstraint("pdq_threshold >= 0 AND pdq_threshold <= 63", name="pdq_threshold_range"),
    CheckConstraint("kind IN ('block', 'allow')", name="list_kind"),
)

hash_list_imports = Table(
    "hash_list_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("source_path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("format", String(16), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("imported_by", String(255), nullable=False),
    Column("records", BigInteger, nullable=False, default=0),
    Column("added", BigInteger, nullable=False, default=0),
    Column("invalid", BigInteger, nullable=False, default=0),
    Index("ix_hash_list_imports_list_id", "list_id"),
)

hash_entries = Table(
    "hash_entries",
    metadata,
    Column("id", EntryId, primary_key=True, autoincrement=True),
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("signal_type", SignalTypeName, nullable=False),
    # The normalised hex for pdq/md5/sha1/sha256; for vpdq the SHA-256 of the canonical
    # feature list (the features themselves are in vpdq_features). Always <= 64 chars, so
    # the uniqueness index stays small on both databases.
    Column("value_key", HexKey, nullable=False),
    Column("vpdq_features", Text, nullable=True),
    Column("note", Text, nullable=True),
    Column("disabled_until", UTCDateTime, nullable=True),
    # The import that created the entry: when, from which file (hash_list_imports). A
    # provenance pointer, not ownership, so no foreign key and no per-row check of it on
    # every imported row (a trigger per row on PostgreSQL). Imports go only with their list.
    Column("import_id", Integer, nullable=True),
    # Paused for review by flood protection (lists_0003): not served until resumed.
    Column("paused_at", UTCDateTime, nullable=True),
    Column("paused_reason", Text, nullable=True),
    UniqueConstraint("list_id", "signal_type", "value_key"),
    sqlite_autoincrement=True,
)

hash_entry_labels = Table(
    "hash_entry_labels",
    metadata,
    Column("entry_id", EntryId, ForeignKey("hash_entries.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(255), nullable=False),
    # Which import first attached this label (provenance of the taxonomy, not just the hash);
    # no foreign key, as for hash_entries.import_id.
    Column("import_id", Integer, nullable=True),
    PrimaryKeyConstraint("entry_id", "label"),
    Index("ix_hash_entry_labels_label", "label"),
    # SQLite: the primary key is the table's own B-tree, not a second index beside it.
    sqlite_with_rowid=False,
)

# The entry change log (lists_0004, safelight.lists.changes): a row per entry a change
# touched, written in the change's own transaction with the list's generation after it.
# A follower holding a list at generation g reads the rows of (g, G] and re-reads just
# those entries. ``op``: "entry" (re-read this entry; gone means deleted), "reload" (too
# many to name: read the list whole), "horizon" (rows up to here were pruned).
hash_entry_changes = Table(
    "hash_entry_changes",
    metadata,
    Column("seq", EntryId, primary_key=True, autoincrement=True),
    # No foreign keys: a row outlives its entry (that is the point), and a list's rows are
    # deleted with the list by the library.
    Column("list_id", Integer, nullable=False),
    Column("generation", BigInteger, nullable=False),
    Column("entry_id", EntryId, nullable=True),
    Column("op", String(8), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Index("ix_hash_entry_changes_list_generation", "list_id", "generation"),
    CheckConstraint("op IN ('entry', 'reload', 'horizon')", name="entry_change_op"),
)

# Flood protection's counters: one row per (entry, window, distinct query), so the count of
# distinct queries an entry matched in a window is a COUNT over its rows, shared by every
# process and worker; a repeated query is one row (insert-or-ignore).
flood_sightings = Table(
    "flood_sightings",
    metadata,
    Column("entry_id", EntryId, ForeignKey("hash_entries.id", ondelete="CASCADE"), nullable=False),
    # Start of the fixed window, in seconds since the epoch.
    Column("window_start", BigInteger, nullable=False),
    # First 32 hex of the SHA-256 of the query (safelight.match.flood.query_key).
    Column("query_key", String(32), nullable=False),
    PrimaryKeyConstraint("entry_id", "window_start", "query_key"),
    sqlite_with_rowid=False,
)

# Actions on match: webhook endpoints per list, and their deliveries (docs/webhooks.md).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_id", Integer, ForeignKey("hash_lists.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    # The signing key: it must be readable to sign, so it is stored as is (keep the store's
    # credentials as private as the key) and never printed after ``webhooks add``.
    Column("secret", String(128), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhook_endpoints_list_id", "list_id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "endpoint_id",
        Integer,
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("body", Text, nullable=False),
    # pending -> delivered | failed (after the last retry); replay sets pending again.
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

__all__ = [
    "flood_sightings",
    "hash_entry_changes",
    "webhook_deliveries",
    "webhook_endpoints",
    "HexKey",
    "SignalTypeName",
    "UTCDateTime",
    "hash_entries",
    "hash_entry_labels",
    "hash_list_imports",
    "hash_lists",
]
