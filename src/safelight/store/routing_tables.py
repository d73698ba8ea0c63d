"""Tables of hotline routing and takedown: the partners directory and each item's events.

The Alembic branch ``hotline_routing`` (``migrations/versions/hotline_routing_0001_tables.py``)
creates exactly these. Design (docs/hotline.md, "Routing and takedown"):

- ``hotline_partners``: hotlines and law-enforcement contacts, one row each, per country.
  A partner is never deleted (referrals name it): it is made inactive instead.
- ``hotline_item_events``: the takedown steps an analyst records on an item (referred, host
  notified, re-checked still online, removed), each with when it happened (``occurred_at``,
  as the analyst states it), when it was recorded and by whom; and each referral package
  sent that carried the item (``referral_id``; migration ``hotline_routing_0002``).
  "Reported" and "assessed" are read from the intake and classification columns of
  ``hotline_items`` instead of being copied here.
"""

from sqlalchemy import (
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

hotline_partners = Table(
    "hotline_partners",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country", String(2), nullable=False),  # ISO 3166-1 alpha-2
    Column("kind", String(20), nullable=False),  # "hotline" or "law_enforcement"
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False, unique=True),  # case-folded: one per name
    Column("contact", String(2048), nullable=False),  # e-mail address or http(s) URL
    Column("notes", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTC_TIME, nullable=False),
    Column("updated_at", UTC_TIME, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Index("ix_hotline_partners_country", "country"),
)

hotline_item_events = Table(
    "hotline_item_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False),
    Column("event", String(30), nullable=False),
    Column("occurred_at", UTC_TIME, nullable=False),
    Column("recorded_at", UTC_TIME, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("partner_id", Integer, ForeignKey("hotline_partners.id")),  # referrals only
    Column("reason", String(40)),  # the routing rule that chose the partner
    Column("notice", Integer),  # host notices: 1 for the first, 2 for the next ...
    Column("referral_id", Integer, ForeignKey("referrals.id")),  # packages sent only
    Column("note", Text, nullable=False),
    Index("ix_hotline_item_events_item", "item_id", "occurred_at"),
)

__all__ = ["hotline_item_events", "hotline_partners"]
