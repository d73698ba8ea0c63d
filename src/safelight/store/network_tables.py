"""Tables of the network domain: cases and the bookkeeping of their ingests.

Sightings themselves live in columnar Parquet parts beside the store (one folder per case,
see ``safelight.network.sightings``): ten million rows of logs are cheap to scan as columns
and expensive as rows. The database holds what must be transactional: which cases exist,
which lists they are matched against, and which file contents were ingested into which part.
A part that is not registered here is never read, so a kill mid-ingest leaves no half data.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from safelight.store.metadata import metadata

network_cases = Table(
    "network_cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    # JSON list of hash-list names the case is matched against; empty means every enabled list.
    Column("lists", Text, nullable=False, default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

network_ingests = Table(
    "network_ingests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("network_cases.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the file's bytes: the same content ingested twice is one ingest.
    Column("content_sha256", String(64), nullable=False),
    Column("source_path", Text, nullable=False),
    Column("part_name", String(200), nullable=False),
    Column("rows_total", BigInteger, nullable=False),
    Column("rows_good", BigInteger, nullable=False),
    Column("rows_bad", BigInteger, nullable=False),
    Column("rows_duplicate", BigInteger, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("case_id", "content_sha256", name="uq_network_ingests_case_content"),
)

__all__ = ["network_cases", "network_ingests"]
