"""The demo's last step: how to serve the demo store, and a lookup that works against it.

It creates an API token for the demo store (an ``api_client``, scoped to the demo list) and
prints the two commands a newcomer runs next: ``safelight serve`` on the same store, and a
``curl`` lookup of a PDQ hash the demo list holds, through the HMA-compatible ``/m/lookup``
route. The token is printed once, like ``safelight tokens create`` does. Where the hotline step
seeded a demo workspace, the serve command carries the settings it works under, and a third
line says where to sign in to it and as whom.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from safelight.demo.hotline import ACCOUNTS, HotlineDemo
from safelight.lists import HashListStore
from safelight.scan.demo import DEMO_LIST
from safelight.service.roles import Role
from safelight.service.tokens import TokenStore
from safelight.store import Database

DEMO_PORT = 8080
# Settings the printed command must carry so the server opens the store the demo used.
_STORE_SETTINGS = ("SAFELIGHT_HOME", "SAFELIGHT_DATABASE_URL", "SAFELIGHT_DATABASE_SCHEMA")


def serve_commands(db: Database, settings: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(serve command, curl command) for the demo store, with a fresh token in the curl;
    ``settings`` (``SAFELIGHT_*``) are set on the serve command after the store's own."""
    pdq = next(iter(HashListStore(db).find_entries(DEMO_LIST, signal_type="pdq"))).value
    name = "demo-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    _, secret = TokenStore(db).create(
        name, frozenset({Role.API_CLIENT}), by="cli:demo", lists=[DEMO_LIST]
    )
    store = {key: os.environ[key] for key in _STORE_SETTINGS if os.environ.get(key)}
    env = " ".join(
        f"{key}={shlex.quote(value)}" for key, value in {**store, **(settings or {})}.items()
    )
    serve = f"{env} {_program()} serve --port {DEMO_PORT}".strip()
    url = f"http://127.0.0.1:{DEMO_PORT}/m/lookup?signal_type=pdq&signal={pdq}"
    curl = f'curl -s -H "Authorization: Bearer {secret}" "{url}"'
    return serve, curl


def run_serve_step(
    echo: Callable[[str], None] = print, hotline: HotlineDemo | None = None
) -> tuple[str, str]:
    signs_in = hotline is not None and hotline.password is not None
    with Database.open() as db:
        serve, curl = serve_commands(db, hotline.settings if hotline and signs_in else None)
    echo(f"  1. serve the demo store:  {serve}")
    echo(f"  2. in another terminal:   {curl}")
    if hotline is not None and hotline.password is not None:
        *analysts, admin = ACCOUNTS
        echo(
            f"  3. in a browser:          http://127.0.0.1:{DEMO_PORT}/workspace  sign in as "
            f"{' or '.join(analysts)} (analysts) or {admin}, password {hotline.password}"
        )
        echo("     (token and password are shown once; the lookup answers with the demo list's")
        echo("     match, and the workspace holds the demo hotline's reports, queue and metrics)")
    else:
        echo("     (the token is shown once; the lookup answers with the demo list's match)")
    return serve, curl


def _program() -> str:
    """How the user ran Safelight (``.venv/bin/safelight`` after ``make demo``)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "safelight":
        return os.path.relpath(argv0) if not argv0.is_absolute() else str(argv0)
    return "safelight"
