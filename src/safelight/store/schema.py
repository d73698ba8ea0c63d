"""Every table Safelight stores, gathered on one MetaData (used by Alembic and by tests)."""

from sqlalchemy import Column, DateTime, String, Table, Text

from safelight.referrals.cybertipline import tables as _cybertip  # noqa: F401  (registers)
from safelight.store import (
    hma_tables,  # noqa: F401  (HMA bank ratios and content items)
    hotline_class_tables,  # noqa: F401  (hotline classifications, item hashes, bankings)
    hotline_media_tables,  # noqa: F401  (captures, viewing time, wellness settings)
    hotline_queue_tables,  # noqa: F401  (where reported hosts resolved)
    hotline_tables,  # noqa: F401  (public reports and their URLs)
    lists_tables,  # noqa: F401  (registers the lists domain tables)
    service_tables,  # noqa: F401  (accounts and the audit log)
)
from safelight.store.metadata import metadata
from safelight.store.network_tables import network_cases, network_ingests
from safelight.store.referral_tables import referral_items, referrals
from safelight.store.scan_tables import scan_items, scan_runs

# Facts about the store itself (its id, when it was created).
store_info = Table(
    "store_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

__all__ = [
    "metadata",
    "network_cases",
    "network_ingests",
    "referral_items",
    "referrals",
    "scan_items",
    "scan_runs",
    "store_info",
]
