"""Structured logs: one JSON object per line on stderr, each carrying the request id.

The id comes from the request's ``X-Request-ID`` header when it is a sane token (1-128 of
``A-Z a-z 0-9 . _ : -``), else a new random one; it is returned in the response's
``X-Request-ID`` and set in ``REQUEST_ID`` for everything logged while the request runs
(route code in worker threads included: context variables follow it there).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from safelight.store.redact import redact

REQUEST_ID: ContextVar[str | None] = ContextVar("safelight_request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Attributes every LogRecord has; anything else passed as ``extra=`` becomes a JSON field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

logger = logging.getLogger("safelight.service")


# New request ids: this process's random half, then a counter (32 hex digits, as a uuid4's
# hex). Unique without a getrandom() call per request, which costs a lookup several percent
# of its CPU on a sandboxed kernel; an id is for correlation, not a secret.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def request_id_from(header: str | None) -> str:
    if header and _SANE_ID.match(header):
        return header
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id", ...extra}``; messages and
    exception texts pass through ``redact`` (no database password reaches a log)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` (uvicorn applies it in every worker) sending the
    service's and uvicorn's own logs through ``JsonFormatter``."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    loggers = {
        name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
        for name in ("safelight", "uvicorn", "uvicorn.error")
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "safelight.service.logs.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": loggers,
    }
