"""Lists: hash lists ("banks"), entries, labels and import provenance.

Mirrors ``safelight/store/lists_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "lists_0001"
down_revision = "0001_base"
branch_labels = ("lists",)
depends_on = None

ENTRY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)
HEX_KEY = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
SIGNAL_TYPE = sa.String(16).with_variant(sa.String(16, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "hash_lists",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("terms_of_use", sa.Text, nullable=False),
        sa.Column("pdq_threshold", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hash_lists"),
        sa.UniqueConstraint("name", name="uq_hash_lists_name"),
        sa.CheckConstraint(
            "pdq_threshold >= 0 AND pdq_threshold <= 63",
            name="ck_hash_lists_pdq_threshold_range",
        ),
    )
    op.create_table(
        "hash_list_imports",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("imported_at", UTC_TIME, nullable=False),
        sa.Column("imported_by", sa.String(255), nullable=False),
        sa.Column("records", sa.BigInteger, nullable=False),
        sa.Column("added", sa.BigInteger, nullable=False),
        sa.Column("invalid", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hash_list_imports"),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["hash_lists.id"],
            name="fk_hash_list_imports_list_id_hash_lists",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_hash_list_imports_list_id", "hash_list_imports", ["list_id"])
    op.create_table(
        "hash_entries",
        sa.Column("id", ENTRY_ID, autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("signal_type", SIGNAL_TYPE, nullable=False),
        sa.Column("value_key", HEX_KEY, nullable=False),
        sa.Column("vpdq_features", sa.Text, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("disabled_until", UTC_TIME, nullable=True),
        sa.Column("import_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hash_entries"),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["hash_lists.id"],
            name="fk_hash_entries_list_id_hash_lists",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("list_id", "signal_type", "value_key", name="uq_hash_entries_list_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "hash_entry_labels",
        sa.Column("entry_id", ENTRY_ID, nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("import_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("entry_id", "label", name="pk_hash_entry_labels"),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["hash_entries.id"],
            name="fk_hash_entry_labels_entry_id_hash_entries",
            ondelete="CASCADE",
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_hash_entry_labels_label", "hash_entry_labels", ["label"])


def downgrade() -> None:
    op.drop_index("ix_hash_entry_labels_label", table_name="hash_entry_labels")
    op.drop_table("hash_entry_labels")
    op.drop_table("hash_entries")
    op.drop_index("ix_hash_list_imports_list_id", table_name="hash_list_imports")
    op.drop_table("hash_list_imports")
    op.drop_table("hash_lists")
