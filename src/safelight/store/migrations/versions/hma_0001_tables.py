"""HMA compatibility: bank ratios and content items (the ``hma`` branch).

Mirrors ``safelight/store/hma_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hma_0001"
down_revision = "0001_base"
branch_labels = ("hma",)
depends_on = "lists_0001"

ENTRY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hma_banks",
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("matching_enabled_ratio", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("list_id", name="pk_hma_banks"),
        sa.ForeignKeyConstraint(
            ["list_id"], ["hash_lists.id"], name="fk_hma_banks_list", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "hma_entries",
        sa.Column("entry_id", ENTRY_ID, nullable=False),
        sa.Column("content_id", ENTRY_ID, nullable=False),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("entry_id", name="pk_hma_entries"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["hash_entries.id"], name="fk_hma_entries_entry", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_hma_entries_content_id", "hma_entries", ["content_id"])


def downgrade() -> None:
    op.drop_index("ix_hma_entries_content_id", table_name="hma_entries")
    op.drop_table("hma_entries")
    op.drop_table("hma_banks")
