"""Tables of the HMA-compatible API (the ``hma`` branch, ``hma_0001_tables.py``).

HMA banks are Safelight lists and HMA content items are entries; these tables hold only
what HMA has and lists do not: a bank's ``matching_enabled_ratio`` and, per entry, the
content item it belongs to (several signals posted together are one item) with the item's
HMA metadata. Rows go with their list or entry (ON DELETE CASCADE).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, Integer, Table, Text

from safelight.store.lists_tables import EntryId
from safelight.store.metadata import metadata

hma_banks = Table(
    "hma_banks",
    metadata,
    Column(
        "list_id",
        Integer,
        ForeignKey("hash_lists.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("matching_enabled_ratio", Float, nullable=False),
)

hma_entries = Table(
    "hma_entries",
    metadata,
    Column(
        "entry_id",
        EntryId,
        ForeignKey("hash_entries.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    # The content item: the lowest entry id of the signals posted together.
    Column("content_id", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    # HMA user metadata (JSON object: content_id, content_uri, json), on the item's first row.
    Column("metadata", Text, nullable=True),
    Index("ix_hma_entries_content_id", "content_id"),
)

__all__ = ["hma_banks", "hma_entries"]
