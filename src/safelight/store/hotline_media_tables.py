"""Tables of hotline captures and reviewer wellness (Alembic branch ``hotline_media``).

``migrations/versions/hotline_media_0001_tables.py`` creates exactly these (docs/wellness.md):

- ``hotline_captures``: a screenshot or screen recording an analyst attached to an item,
  only where the organisation opted in. ``sealed`` is the original and ``poster`` a reduced
  still to render blurred previews from, both Fernet-sealed: no column holds media in clear.
  The hashes recorded at ingest (SHA-256, MD5, PDQ or vPDQ) stay when the bytes go, with
  the rest of the row, until ``delete_after`` (retention).
- ``hotline_viewings``: one per reveal: who saw which capture from ``opened_at`` until
  ``closed_at`` (blur again, the next reveal) or at the latest ``ends_at`` (the cap). Viewing
  time is summed from these; they outlive the capture (``capture_id`` then NULL).
- ``hotline_wellness``: one viewer's own settings; NULL means the organisation's default.
  ``viewer`` is the audit trail's actor name (``user:alice``).
"""

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from safelight.store.lists_tables import UTCDateTime
from safelight.store.metadata import metadata

UTC_TIME = UTCDateTime()  # aware UTC on SQLite too: viewing times are compared and summed

hotline_captures = Table(
    "hotline_captures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # "image" or "video"
    Column("format", String(20), nullable=False),  # as sniffed: png, jpeg, webp, mp4, matroska
    Column("size", Integer, nullable=False),  # bytes of the original
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("duration_seconds", Float),  # videos
    Column("sha256", String(64), nullable=False),
    Column("md5", String(32), nullable=False),
    Column("pdq", String(64)),  # images
    Column("pdq_quality", Integer),
    Column("vpdq", Text),  # videos: the vPDQ value as lists store it
    Column("note", Text, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("poster", LargeBinary, nullable=False),
    Column("created_at", UTC_TIME, nullable=False),
    Column("created_by", String(160), nullable=False),
    Column("delete_after", UTC_TIME, nullable=False, index=True),
    UniqueConstraint("item_id", "sha256", name="uq_hotline_captures_item_sha256"),
)

hotline_viewings = Table(
    "hotline_viewings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("viewer", String(160), nullable=False),
    Column(
        "capture_id", Integer, ForeignKey("hotline_captures.id", ondelete="SET NULL")
    ),  # NULL once the capture is deleted (retention); the time still counts
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False),
    Column("opened_at", UTC_TIME, nullable=False),
    Column("ends_at", UTC_TIME, nullable=False),  # the cap
    Column("closed_at", UTC_TIME),
    Column("closed_by", String(20)),  # "blur", "next_reveal"; NULL: open or capped
    Index("ix_hotline_viewings_viewer_opened", "viewer", "opened_at"),
)

hotline_wellness = Table(
    "hotline_wellness",
    metadata,
    Column("viewer", String(160), primary_key=True),
    Column("blur_percent", Integer),
    Column("greyscale", Boolean),
    Column("daily_limit_minutes", Integer),  # the viewer's own (only below the ceiling)
    Column("admin_limit_minutes", Integer),  # set by an admin: the ceiling for this viewer
    Column("break_after_minutes", Integer),
    Column("break_minutes", Integer),
    Column("time_zone", String(64)),
    Column("updated_at", UTC_TIME, nullable=False),
    Column("updated_by", String(160), nullable=False),
)

__all__ = ["hotline_captures", "hotline_viewings", "hotline_wellness"]
