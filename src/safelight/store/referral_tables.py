"""Tables of the referrals domain: every referral built, what it contained, and its fate.

A referral row is written once when its package is built. ``mark_sent`` sets ``sent_at``
once; after that the row is never updated again (``safelight.referrals.records``). A later
referral that replaces it points to it with ``supersedes_id`` (unique: one successor each),
so superseding changes nothing in the referral it supersedes.
"""

from sqlalchemy import (
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

referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(36), nullable=False, unique=True),  # referral_id in referral.json
    Column("country", String(2), nullable=False),
    Column("recipient_role", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("sent_to", Text),
    Column("supersedes_id", Integer, ForeignKey("referrals.id"), unique=True),
    Column("reason", Text),
    # SHA-256 over the sorted item keys: the same items to the same country is a duplicate.
    Column("items_sha256", String(64), nullable=False),
    Column("manifest", Text, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("key_fingerprint", String(80), nullable=False),
    Column("package_path", Text, nullable=False),
    Column("sources", Text, nullable=False),  # JSON: each source's describe()
    Column("fields", Text, nullable=False),  # JSON: carried and withheld columns, with why
    Column("headline", Text, nullable=False),  # JSON
    Index("ix_referrals_country_items", "country", "items_sha256"),
)

referral_items = Table(
    "referral_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "referral_id",
        Integer,
        ForeignKey("referrals.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("item", Text, nullable=False),
)

__all__ = ["referral_items", "referrals"]
