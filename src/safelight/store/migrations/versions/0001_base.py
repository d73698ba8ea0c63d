"""Base: the store's own facts.

Each domain (lists, scans, network, ...) adds its tables as its own Alembic branch rooted
here, so domains migrate independently; ``Database.migrate`` upgrades to all heads.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_info",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_store_info"),
    )


def downgrade() -> None:
    op.drop_table("store_info")
