"""An app factory for the shutdown test: the service plus a route that holds a request open
until the test releases it (a file appears), so the test knows a request is in flight when it
sends SIGTERM, without timing anything."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI

from safelight.service import Settings, create_app
from safelight.service.access import public
from safelight.service.context import ServiceContext
from safelight.service.server import ENV_SETTINGS


def add_slow_route(app: FastAPI, _: ServiceContext) -> None:
    @app.get("/test/hold")
    def hold(folder: str, _: Annotated[None, public()]) -> dict[str, str]:
        (Path(folder) / "started").touch()
        while not (Path(folder) / "release").exists():
            time.sleep(0.01)
        return {"held": "released"}


def make_app() -> FastAPI:
    return create_app(Settings.model_validate_json(os.environ[ENV_SETTINGS]), extend=add_slow_route)
