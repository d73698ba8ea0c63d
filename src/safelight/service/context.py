"""What every request can reach: settings, the store and its domain objects, metrics,
readiness checks and rate limiters. One per app, at ``app.state.service``.

Routes take it with ``ctx: ServiceContext = Depends(context)`` and call the library through
it; business logic lives in the library, not here and not in routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

from argon2 import PasswordHasher
from fastapi import Depends, Request

from safelight.lists.store import HashListStore
from safelight.service.audit import AuditLog
from safelight.service.audit_buffer import AuditBuffer
from safelight.service.metrics import ServiceMetrics
from safelight.service.ratelimit import RateLimiter
from safelight.service.sessions import SessionStore
from safelight.service.settings import Settings
from safelight.service.tokens import TokenStore
from safelight.service.users import Lockout, UserStore
from safelight.store import Database
from safelight.store.database import default_home

T = TypeVar("T")
# A readiness check: () -> (ready, details). /readyz runs every one of them.
ReadinessCheck = Callable[[], tuple[bool, dict[str, Any]]]


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    audit: AuditLog
    users: UserStore
    tokens: TokenStore
    sessions: SessionStore
    lists: HashListStore
    metrics: ServiceMetrics
    login_limit: RateLimiter
    anonymous_limit: RateLimiter
    # Lookups' audit entries, written in batches (safelight.service.audit_buffer).
    lookup_audit: AuditBuffer
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    # Anything a later feature needs to share across requests (an index set, a webhook
    # queue): set it at startup under a name of its own.
    extensions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls, settings: Settings, db: Database, *, hasher: PasswordHasher | None = None
    ) -> ServiceContext:
        audit = AuditLog(db)
        lockout = Lockout(settings.lockout_threshold, timedelta(minutes=settings.lockout_minutes))
        ctx = cls(
            settings=settings,
            db=db,
            audit=audit,
            users=UserStore(db, audit=audit, hasher=hasher, lockout=lockout),
            tokens=TokenStore(
                db,
                audit=audit,
                use_audit_interval=timedelta(minutes=settings.token_use_audit_minutes),
            ),
            sessions=SessionStore(db, lifetime=timedelta(hours=settings.session_hours)),
            lists=HashListStore(db),
            metrics=ServiceMetrics(),
            login_limit=RateLimiter(settings.login_per_minute, what="login attempts"),
            anonymous_limit=RateLimiter(
                settings.anonymous_per_minute, what="requests without credentials"
            ),
            lookup_audit=AuditBuffer(
                audit,
                flush_entries=settings.audit_flush_entries,
                flush_seconds=settings.audit_flush_ms / 1000,
            ),
        )
        ctx.readiness["database"] = ctx._database_ready
        return ctx

    @property
    def home(self) -> Path:
        """Where indexes live: the ``home`` setting, else $SAFELIGHT_HOME or ./.safelight."""
        return self.settings.home or default_home()

    def shared(self, name: str, kind: type[T], build: Callable[[], T]) -> T:
        """The object every request shares under ``name`` in ``extensions``, made by
        ``build`` the first time it is asked for (a test may have put its own there)."""
        found = self.extensions.get(name)
        if not isinstance(found, kind):
            found = self.extensions[name] = build()
        return found

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        """E.g. ``"index"``: whether each index has caught up with the store."""
        self.readiness[name] = check

    def _database_ready(self) -> tuple[bool, dict[str, Any]]:
        try:
            self.db.check_current()
        except Exception as exc:  # any failure means not ready; the reason is shown
            from safelight.store.redact import redact

            return False, {"error": redact(str(exc))}
        return True, {"dialect": self.db.dialect}


async def context(request: Request) -> ServiceContext:
    """The FastAPI dependency giving a route the app's ServiceContext (async: no I/O, so
    no thread hop)."""
    ctx: ServiceContext = request.app.state.service
    return ctx


# The annotation routes use: ``def route(ctx: Context) -> ...``.
Context = Annotated[ServiceContext, Depends(context)]
