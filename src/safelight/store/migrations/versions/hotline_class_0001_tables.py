"""Hotline classification: classifications, their reviews, item hashes, known matches and
bankings (the ``hotline_class`` branch). Mirrors ``safelight/store/hotline_class_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "hotline_class_0001"
down_revision = "hotline_0001"
branch_labels = ("hotline_class",)
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
ACTOR = sa.String(200)
LIST_NAME = sa.String(255)
ENTRY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HEX_KEY = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
SIGNAL_TYPE = sa.String(16).with_variant(sa.String(16, collation="C"), "postgresql")


def _item_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["item_id"], ["hotline_items.id"], name=f"fk_{table}_item_id_hotline_items"
    )


def upgrade() -> None:
    op.create_table(
        "hotline_classifications",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("illegality", sa.String(20), nullable=False),
        sa.Column("age_group", sa.String(20)),
        sa.Column("gender", sa.String(10)),
        sa.Column("site_type", sa.String(30)),
        sa.Column("commercial", sa.Boolean),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("known_list", LIST_NAME),
        sa.Column("known_entry_id", ENTRY_ID),
        sa.Column("needs_confirmation", sa.Boolean, nullable=False),
        sa.Column("classified_by", ACTOR, nullable=False),
        sa.Column("classified_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_classifications"),
        _item_key("hotline_classifications"),
        sa.UniqueConstraint("item_id", "version", name="uq_hotline_classifications_item_id"),
    )
    op.create_table(
        "hotline_classification_reviews",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("classification_id", sa.Integer, nullable=False),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("reviewed_by", ACTOR, nullable=False),
        sa.Column("reviewed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_classification_reviews"),
        sa.ForeignKeyConstraint(
            ["classification_id"],
            ["hotline_classifications.id"],
            name="fk_hotline_reviews_classification",
        ),
        sa.UniqueConstraint(
            "classification_id", name="uq_hotline_classification_reviews_classification_id"
        ),
    )
    op.create_table(
        "hotline_item_hashes",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("signal_type", SIGNAL_TYPE, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("value_key", HEX_KEY, nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("scan_run_id", sa.Integer),
        sa.Column("scan_path", sa.Text),
        sa.Column("added_by", ACTOR, nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_item_hashes"),
        _item_key("hotline_item_hashes"),
        sa.UniqueConstraint(
            "item_id", "signal_type", "value_key", name="uq_hotline_item_hashes_item_id"
        ),
    )
    op.create_index(
        "ix_hotline_item_hashes_value", "hotline_item_hashes", ["signal_type", "value_key"]
    )
    op.create_table(
        "hotline_known_matches",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("hash_id", sa.Integer, nullable=False),
        sa.Column("list_name", LIST_NAME, nullable=False),
        sa.Column("entry_id", ENTRY_ID, nullable=False),
        sa.Column("distance", sa.Integer, nullable=False),
        sa.Column("illegality", sa.String(20), nullable=False),
        sa.Column("found_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_known_matches"),
        _item_key("hotline_known_matches"),
        sa.ForeignKeyConstraint(
            ["hash_id"],
            ["hotline_item_hashes.id"],
            name="fk_hotline_known_matches_hash_id_hotline_item_hashes",
        ),
        sa.UniqueConstraint("hash_id", "entry_id", name="uq_hotline_known_matches_hash_id"),
    )
    op.create_index("ix_hotline_known_matches_item_id", "hotline_known_matches", ["item_id"])
    op.create_table(
        "hotline_bankings",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        sa.Column("hash_id", sa.Integer, nullable=False),
        sa.Column("list_name", LIST_NAME, nullable=False),
        sa.Column("entry_id", ENTRY_ID, nullable=False),
        sa.Column("classification_id", sa.Integer, nullable=False),
        sa.Column("banked_by", ACTOR, nullable=False),
        sa.Column("banked_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hotline_bankings"),
        _item_key("hotline_bankings"),
        sa.ForeignKeyConstraint(
            ["hash_id"],
            ["hotline_item_hashes.id"],
            name="fk_hotline_bankings_hash_id_hotline_item_hashes",
        ),
        sa.ForeignKeyConstraint(
            ["classification_id"],
            ["hotline_classifications.id"],
            name="fk_hotline_bankings_classification_id_hotline_classifications",
        ),
        sa.UniqueConstraint("hash_id", "list_name", name="uq_hotline_bankings_hash_id"),
    )
    op.create_index("ix_hotline_bankings_item_id", "hotline_bankings", ["item_id"])


def downgrade() -> None:
    op.drop_table("hotline_bankings")
    op.drop_table("hotline_known_matches")
    op.drop_table("hotline_item_hashes")
    op.drop_table("hotline_classification_reviews")
    op.drop_table("hotline_classifications")
