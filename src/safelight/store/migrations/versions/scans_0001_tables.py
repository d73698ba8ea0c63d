"""Scan runs and their items (the ``scans`` branch)."""

import sqlalchemy as sa
from alembic import op

revision = "scans_0001"
down_revision = "0001_base"
branch_labels = ("scans",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_runs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sources", sa.Text, nullable=False),
        sa.Column("lists", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("items", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("matched_items", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scan_runs"),
    )
    op.create_table(
        "scan_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("path_key", sa.String(64), nullable=False),
        sa.Column("logical_path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("md5", sa.String(32)),
        sa.Column("sha1", sa.String(40)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("media", sa.String(16)),
        sa.Column("format", sa.String(16)),
        sa.Column("pdq", sa.String(64)),
        sa.Column("quality", sa.Integer),
        sa.Column("vpdq", sa.Text),
        sa.Column("match_count", sa.Integer, nullable=False),
        sa.Column("matches", sa.Text),
        sa.Column("error_code", sa.String(32)),
        sa.Column("error_message", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scan_items"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["scan_runs.id"],
            name="fk_scan_items_run_id_scan_runs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("run_id", "path_key", name="uq_scan_items_run_path"),
    )
    op.create_index("ix_scan_items_run_matched", "scan_items", ["run_id", "match_count"])


def downgrade() -> None:
    op.drop_index("ix_scan_items_run_matched", table_name="scan_items")
    op.drop_table("scan_items")
    op.drop_table("scan_runs")
