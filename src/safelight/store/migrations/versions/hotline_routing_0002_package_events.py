"""Hotline timelines record referral packages sent: an item event may name the referral
(``hotline_item_events.referral_id``) whose package carried the item.

Mirrors ``safelight/store/routing_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hotline_routing_0002"
down_revision = "hotline_routing_0001"
branch_labels = None
depends_on = "referrals_0001"

FOREIGN_KEY = "fk_hotline_item_events_referral_id_referrals"


def upgrade() -> None:
    with op.batch_alter_table("hotline_item_events") as batch:
        batch.add_column(sa.Column("referral_id", sa.Integer))
        batch.create_foreign_key(FOREIGN_KEY, "referrals", ["referral_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("hotline_item_events") as batch:
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch.drop_column("referral_id")
