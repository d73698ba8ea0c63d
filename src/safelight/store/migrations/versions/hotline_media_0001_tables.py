"""Hotline captures (sealed), viewing intervals and wellness settings.

Mirrors ``safelight/store/hotline_media_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hotline_media_0001"
down_revision = "hotline_0001"
branch_labels = ("hotline_media",)
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hotline_captures",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("pdq", sa.String(64)),
        sa.Column("pdq_quality", sa.Integer),
        sa.Column("vpdq", sa.Text),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("poster", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("delete_after", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_captures"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["hotline_items.id"], name="fk_hotline_captures_item_id_hotline_items"
        ),
        sa.UniqueConstraint("item_id", "sha256", name="uq_hotline_captures_item_sha256"),
    )
    op.create_index("ix_hotline_captures_item_id", "hotline_captures", ["item_id"])
    op.create_index("ix_hotline_captures_delete_after", "hotline_captures", ["delete_after"])
    op.create_table(
        "hotline_viewings",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("viewer", sa.String(160), nullable=False),
        sa.Column("capture_id", sa.Integer),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("opened_at", UTC_TIME, nullable=False),
        sa.Column("ends_at", UTC_TIME, nullable=False),
        sa.Column("closed_at", UTC_TIME),
        sa.Column("closed_by", sa.String(20)),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_viewings"),
        sa.ForeignKeyConstraint(
            ["capture_id"],
            ["hotline_captures.id"],
            name="fk_hotline_viewings_capture_id_hotline_captures",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["hotline_items.id"], name="fk_hotline_viewings_item_id_hotline_items"
        ),
    )
    op.create_index(
        "ix_hotline_viewings_viewer_opened", "hotline_viewings", ["viewer", "opened_at"]
    )
    op.create_table(
        "hotline_wellness",
        sa.Column("viewer", sa.String(160), nullable=False),
        sa.Column("blur_percent", sa.Integer),
        sa.Column("greyscale", sa.Boolean),
        sa.Column("daily_limit_minutes", sa.Integer),
        sa.Column("admin_limit_minutes", sa.Integer),
        sa.Column("break_after_minutes", sa.Integer),
        sa.Column("break_minutes", sa.Integer),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("updated_by", sa.String(160), nullable=False),
        sa.PrimaryKeyConstraint("viewer", name="pk_hotline_wellness"),
    )


def downgrade() -> None:
    op.drop_table("hotline_wellness")
    op.drop_table("hotline_viewings")
    op.drop_table("hotline_captures")
