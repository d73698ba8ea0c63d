"""``safelight serve``, ``users`` and ``tokens``: the service's command line (``audit`` is in
``audit_commands``).

Each command acts on the store of $SAFELIGHT_DATABASE_URL / $SAFELIGHT_HOME (migrating it,
as every command does, except ``serve``, which refuses an unmigrated store). Changes are
audited as ``cli:<OS user>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from safelight.cli_options import format_option
from safelight.errors import StoreError
from safelight.lists.store import default_user
from safelight.service.roles import Role, parse_roles
from safelight.service.settings import load_settings
from safelight.service.tokens import TokenStore, parse_expiry
from safelight.service.users import UserStore
from safelight.store import Database

ROLE_CHOICES = ", ".join(role.value for role in Role)
FORMATS = click.Choice(["table", "json"])
MIGRATE_HINT = "migrate it first: safelight db upgrade"


def cli_actor() -> str:
    return f"cli:{default_user()}"


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# --- serve -----------------------------------------------------------------------------------


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on.  [default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help="TCP port.  [default: 8080]")
@click.option("--workers", type=int, default=None, help="Worker processes.  [default: 1]")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML settings file (else $SAFELIGHT_CONFIG); see docs/service.md.",
)
def serve_command(
    host: str | None, port: int | None, workers: int | None, config: Path | None
) -> None:
    """Serve the matching API (OpenAPI at /openapi.json, docs UI at /docs).

    The store must be migrated first (safelight db upgrade). SIGTERM lets in-flight requests
    finish, then exits."""
    from safelight.service.server import serve

    settings = load_settings(config, host=host, port=port, workers=workers)
    try:
        serve(settings)
    except StoreError as exc:
        if exc.code == "schema_outdated":
            exc.hint = MIGRATE_HINT
        raise


# --- users -----------------------------------------------------------------------------------


@click.group("users")
def users_group() -> None:
    """Service users: people who sign in to the service (machines use tokens)."""


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, help=f"A role ({ROLE_CHOICES}); repeatable."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
def users_add_command(name: str, roles: tuple[str, ...], password_stdin: bool) -> None:
    """Add user NAME; the password is prompted for (never echoed) or read from stdin."""
    chosen = parse_roles(roles)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with Database.open() as db:
        user = UserStore(db).add(name, password, chosen, by=cli_actor())
    click.echo(f"added user {user.username} ({', '.join(sorted(r.value for r in user.roles))})")


@users_group.command("ls")
@format_option("table", "json", default="table")
def users_ls_command(output_format: str) -> None:
    """One line per user: name, roles, state."""
    with Database.open() as db:
        users = UserStore(db).list()
    if output_format == "json":
        echo_json([user.to_dict() for user in users])
        return
    if not users:
        click.echo("no users (add one with: safelight users add NAME --role admin)")
        return
    rows = [["NAME", "ROLES", "STATE"]]
    for user in users:
        state = "disabled" if user.disabled else "locked" if user.locked_until else "active"
        rows.append([user.username, ",".join(sorted(r.value for r in user.roles)), state])
    _table(rows)


@users_group.command("disable")
@click.argument("name")
def users_disable_command(name: str) -> None:
    """Disable user NAME: no more sign-ins, and open sessions end."""
    from safelight.service.sessions import SessionStore

    with Database.open() as db:
        user = UserStore(db).set_disabled(name, True, by=cli_actor())
        SessionStore(db).end_all(user)
    click.echo(f"disabled user {name}")


@users_group.command("roles")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, help=f"A role ({ROLE_CHOICES}); repeatable."
)
def users_roles_command(name: str, roles: tuple[str, ...]) -> None:
    """Set the roles of user NAME (replacing the old ones); open sessions end."""
    from safelight.service.sessions import SessionStore

    with Database.open() as db:
        user = UserStore(db).set_roles(name, parse_roles(roles), by=cli_actor())
        SessionStore(db).end_all(user)
    click.echo(f"user {name}: {', '.join(sorted(r.value for r in user.roles))}")


# --- tokens ----------------------------------------------------------------------------------


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for machines: shown once, stored hashed, scoped, expiring, revocable."""


@tokens_group.command("create")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, help=f"A role ({ROLE_CHOICES}); repeatable."
)
@click.option("--lists", default=None, help="Only these lists (comma-separated).  [default: all]")
@click.option("--expires", default=None, help="30d, 12h, 2w or an ISO date.  [default: never]")
@format_option("table", "json", default="table")
def tokens_create_command(
    name: str,
    roles: tuple[str, ...],
    lists: str | None,
    expires: str | None,
    output_format: str,
) -> None:
    """Create token NAME and print it: it is shown this once only."""
    chosen = parse_roles(roles)
    scope = None if lists is None else [n.strip() for n in lists.split(",") if n.strip()]
    with Database.open() as db:
        store = TokenStore(db)
        expires_at = None if expires is None else parse_expiry(expires, store.clock())
        token, secret = store.create(
            name, chosen, by=cli_actor(), lists=scope, expires_at=expires_at
        )
    if output_format == "json":
        echo_json({**token.to_dict(), "token": secret})
        return
    click.echo(secret)
    click.echo(f"created token {token.name}; copy it now: it is not shown again", err=True)


@tokens_group.command("ls")
@format_option("table", "json", default="table")
def tokens_ls_command(output_format: str) -> None:
    """One line per token (never the token itself): name, prefix, roles, lists, state."""
    with Database.open() as db:
        store = TokenStore(db)
        tokens, now = store.list(), store.clock()
    if output_format == "json":
        echo_json([token.to_dict() for token in tokens])
        return
    if not tokens:
        click.echo("no tokens (create one with: safelight tokens create NAME --role api_client)")
        return
    rows = [["NAME", "PREFIX", "ROLES", "LISTS", "EXPIRES", "STATE"]]
    for t in tokens:
        state = "revoked" if t.revoked_at else "active" if t.is_active(now) else "expired"
        expires = t.expires_at.isoformat(timespec="seconds") if t.expires_at else "never"
        lists = "all" if t.lists is None else ",".join(sorted(t.lists))
        roles = ",".join(sorted(r.value for r in t.roles))
        rows.append([t.name, t.prefix + "...", roles, lists, expires, state])
    _table(rows)


@tokens_group.command("revoke")
@click.argument("name")
def tokens_revoke_command(name: str) -> None:
    """Revoke token NAME (servers stop accepting it within token_cache_seconds)."""
    with Database.open() as db:
        TokenStore(db).revoke(name, by=cli_actor())
    click.echo(f"revoked token {name}")
