"""``safelight db ...``: the store's schema."""

from __future__ import annotations

import click

from safelight.store.database import Database, applied, migration_heads


@click.group("db")
def db_group() -> None:
    """The store ($SAFELIGHT_DATABASE_URL, else SQLite in $SAFELIGHT_HOME)."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Migrate the store to this release's schema (the service needs this first)."""
    with Database() as db:  # opened without migrating: the revisions are read first
        before = db.stored_revisions()
        db.migrate()
    if before is not None and applied(before) == applied(migration_heads()):
        click.echo(f"database {db.shown_url} is up to date")
    else:
        click.echo(f"migrated database {db.shown_url} to {', '.join(sorted(migration_heads()))}")
