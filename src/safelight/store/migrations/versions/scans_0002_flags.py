"""Scan items carry flags (``unsafe_name``, ``directory_name``): a hostile archive member name
is hashed and matched like any member, and flagged."""

import sqlalchemy as sa
from alembic import op

revision = "scans_0002"
down_revision = "scans_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scan_items", sa.Column("flags", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("scan_items") as batch:
        batch.drop_column("flags")
