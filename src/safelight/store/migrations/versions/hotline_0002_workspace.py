"""Hotline items carry where they are hosted and when an analyst took them: the analyst
workspace's shared columns (the hosting IP, network and ASN from the resolver; the claim time).

Mirrors ``safelight/store/hotline_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hotline_0002"
down_revision = "hotline_0001"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("hotline_items") as batch:
        batch.add_column(sa.Column("hosting_ip", sa.String(45)))
        batch.add_column(sa.Column("hosting_asn", sa.BigInteger))  # ASNs reach 2^32 - 1
        batch.add_column(sa.Column("hosting_network", sa.String(255)))
        batch.add_column(sa.Column("resolved_at", UTC_TIME))
        batch.add_column(sa.Column("claimed_at", UTC_TIME))
    op.create_index("ix_hotline_items_hosting_country", "hotline_items", ["hosting_country"])
    op.create_index("ix_hotline_items_assignee", "hotline_items", ["assignee"])


def downgrade() -> None:
    op.drop_index("ix_hotline_items_assignee", table_name="hotline_items")
    op.drop_index("ix_hotline_items_hosting_country", table_name="hotline_items")
    with op.batch_alter_table("hotline_items") as batch:
        for name in ("claimed_at", "resolved_at", "hosting_network", "hosting_asn", "hosting_ip"):
            batch.drop_column(name)
