"""``safelight webhooks add|ls|rm|deliveries|replay|deliver`` (docs/webhooks.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from safelight.cli_options import format_option
from safelight.store import Database
from safelight.webhooks.delivery import deliver_due
from safelight.webhooks.store import STATUSES, WebhookStore


def _json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group("webhooks")
def webhooks_group() -> None:
    """Actions on match: signed webhooks per list, their delivery log and replays."""


@webhooks_group.command("add")
@click.argument("list_name", metavar="LIST")
@click.argument("url")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Read the signing secret from this file (default: generate one).",
)
@format_option("table", "json", default="table")
def add_command(list_name: str, url: str, secret_file: Path | None, output_format: str) -> None:
    """Call URL on every served match of list LIST. Prints the signing secret once."""
    secret = secret_file.read_text(encoding="utf-8").strip() if secret_file else None
    with Database.open() as db:
        endpoint, secret = WebhookStore(db).add(list_name, url, secret=secret)
    if output_format == "json":
        _json({**endpoint.to_dict(), "secret": secret})
        return
    click.echo(f"webhook {endpoint.id} on {endpoint.list_name}: {endpoint.url}")
    click.echo(f"secret: {secret}")
    click.echo("store the secret now: it is not shown again", err=True)


@webhooks_group.command("ls")
@click.option(
    "--list",
    "lists",
    multiple=True,
    metavar="NAME",
    help="Only these lists' webhooks (default: every enabled list).",
)
@format_option("table", "json", default="table")
def ls_command(lists: tuple[str, ...], output_format: str) -> None:
    """Webhooks: id, list, URL (never the secret)."""
    with Database.open() as db:
        endpoints = [
            e for e in WebhookStore(db).endpoints(None) if not lists or e.list_name in lists
        ]
    if output_format == "json":
        _json([e.to_dict() for e in endpoints])
    elif not endpoints:
        click.echo("no webhooks (add one with: safelight webhooks add LIST URL)")
    for e in endpoints if output_format == "table" else ():
        click.echo(f"{e.id:>6}  {e.list_name:<20} {e.url}")


@webhooks_group.command("rm")
@click.argument("endpoint_id", type=int)
def rm_command(endpoint_id: int) -> None:
    """Remove webhook ENDPOINT_ID and its delivery log."""
    with Database.open() as db:
        WebhookStore(db).remove(endpoint_id)
    click.echo(f"removed webhook {endpoint_id}")


@webhooks_group.command("deliveries")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--webhook", "endpoint_id", type=int, help="Only this webhook's deliveries.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@format_option("table", "json", default="table")
def deliveries_command(
    status: str | None, endpoint_id: int | None, limit: int, output_format: str
) -> None:
    """The delivery log, newest first: status, attempts, last result."""
    with Database.open() as db:
        found = WebhookStore(db).deliveries(status=status, endpoint_id=endpoint_id, limit=limit)
    if output_format == "json":
        _json([d.to_dict() for d in found])
        return
    if not found:
        click.echo("no deliveries")
    for d in found:
        last = d.last_error or (f"HTTP {d.last_status_code}" if d.last_status_code else "-")
        click.echo(f"{d.id:>8}  webhook {d.endpoint_id:<5} {d.status:<9} {d.attempts:>2}  {last}")


@webhooks_group.command("replay")
@click.argument("delivery_ids", nargs=-1, type=int, required=True)
def replay_command(delivery_ids: tuple[int, ...]) -> None:
    """Queue deliveries again (same body, signed afresh); a worker sends them."""
    with Database.open() as db:
        count = WebhookStore(db).replay(delivery_ids)
    click.echo(f"queued {count} deliveries again (send them with: safelight webhooks deliver)")


@webhooks_group.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, sending deliveries as they fall due.")
@click.option("--interval", type=click.FloatRange(0.1), default=1.0, show_default=True)
def deliver_command(loop: bool, interval: float) -> None:
    """The delivery worker: send due deliveries (once, or until interrupted with --loop)."""
    sent = failed = 0
    with Database.open() as db:
        hooks = WebhookStore(db)
        while True:
            attempts = deliver_due(hooks)
            sent += sum(a.status == "delivered" for a in attempts)
            failed += sum(a.status != "delivered" for a in attempts)
            if not loop and len(attempts) < 100:
                break
            if not attempts:
                time.sleep(interval)
    click.echo(f"delivered {sent}; {failed} attempts failed (see: safelight webhooks deliveries)")
