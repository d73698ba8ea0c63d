"""Network: cases and the ingest bookkeeping of their sighting logs."""

import sqlalchemy as sa
from alembic import op

revision = "0100_network"
down_revision = "0001_base"
branch_labels = ("network",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_cases",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lists", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_network_cases"),
        sa.UniqueConstraint("name", name="uq_network_cases_name"),
    )
    op.create_table(
        "network_ingests",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("part_name", sa.String(200), nullable=False),
        sa.Column("rows_total", sa.BigInteger, nullable=False),
        sa.Column("rows_good", sa.BigInteger, nullable=False),
        sa.Column("rows_bad", sa.BigInteger, nullable=False),
        sa.Column("rows_duplicate", sa.BigInteger, nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_network_ingests"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["network_cases.id"],
            name="fk_network_ingests_case_id_network_cases",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("case_id", "content_sha256", name="uq_network_ingests_case_content"),
    )


def downgrade() -> None:
    op.drop_table("network_ingests")
    op.drop_table("network_cases")
