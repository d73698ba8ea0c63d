"""Hotline routing and takedown: the partners directory and each item's takedown events.

Mirrors ``safelight/store/routing_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hotline_routing_0001"
down_revision = "hotline_0001"
branch_labels = ("hotline_routing",)
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hotline_partners",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(2048), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_partners"),
        sa.UniqueConstraint("name_key", name="uq_hotline_partners_name_key"),
    )
    op.create_index("ix_hotline_partners_country", "hotline_partners", ["country"])
    op.create_table(
        "hotline_item_events",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("occurred_at", UTC_TIME, nullable=False),
        sa.Column("recorded_at", UTC_TIME, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("partner_id", sa.Integer),
        sa.Column("reason", sa.String(40)),
        sa.Column("notice", sa.Integer),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_item_events"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["hotline_items.id"], name="fk_hotline_item_events_item_id_hotline_items"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["hotline_partners.id"],
            name="fk_hotline_item_events_partner_id_hotline_partners",
        ),
    )
    op.create_index(
        "ix_hotline_item_events_item", "hotline_item_events", ["item_id", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_table("hotline_item_events")
    op.drop_table("hotline_partners")
