"""Tables of CyberTipline reports (the ``cybertip`` Alembic branch).

``cybertip_reports``: one row per drafted report, its status and NCMEC's ids and receipt.
``cybertip_items``: the items (files by digest, network leads) a report claims, so the same
items are never reported twice. ``cybertip_steps``: every API call made for a report, with
its outcome, so a failure is always visible and explained.
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

cybertip_reports = Table(
    "cybertip_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("origin", Text, nullable=False),  # "scan 3", "case demo lead 1"
    Column("report", Text, nullable=False),  # the <report> model as JSON (aliases)
    Column("files", Text, nullable=False),  # JSON list of drafted files (source, details)
    Column("remote_id", BigInteger),  # NCMEC's reportId of the latest attempt
    Column("reason", Text),  # why it failed, in words
    Column("attempts", Integer, nullable=False, default=0),
    Column("receipt", Text),  # the /finish reportDoneResponse, kept as received
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Index("ix_cybertip_reports_status", "status"),
)

cybertip_items = Table(
    "cybertip_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "report_id",
        Integer,
        ForeignKey("cybertip_reports.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("item_key", String(200), nullable=False),
    UniqueConstraint("report_id", "item_key", name="uq_cybertip_items_report_item"),
    Index("ix_cybertip_items_item_key", "item_key"),
)

cybertip_steps = Table(
    "cybertip_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "report_id",
        Integer,
        ForeignKey("cybertip_reports.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempt", Integer, nullable=False),  # the submission attempt (1, 2 after a retry)
    Column("step", String(16), nullable=False),  # submit, upload, fileinfo, finish, retract
    Column("try_number", Integer, nullable=False),  # the HTTP try within the step (backoff)
    Column("outcome", String(16), nullable=False),  # ok, transient, failed
    Column("http_status", Integer),
    Column("response_code", Integer),
    Column("description", Text),
    Column("remote_id", BigInteger),
    Column("file_index", Integer),
    Column("file_id", String(64)),
    Column("request_id", String(200)),  # the Request-ID header NCMEC asks for
    Column("at", UTCDateTime, nullable=False),
    Index("ix_cybertip_steps_report", "report_id"),
)
