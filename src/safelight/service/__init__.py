"""The Safelight service: a thin HTTP front (FastAPI on uvicorn) over the core library.

``create_app(settings)`` builds the app; ``safelight serve`` runs it. Modules by concern:

- ``settings``: every setting (SAFELIGHT_* variables, a TOML file, flags)
- ``app``: the factory; ``server``: uvicorn, workers, graceful shutdown
- ``access`` and ``roles``: deny by default, ``requires(*roles)`` per route, the route table
- ``users``, ``tokens``, ``sessions``: accounts (argon2), API tokens, cookie sessions + CSRF
- ``audit``: the hash-chained audit trail, ``AuditLog.record(actor, action, target, details)``
- ``commands``, ``audit_commands``: ``safelight serve``, ``users``, ``tokens``, ``audit``
- ``http_errors``: the one error shape; ``middleware`` and ``logs``: request ids, JSON logs
- ``metrics``: Prometheus; ``ratelimit``: login and anonymous limits
- ``routes``: one router per area

docs/service.md is the page for operators and for developers adding routes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safelight.service.app import create_app
    from safelight.service.settings import Settings, load_settings

__all__ = ["Settings", "create_app", "load_settings"]

# Imported on first use (PEP 562): the CLI imports this package's commands, and ``--help`` or a
# ``match --hash`` run should not load the app, its routes and the media decoders.
_HOMES = {
    "create_app": "safelight.service.app",
    "Settings": "safelight.service.settings",
    "load_settings": "safelight.service.settings",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'safelight.service' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
