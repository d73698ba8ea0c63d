"""Tables of hotline classification: what analysts decided about an item, and its hashes.

The Alembic branch ``hotline_class`` (``migrations/versions/hotline_class_0001_tables.py``)
creates exactly these. Every table is append-only in use: a decision is never edited, a
later one is a new row (docs/hotline.md, "Classification").

- ``hotline_classifications``: one row per classification of an item (version 1, 2, ...),
  by whom and when; ``needs_confirmation`` records whether four eyes applied when it was made;
  ``source`` is ``analyst`` or ``known`` (pre-classified from a list entry, named).
- ``hotline_classification_reviews``: the second analyst's verdict on one classification
  (confirmed, or disagreed with a reason); at most one per classification.
- ``hotline_item_hashes``: hashes known for an item, with provenance (who, when, entered by
  hand or taken from a scan run's item).
- ``hotline_known_matches``: list entries an item's hashes matched that carry a
  classification (the item is known material: never shown again).
- ``hotline_bankings``: which item hash was banked into which list entry, by whom, from which
  classification (provenance from the list back to the report; makes banking idempotent).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from safelight.store.lists_tables import HexKey, SignalTypeName, UTCDateTime
from safelight.store.metadata import metadata

ACTOR = String(200)  # "user:NAME", "token:NAME" (the audit trail's names)
LIST_NAME = String(255)
ENTRY_ID = BigInteger().with_variant(Integer(), "sqlite")

hotline_classifications = Table(
    "hotline_classifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("illegality", String(20), nullable=False),
    Column("age_group", String(20)),
    Column("gender", String(10)),
    Column("site_type", String(30)),
    Column("commercial", Boolean),
    Column("notes", Text, nullable=False),
    Column("source", String(10), nullable=False),
    Column("known_list", LIST_NAME),
    Column("known_entry_id", ENTRY_ID),
    Column("needs_confirmation", Boolean, nullable=False),
    Column("classified_by", ACTOR, nullable=False),
    Column("classified_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", "version"),
)

hotline_classification_reviews = Table(
    "hotline_classification_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "classification_id",
        Integer,
        # Named by hand: the conventional name is longer than PostgreSQL's 63 characters.
        ForeignKey("hotline_classifications.id", name="fk_hotline_reviews_classification"),
        nullable=False,
        unique=True,
    ),
    Column("verdict", String(10), nullable=False),  # "confirmed" or "disagreed"
    Column("reason", Text),
    Column("reviewed_by", ACTOR, nullable=False),
    Column("reviewed_at", UTCDateTime, nullable=False),
)

hotline_item_hashes = Table(
    "hotline_item_hashes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False),
    Column("signal_type", SignalTypeName, nullable=False),
    # What matches (hex, or vPDQ's feature JSON) and what makes it unique (as in lists).
    Column("value", Text, nullable=False),
    Column("value_key", HexKey, nullable=False),
    Column("source", String(10), nullable=False),  # "analyst" or "scan"
    Column("scan_run_id", Integer),
    Column("scan_path", Text),  # the scan item's logical path
    Column("added_by", ACTOR, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", "signal_type", "value_key"),
    # Other items with the same hash (the same picture reported at another address).
    Index("ix_hotline_item_hashes_value", "signal_type", "value_key"),
)

hotline_known_matches = Table(
    "hotline_known_matches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False),
    Column("hash_id", Integer, ForeignKey("hotline_item_hashes.id"), nullable=False),
    Column("list_name", LIST_NAME, nullable=False),
    Column("entry_id", ENTRY_ID, nullable=False),
    Column("distance", Integer, nullable=False),
    Column("illegality", String(20), nullable=False),
    Column("found_at", UTCDateTime, nullable=False),
    UniqueConstraint("hash_id", "entry_id"),
    Index("ix_hotline_known_matches_item_id", "item_id"),
)

hotline_bankings = Table(
    "hotline_bankings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False),
    Column("hash_id", Integer, ForeignKey("hotline_item_hashes.id"), nullable=False),
    Column("list_name", LIST_NAME, nullable=False),
    Column("entry_id", ENTRY_ID, nullable=False),
    Column("classification_id", Integer, ForeignKey("hotline_classifications.id"), nullable=False),
    Column("banked_by", ACTOR, nullable=False),
    Column("banked_at", UTCDateTime, nullable=False),
    UniqueConstraint("hash_id", "list_name"),
    Index("ix_hotline_bankings_item_id", "item_id"),
)

__all__ = [
    "hotline_bankings",
    "hotline_classification_reviews",
    "hotline_classifications",
    "hotline_item_hashes",
    "hotline_known_matches",
]
