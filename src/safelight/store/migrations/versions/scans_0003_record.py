"""Scan items keep their whole hash record (the JSON ``safelight hash`` writes, less the path):
the signals record travels through a scan unchanged, registered digests and all."""

import sqlalchemy as sa
from alembic import op

revision = "scans_0003"
down_revision = "scans_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scan_items", sa.Column("record", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("scan_items") as batch:
        batch.drop_column("record")
