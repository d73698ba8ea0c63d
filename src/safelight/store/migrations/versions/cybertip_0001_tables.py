"""CyberTipline reports, the items they claim and every API step (the ``cybertip`` branch)."""

import sqlalchemy as sa
from alembic import op

revision = "cybertip_0001"
down_revision = "0001_base"
branch_labels = ("cybertip",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cybertip_reports",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("remote_id", sa.BigInteger),
        sa.Column("reason", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("receipt", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_cybertip_reports"),
    )
    op.create_index("ix_cybertip_reports_status", "cybertip_reports", ["status"])
    op.create_table(
        "cybertip_items",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cybertip_items"),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["cybertip_reports.id"],
            name="fk_cybertip_items_report_id_cybertip_reports",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("report_id", "item_key", name="uq_cybertip_items_report_item"),
    )
    op.create_index("ix_cybertip_items_item_key", "cybertip_items", ["item_key"])
    op.create_table(
        "cybertip_steps",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("try_number", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("response_code", sa.Integer),
        sa.Column("description", sa.Text),
        sa.Column("remote_id", sa.BigInteger),
        sa.Column("file_index", sa.Integer),
        sa.Column("file_id", sa.String(64)),
        sa.Column("request_id", sa.String(200)),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cybertip_steps"),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["cybertip_reports.id"],
            name="fk_cybertip_steps_report_id_cybertip_reports",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_cybertip_steps_report", "cybertip_steps", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_cybertip_steps_report", table_name="cybertip_steps")
    op.drop_table("cybertip_steps")
    op.drop_index("ix_cybertip_items_item_key", table_name="cybertip_items")
    op.drop_table("cybertip_items")
    op.drop_index("ix_cybertip_reports_status", table_name="cybertip_reports")
    op.drop_table("cybertip_reports")
