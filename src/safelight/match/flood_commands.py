"""``safelight lists flooded`` and ``safelight lists resume``: review what flood protection
paused (docs/lists.md). Registered on the ``lists`` group by ``safelight.cli``."""

from __future__ import annotations

import json

import click

from safelight.cli_options import format_option
from safelight.lists.store import HashListStore, default_user
from safelight.match.flood import paused_entries, resume
from safelight.store import Database


@click.command("flooded")
@click.option(
    "--list",
    "lists",
    multiple=True,
    metavar="NAME",
    help="Only these lists (default: every enabled list).",
)
@format_option("table", "json", default="table")
def flooded_command(lists: tuple[str, ...], output_format: str) -> None:
    """Entries paused by flood protection, awaiting review (resume them with
    ``safelight lists resume LIST ID...``)."""
    with Database.open() as db:
        entries = paused_entries(HashListStore(db), list(lists) or None)
    if output_format == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    if not entries:
        click.echo("no paused entries")
        return
    for e in entries:
        when = e.paused_at.isoformat(timespec="seconds") if e.paused_at else "-"
        click.echo(f"{e.id:>10}  {e.list_name:<20} {e.signal_type:<6} {when}  {e.paused_reason}")


@click.command("resume")
@click.argument("name")
@click.argument("entry_ids", nargs=-1, type=int, required=True)
def resume_command(name: str, entry_ids: tuple[int, ...]) -> None:
    """Serve paused entries of list NAME again after review (their counts start afresh)."""
    with Database.open() as db:
        count = resume(HashListStore(db), name, entry_ids, actor=f"cli:{default_user()}")
    click.echo(f"resumed {count} of {len(set(entry_ids))} entries of {name}")
