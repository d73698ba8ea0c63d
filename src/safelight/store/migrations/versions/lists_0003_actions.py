"""Lists: allow lists (``kind``), flood protection (per-list settings, paused entries and
the shared counters) and webhooks on match (endpoints and their delivery log).

Mirrors ``safelight/store/lists_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "lists_0003"
down_revision = "lists_0002"
branch_labels = None
depends_on = None

ENTRY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("hash_lists") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="block"))
        batch.add_column(sa.Column("flood_threshold", sa.Integer, nullable=True))
        batch.add_column(sa.Column("flood_window_s", sa.Integer, nullable=True))
        batch.create_check_constraint("list_kind", "kind IN ('block', 'allow')")
    op.add_column("hash_entries", sa.Column("paused_at", UTC_TIME, nullable=True))
    op.add_column("hash_entries", sa.Column("paused_reason", sa.Text, nullable=True))
    op.create_table(
        "flood_sightings",
        sa.Column("entry_id", ENTRY_ID, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("query_key", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["hash_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("entry_id", "window_start", "query_key"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["hash_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_endpoints_list_id", "webhook_endpoints", ["list_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("delivered_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("flood_sightings")
    with op.batch_alter_table("hash_entries") as batch:
        batch.drop_column("paused_reason")
        batch.drop_column("paused_at")
    with op.batch_alter_table("hash_lists") as batch:
        batch.drop_constraint("list_kind", type_="check")
        batch.drop_column("flood_window_s")
        batch.drop_column("flood_threshold")
        batch.drop_column("kind")
