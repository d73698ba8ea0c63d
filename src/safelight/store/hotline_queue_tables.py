"""Tables of the analyst queue: every attempt to locate a reported host (and the indexes
the queue's orders use on ``hotline_items``).

The Alembic branch ``hotline_queue`` (``migrations/versions/hotline_queue_0001_resolutions.py``)
creates exactly these. ``hotline_items`` keeps the latest successful answer (``hosting_ip``,
``hosting_country``, ...); this table keeps every attempt, failures included, with all the
addresses a host had: hosts move, and where something was hosted when it was reported is
what a referral needs.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from safelight.store.hotline_tables import hotline_items
from safelight.store.metadata import metadata

# The queue's default order (oldest first) and its "last reported" order read these, so a
# page is an index walk rather than a sort of every item.
Index("ix_hotline_items_reported_at", hotline_items.c.reported_at)
Index("ix_hotline_items_last_reported_at", hotline_items.c.last_reported_at)

hotline_resolutions = Table(
    "hotline_resolutions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("hotline_items.id"), nullable=False, index=True),
    Column("host", String(255), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20), nullable=False),  # resolver.Outcome
    Column("addresses", Text, nullable=False),  # JSON list of {ip, country, asn, network}
    Column("country", String(2)),  # of the first address, as stored on the item
    Column("asn", BigInteger),  # AS numbers are 32-bit unsigned
    Column("network", String(255)),
    Column("message", Text, nullable=False),
    Column("source", String(255), nullable=False),  # the geolocation database that answered
    Column("actor", String(200), nullable=False),
)

__all__ = ["hotline_resolutions"]
