"""Tables of the scan domain: one row per run, one row per scanned item.

Item rows are unique per (run, path_key), where ``path_key`` is the SHA-256 of the logical
path: a resumed run can never record an item twice, and the key stays a fixed width however
deep the archive path. Matches are kept as JSON on the item row (usually empty).
"""

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from safelight.store.lists_tables import UTCDateTime
from safelight.store.metadata import metadata

scan_runs = Table(
    "scan_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("sources", Text, nullable=False),  # JSON list
    Column("lists", Text, nullable=False),  # JSON list of {name, path, generation}
    Column("options", Text, nullable=False),  # JSON object: limits, batch sizes
    # Aware UTC on both databases (SQLite hands back naive values from a plain DateTime).
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("items", BigInteger, nullable=False, default=0),
    Column("bytes", BigInteger, nullable=False, default=0),
    Column("matched_items", BigInteger, nullable=False, default=0),
    Column("errors", BigInteger, nullable=False, default=0),
)

scan_items = Table(
    "scan_items",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("run_id", Integer, ForeignKey("scan_runs.id", ondelete="CASCADE"), nullable=False),
    Column("path_key", String(64), nullable=False),
    Column("logical_path", Text, nullable=False),
    Column("size", BigInteger),
    Column("md5", String(32)),
    Column("sha1", String(40)),
    Column("sha256", String(64)),
    Column("media", String(16)),
    Column("format", String(16)),
    Column("pdq", String(64)),
    Column("quality", Integer),
    Column("vpdq", Text),  # JSON list of vPDQ features {frame, timestamp, pdq, quality}
    Column("match_count", Integer, nullable=False, default=0),
    Column("matches", Text),  # JSON list, NULL when there are none
    Column("error_code", String(32)),
    Column("error_message", Text),
    Column("flags", Text),  # comma-separated flags (docs/scan.md), NULL when there are none
    # The item's hash record as JSON (HashRecord.to_dict less the path; scans_0003). The
    # columns above repeat its main fields for queries; rows written before it have none.
    Column("record", Text),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("run_id", "path_key", name="uq_scan_items_run_path"),
    Index("ix_scan_items_run_matched", "run_id", "match_count"),
)
