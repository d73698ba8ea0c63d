"""Hotline: public reports, their URLs (items), who named each item, and contacts.

Mirrors ``safelight/store/hotline_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hotline_0001"
down_revision = "0001_base"
branch_labels = ("hotline",)
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hotline_reports",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(10), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("site_type", sa.String(30)),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_reports"),
        sa.UniqueConstraint("reference", name="uq_hotline_reports_reference"),
    )
    op.create_table(
        "hotline_items",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("url_key", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("host_is_ip", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("times_reported", sa.Integer, nullable=False),
        sa.Column("reported_at", UTC_TIME, nullable=False),
        sa.Column("last_reported_at", UTC_TIME, nullable=False),
        sa.Column("assessed_at", UTC_TIME),
        sa.Column("le_notified_at", UTC_TIME),
        sa.Column("hp_notified_at", UTC_TIME),
        sa.Column("removed_at", UTC_TIME),
        sa.Column("notice_count", sa.Integer, nullable=False),
        sa.Column("hosting_country", sa.String(2)),
        sa.Column("classification", sa.String(30)),
        sa.Column("assignee", sa.String(150)),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_items"),
        sa.ForeignKeyConstraint(
            ["report_id"], ["hotline_reports.id"], name="fk_hotline_items_report_id_hotline_reports"
        ),
    )
    op.create_index("ix_hotline_items_report_id", "hotline_items", ["report_id"])
    op.create_index("ix_hotline_items_url_key", "hotline_items", ["url_key"])
    op.create_index("ix_hotline_items_status", "hotline_items", ["status"])
    op.create_index("ix_hotline_items_host", "hotline_items", ["host"])
    op.create_table(
        "hotline_item_reports",
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("reported_at", UTC_TIME, nullable=False),
        sa.Column("submitted_url", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "report_id", name="pk_hotline_item_reports"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["hotline_items.id"], name="fk_hotline_item_reports_item_id_hotline_items"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["hotline_reports.id"],
            name="fk_hotline_item_reports_report_id_hotline_reports",
        ),
    )
    op.create_table(
        "hotline_contacts",
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("delete_after", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("report_id", name="pk_hotline_contacts"),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["hotline_reports.id"],
            name="fk_hotline_contacts_report_id_hotline_reports",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_hotline_contacts_delete_after", "hotline_contacts", ["delete_after"])


def downgrade() -> None:
    op.drop_table("hotline_contacts")
    op.drop_table("hotline_item_reports")
    op.drop_table("hotline_items")
    op.drop_table("hotline_reports")
