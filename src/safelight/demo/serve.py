"""The demo's last step: how to serve the demo store, and a lookup that works against it.

It creates an API token for the demo store (an ``api_client``, scoped to the demo list) and
prints the two commands a newcomer runs next: ``safelight serve`` on the same store, and a
``curl`` lookup of a PDQ hash the demo list holds, through the HMA-compatible ``/m/lookup``
route. The token is printed once, like ``safelight tokens create`` does.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from safelight.lists import HashListStore
from safelight.scan.demo import DEMO_LIST
from safelight.service.roles import Role
from safelight.service.tokens import TokenStore
from safelight.store import Database

DEMO_PORT = 8080
# Settings the printed command must carry so the server opens the store the demo used.
_STORE_SETTINGS = ("SAFELIGHT_HOME", "SAFELIGHT_DATABASE_URL", "SAFELIGHT_DATABASE_SCHEMA")


def serve_commands(db: Database) -> tuple[str, str]:
    """(serve command, curl command) for the demo store, with a fresh token in the curl."""
    pdq = next(iter(HashListStore(db).find_entries(DEMO_LIST, signal_type="pdq"))).value
    name = "demo-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    _, secret = TokenStore(db).create(
        name, frozenset({Role.API_CLIENT}), by="cli:demo", lists=[DEMO_LIST]
    )
    settings = " ".join(
        f"{key}={shlex.quote(os.environ[key])}" for key in _STORE_SETTINGS if os.environ.get(key)
    )
    serve = f"{settings} {_program()} serve --port {DEMO_PORT}".strip()
    url = f"http://127.0.0.1:{DEMO_PORT}/m/lookup?signal_type=pdq&signal={pdq}"
    curl = f'curl -s -H "Authorization: Bearer {secret}" "{url}"'
    return serve, curl


def run_serve_step(echo: Callable[[str], None] = print) -> tuple[str, str]:
    with Database.open() as db:
        serve, curl = serve_commands(db)
    echo(f"  1. serve the demo store:  {serve}")
    echo(f"  2. in another terminal:   {curl}")
    echo("     (the token is shown once; the lookup answers with the demo list's match)")
    return serve, curl


def _program() -> str:
    """How the user ran Safelight (``.venv/bin/safelight`` after ``make demo``)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "safelight":
        return os.path.relpath(argv0) if not argv0.is_absolute() else str(argv0)
    return "safelight"
