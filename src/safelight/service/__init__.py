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

from safelight.service.app import create_app
from safelight.service.settings import Settings, load_settings

__all__ = ["Settings", "create_app", "load_settings"]
