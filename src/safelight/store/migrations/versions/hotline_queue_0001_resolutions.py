"""Hotline analyst queue: every attempt to locate a reported host, and the indexes of the
queue's orders on hotline_items (``hotline_queue`` branch).

Mirrors ``safelight/store/hotline_queue_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hotline_queue_0001"
down_revision = "hotline_0002"
branch_labels = ("hotline_queue",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotline_resolutions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("addresses", sa.Text, nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("asn", sa.BigInteger),
        sa.Column("network", sa.String(255)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_resolutions"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["hotline_items.id"],
            name="fk_hotline_resolutions_item_id_hotline_items",
        ),
    )
    op.create_index("ix_hotline_resolutions_item_id", "hotline_resolutions", ["item_id"])
    op.create_index("ix_hotline_items_reported_at", "hotline_items", ["reported_at"])
    op.create_index("ix_hotline_items_last_reported_at", "hotline_items", ["last_reported_at"])


def downgrade() -> None:
    op.drop_index("ix_hotline_items_last_reported_at", table_name="hotline_items")
    op.drop_index("ix_hotline_items_reported_at", table_name="hotline_items")
    op.drop_index("ix_hotline_resolutions_item_id", table_name="hotline_resolutions")
    op.drop_table("hotline_resolutions")
