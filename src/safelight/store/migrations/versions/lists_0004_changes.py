"""Lists: the entry change log (``hash_entry_changes``), read by followers of the lists
(the service's lookup engines, the match indexes) to catch up by the change, not the list.

Lists that already changed get a "horizon" row at their current generation: a follower
holding one of them at an older generation reads it whole, as before this log existed.

Mirrors ``safelight/store/lists_tables.py``.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "lists_0004"
down_revision = "lists_0003"
branch_labels = None
depends_on = None

ENTRY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hash_entry_changes",
        sa.Column("seq", ENTRY_ID, autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("entry_id", ENTRY_ID, nullable=True),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("changed_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_hash_entry_changes"),
        sa.CheckConstraint(
            "op IN ('entry', 'reload', 'horizon')", name="ck_hash_entry_changes_entry_change_op"
        ),
    )
    op.create_index(
        "ix_hash_entry_changes_list_generation",
        "hash_entry_changes",
        ["list_id", "generation"],
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # as UTCDateTime stores it there
    lists = sa.table("hash_lists", sa.column("id"), sa.column("generation"))
    changes = sa.table(
        "hash_entry_changes",
        sa.column("list_id"),
        sa.column("generation"),
        sa.column("op"),
        sa.column("changed_at"),
    )
    op.execute(
        changes.insert().from_select(
            ["list_id", "generation", "op", "changed_at"],
            sa.select(
                lists.c.id,
                lists.c.generation,
                sa.literal("horizon"),
                sa.literal(now, type_=sa.DateTime(timezone=True)),
            ).where(lists.c.generation > 0),
        )
    )


def downgrade() -> None:
    op.drop_index("ix_hash_entry_changes_list_generation", table_name="hash_entry_changes")
    op.drop_table("hash_entry_changes")
