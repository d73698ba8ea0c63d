"""Running the service on uvicorn: ``safelight serve`` calls ``serve(settings)``.

Workers are started by uvicorn from an import string, so each builds its own app with
``app_from_environment``: the resolved settings travel to them as JSON in
``SAFELIGHT_SERVICE_SETTINGS`` (an internal variable; set by ``serve``, not by users).
On SIGTERM or SIGINT uvicorn stops accepting connections and lets in-flight requests finish
(up to ``graceful_shutdown_seconds``) before the process exits.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from safelight.service.app import create_app, open_store
from safelight.service.logs import log_config
from safelight.service.settings import Settings

ENV_SETTINGS = "SAFELIGHT_SERVICE_SETTINGS"
APP_FACTORY = "safelight.service.server:app_from_environment"


def app_from_environment() -> FastAPI:
    """The app of one worker, from the settings ``serve`` handed down."""
    payload = os.environ.get(ENV_SETTINGS)
    settings = Settings.model_validate_json(payload) if payload else Settings()
    return create_app(settings)


def check_store(settings: Settings) -> None:
    """Fail before starting anything if the store is unreachable or not migrated."""
    open_store(settings).dispose()


def serve(settings: Settings, *, factory: str = APP_FACTORY) -> None:
    """Serve until SIGTERM/SIGINT. ``factory`` names the app factory (tests pass their
    own, to add a route); the store is checked first, in this process."""
    check_store(settings)
    os.environ[ENV_SETTINGS] = settings.model_dump_json()
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=log_config(settings.log_level),
        access_log=False,  # the request middleware logs each request, with its id
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
