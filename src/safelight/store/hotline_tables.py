"""Tables of the hotline domain: public reports, the URLs they name, and who named them.

The Alembic branch ``hotline`` (``migrations/versions/hotline_0001_tables.py``) creates
exactly these. Design (see docs/hotline.md):

- ``hotline_reports``: one per submission, with its public ``reference``. A report never
  holds material, only what the reporter typed.
- ``hotline_items``: one per distinct open URL. The per-URL timestamps are the ones hotlines
  measure notice-and-takedown with (reported, assessed, law enforcement notified, hosting
  provider notified, removed) plus ``notice_count``; analyst fields (classification,
  hosting country and network, assignee) are columns here; the workspace's own records
  (classification history, timeline, partners, captures) have tables of their own.
- ``hotline_item_reports``: every report that named an item. A URL reported again while its
  item is open links the new report to the earlier item (merged, not duplicated).
- ``hotline_contacts``: the optional contact, kept apart from the report (personal data),
  encrypted when a key is set, and deleted at ``delete_after`` (retention).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from safelight.store.metadata import metadata

UTC_TIME = DateTime(timezone=True)

hotline_reports = Table(
    "hotline_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(10), nullable=False, unique=True),
    Column("created_at", UTC_TIME, nullable=False),
    Column("updated_at", UTC_TIME, nullable=False),
    Column("status", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("site_type", String(30)),
    Column("language", String(10), nullable=False),
    Column("channel", String(10), nullable=False),  # "web" form or "api"
)

hotline_items = Table(
    "hotline_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "report_id", Integer, ForeignKey("hotline_reports.id"), nullable=False, index=True
    ),  # the first report that named it
    Column("url", Text, nullable=False),  # as normalised (punycode host)
    Column("url_key", String(64), nullable=False),  # SHA-256 of the normalised URL
    Column("host", String(255), nullable=False),
    Column("host_is_ip", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("times_reported", Integer, nullable=False),
    Column("reported_at", UTC_TIME, nullable=False),
    Column("last_reported_at", UTC_TIME, nullable=False),
    Column("assessed_at", UTC_TIME),
    Column("le_notified_at", UTC_TIME),
    Column("hp_notified_at", UTC_TIME),
    Column("removed_at", UTC_TIME),
    Column("notice_count", Integer, nullable=False),
    # For the analyst workspace (filled by it; empty at intake).
    Column("hosting_country", String(2)),
    Column("classification", String(30)),
    Column("assignee", String(150)),
    # Where the resolver found the host (migration hotline_0002), and when it was claimed.
    Column("hosting_ip", String(45)),
    Column("hosting_asn", BigInteger),  # AS numbers are 32-bit unsigned
    Column("hosting_network", String(255)),
    Column("resolved_at", UTC_TIME),
    Column("claimed_at", UTC_TIME),
    Index("ix_hotline_items_url_key", "url_key"),
    Index("ix_hotline_items_status", "status"),
    Index("ix_hotline_items_host", "host"),
    Index("ix_hotline_items_hosting_country", "hosting_country"),
    Index("ix_hotline_items_assignee", "assignee"),
)

hotline_item_reports = Table(
    "hotline_item_reports",
    metadata,
    Column("item_id", Integer, ForeignKey("hotline_items.id"), primary_key=True),
    Column("report_id", Integer, ForeignKey("hotline_reports.id"), primary_key=True),
    Column("reported_at", UTC_TIME, nullable=False),
    Column("submitted_url", Text, nullable=False),  # what the reporter typed
)

hotline_contacts = Table(
    "hotline_contacts",
    metadata,
    Column(
        "report_id",
        Integer,
        ForeignKey("hotline_reports.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("contact", Text, nullable=False),  # "fernet:<token>" when encrypted
    Column("created_at", UTC_TIME, nullable=False),
    Column("delete_after", UTC_TIME, nullable=False, index=True),
)

__all__ = ["hotline_contacts", "hotline_item_reports", "hotline_items", "hotline_reports"]
