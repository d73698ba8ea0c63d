"""The ``safelight`` command line: a thin front over the core library.

Commands parse options, call core objects and format their results; business logic lives in
the domain packages. Errors from the one exception tree (``safelight.errors``) are turned
into a message on stderr and the exit code the tree names, here and nowhere else.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from safelight import __version__
from safelight.demo.commands import demo_command
from safelight.errors import SafelightError
from safelight.scan.commands import scan_command, scans_group
from safelight.signals.commands import hash_command
from safelight.store.redact import redact

# Library parameter names whose flag is not simply --name-with-dashes.
_FLAGS = {
    "column_map": "--map",
    "default_type": "--type",
    "fmt": "--input-format",
    "geo_paths": "--geo",
    "lists": "--list",
    "sources": "SOURCES",
}


def flag_of(field: str) -> str:
    """The command-line flag of a library parameter named in an error."""
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


class SafelightGroup(click.Group):
    """Maps SafelightError to its exit code in one place for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SafelightError as exc:
            # redact: a database URL's password never reaches the terminal, whatever road
            # the URL took into the message.
            where = f"{flag_of(exc.field)}: " if exc.field else ""
            click.echo(f"error: {where}{redact(exc.message)}", err=True)
            problems = getattr(exc, "problems", None) or []
            for location, reason in problems:
                click.echo(redact(f"  {location}: {reason}"), err=True)
            if exc.hint:
                click.echo(f"hint: {redact(exc.hint)}", err=True)
            for hint in _hints(exc):
                click.echo(f"hint: {hint}", err=True)
            sys.exit(exc.exit_code)


def _hints(exc: SafelightError) -> list[str]:
    """What the user can type next, for errors the library raises without naming commands."""
    from safelight.lists.store import ListDisabledError

    if isinstance(exc, ListDisabledError):
        return [f"enable it with: safelight lists enable {name}" for name in exc.names]
    return []


@click.group(cls=SafelightGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="safelight")
def main() -> None:
    """Safelight: find known material by hash, trace how it spreads, refer it to who can act."""


# Each domain contributes its commands from its own ``commands`` module, registered here.
from safelight.lists.commands import lists_group  # noqa: E402
from safelight.match.commands import match_command  # noqa: E402
from safelight.network.commands import network  # noqa: E402
from safelight.referrals.commands import keys_group, referral_group  # noqa: E402
from safelight.referrals.cybertipline.commands import cybertip_group  # noqa: E402
from safelight.service.audit_commands import audit_group  # noqa: E402
from safelight.service.commands import serve_command, tokens_group, users_group  # noqa: E402
from safelight.store.commands import db_group  # noqa: E402

main.add_command(hash_command)
main.add_command(demo_command)
main.add_command(lists_group)
main.add_command(match_command)
main.add_command(scan_command)
main.add_command(scans_group)
main.add_command(network)
main.add_command(db_group)
main.add_command(serve_command)
main.add_command(users_group)
main.add_command(tokens_group)
main.add_command(audit_group)
main.add_command(keys_group)
main.add_command(referral_group)
main.add_command(cybertip_group)
