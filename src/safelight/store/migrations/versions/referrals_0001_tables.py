"""Referrals and the items each contained (the ``referrals`` branch)."""

import sqlalchemy as sa
from alembic import op

revision = "referrals_0001"
down_revision = "0001_base"
branch_labels = ("referrals",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("recipient_role", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("sent_to", sa.Text),
        sa.Column("supersedes_id", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("items_sha256", sa.String(64), nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("key_fingerprint", sa.String(80), nullable=False),
        sa.Column("package_path", sa.Text, nullable=False),
        sa.Column("sources", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("headline", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
        sa.UniqueConstraint("uid", name="uq_referrals_uid"),
        sa.UniqueConstraint("supersedes_id", name="uq_referrals_supersedes_id"),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["referrals.id"], name="fk_referrals_supersedes_id_referrals"
        ),
    )
    op.create_index("ix_referrals_country_items", "referrals", ["country", "items_sha256"])
    op.create_table(
        "referral_items",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.Integer, nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_referral_items"),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name="fk_referral_items_referral_id_referrals",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_referral_items_referral_id", "referral_items", ["referral_id"])


def downgrade() -> None:
    op.drop_table("referral_items")
    op.drop_table("referrals")
