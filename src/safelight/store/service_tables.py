"""Tables of the service: accounts (users, API tokens, browser sessions) and the audit log.

The Alembic branch ``service`` (``migrations/versions/service_0001_tables.py``) creates
exactly these tables; keep the two in step. Secrets are never stored: passwords as argon2
hashes, API tokens and session ids as SHA-256 digests of high-entropy secrets.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from safelight.store.lists_tables import UTCDateTime
from safelight.store.metadata import metadata

SEQ = BigInteger().with_variant(Integer(), "sqlite")

service_users = Table(
    "service_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("roles", Text, nullable=False),  # JSON list of role names
    Column("disabled", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

service_tokens = Table(
    "service_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(150), nullable=False, unique=True),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # shown in listings to tell tokens apart
    Column("roles", Text, nullable=False),  # JSON list of role names
    Column("lists", Text),  # JSON list of list names; NULL: every list
    Column("created_by", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

service_sessions = Table(
    "service_sessions",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("service_users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# The audit log: append only, each entry carrying the SHA-256 of the one before. Times are
# stored as the canonical ISO text that was hashed, so a round trip cannot change them.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("occurred_at", String(32), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON object
    Column("prev_sha256", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
)

# One row (id 1): the sequence number and hash of the newest entry. Appends lock it first,
# so two writers cannot fork the chain, and verification checks the log ends where it says.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", SEQ, nullable=False),
    Column("sha256", String(64), nullable=False),
)
