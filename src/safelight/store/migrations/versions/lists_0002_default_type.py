"""Lists: a list may declare the signal type of its untyped values (``default_signal_type``).

Mirrors ``safelight/store/lists_tables.py``.
"""

import sqlalchemy as sa
from alembic import op

revision = "lists_0002"
down_revision = "lists_0001"
branch_labels = None
depends_on = None

SIGNAL_TYPE = sa.String(16).with_variant(sa.String(16, collation="C"), "postgresql")


def upgrade() -> None:
    op.add_column("hash_lists", sa.Column("default_signal_type", SIGNAL_TYPE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hash_lists") as batch:
        batch.drop_column("default_signal_type")
