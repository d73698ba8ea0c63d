"""Who may call what: every route declares its roles, and everything else is denied.

A route declares its access with exactly one of these, as a parameter or in
``dependencies=[...]``::

    @router.get("/api/v1/lists")
    def lists(who: Principal = requires(Role.ADMIN, Role.ANALYST)) -> ...

    @router.get("/healthz")
    def healthz(_: None = public()) -> ...

``requires`` authenticates the request (``Authorization: Bearer <token>`` or the session
cookie; unsafe methods on a session must carry the CSRF header), then lets it through only if
the principal holds one of the roles: 401 without valid credentials, 403 without the role.
``public`` lets anyone through, rate-limited per client address.

The check runs on the event loop when it needs no I/O (a bearer token checked within
``token_cache_seconds``: every request of a busy API client), and in the thread pool when it
reads the store (a token not cached, a session): a thread hop costs a lookup more than the
lookup's own search.

``route_table(app)`` reads the declarations back from the routes themselves, and
``create_app`` refuses to build an app with a route that declares none (deny by default);
tests/test_service_access.py walks every route in the OpenAPI document with every role.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from safelight.errors import AuthenticationError, PermissionDeniedError
from safelight.service.context import ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.sessions import CSRF_HEADER, SESSION_COOKIE, csrf_matches
from safelight.service.tokens import Token, secret_digest

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Access:
    """A route's declaration: the roles it serves (empty and ``public``: anyone)."""

    roles: frozenset[Role]
    public: bool = False

    async def __call__(self, request: Request) -> Principal | None:
        ctx: ServiceContext = request.app.state.service
        if self.public:
            if not has_credentials(request):
                ctx.anonymous_limit.hit(client_of(request))
            return None
        principal = _cached_principal(ctx, request)
        if principal is None:
            principal = await run_in_threadpool(authenticate, ctx, request)
        request.state.principal = principal
        if not principal.has_any(self.roles):
            allowed = ", ".join(sorted(role.value for role in self.roles))
            raise PermissionDeniedError(f"this needs one of the roles: {allowed}")
        return principal


def requires(*roles: Role) -> Any:
    """The dependency a route uses to serve only ``roles`` (at least one)."""
    if not roles:
        raise ValueError("requires() needs at least one role; use public() for anyone")
    return Depends(Access(frozenset(roles)))


def public() -> Any:
    """The dependency of a route anyone may call (health, metrics, login)."""
    return Depends(Access(frozenset(), public=True))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def has_credentials(request: Request) -> bool:
    return bool(request.headers.get("authorization") or request.cookies.get(SESSION_COOKIE))


def authenticate(ctx: ServiceContext, request: Request, *, csrf: str | None = None) -> Principal:
    """Who ``request`` acts as. A session's unsafe request must echo its CSRF token in the
    header, or in ``csrf`` (a page form's hidden field, which the caller read)."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationError(
                "Authorization must be 'Bearer <token>'", code="invalid_token"
            )
        return _token_cache(ctx).get(ctx, secret.strip(), client_of(request)).principal()
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        ctx.anonymous_limit.hit(client_of(request))
        raise AuthenticationError("sign in, or send 'Authorization: Bearer <token>'")
    session = ctx.sessions.resolve(session_id)
    if session is None:
        raise AuthenticationError("the session has expired or ended: sign in again")
    if request.method not in SAFE_METHODS and not csrf_matches(
        session.csrf_token, request.headers.get(CSRF_HEADER) or csrf
    ):
        raise PermissionDeniedError(
            f"missing or wrong {CSRF_HEADER} header (from login or GET /api/v1/me)", code="csrf"
        )
    user = session.user
    return Principal("user", user.username, user.roles, None, session_csrf=session.csrf_token)


def _cached_principal(ctx: ServiceContext, request: Request) -> Principal | None:
    return cached_principal(ctx, request.headers.get("authorization"))


def cached_principal(ctx: ServiceContext, authorization: str | None) -> Principal | None:
    """The principal of a well-formed bearer token (the ``Authorization`` header's value)
    checked recently: no I/O. None for anything else, which ``authenticate`` then judges."""
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    token = _token_cache(ctx).peek(ctx, secret.strip())
    return None if token is None else token.principal()


class TokenCache:
    """Checked tokens by digest for ``token_cache_seconds``, so the hot path does no SQL
    per request; a revoked token stops working within that time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._tokens: dict[str, tuple[Token, float]] = {}
        self._lock = threading.Lock()

    def peek(self, ctx: ServiceContext, secret: str) -> Token | None:
        """The token if it was checked within the cache time and is still active."""
        key, now = secret_digest(secret), time.monotonic()
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and now < cached[1] and cached[0].is_active(ctx.tokens.clock()):
            return cached[0]
        return None

    def get(self, ctx: ServiceContext, secret: str, client: str) -> Token:
        found = self.peek(ctx, secret)
        if found is not None:
            return found
        key, now = secret_digest(secret), time.monotonic()
        token = ctx.tokens.authenticate(secret, client=client)
        if self.seconds > 0:
            with self._lock:
                if len(self._tokens) > 10_000:
                    self._tokens.clear()
                self._tokens[key] = (token, now + self.seconds)
        return token


def _token_cache(ctx: ServiceContext) -> TokenCache:
    return ctx.shared(
        "token_cache", TokenCache, lambda: TokenCache(ctx.settings.token_cache_seconds)
    )


# --- the route table -------------------------------------------------------------------------


def api_routes(app: FastAPI) -> Iterator[tuple[str, frozenset[str], Dependant]]:
    """``(path, methods, dependant)`` of every API route, routers included (FastAPI keeps
    included routers as nested objects since 0.16x; older ones flatten them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - FastAPI before included-router contexts
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, frozenset(route.methods or ()), route.dependant
        return
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if isinstance(original, APIRoute):
            dependant = getattr(context, "dependant", None) or original.dependant
            path = context.path or original.path
            yield path, frozenset(context.methods or original.methods or ()), dependant


def route_access(dependant: Dependant) -> list[Access]:
    """Every access declaration of a route (correct routes have exactly one)."""
    return list(_declarations(dependant))


def _declarations(dependant: Dependant) -> Iterable[Access]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, Access):
            yield sub.call
        yield from _declarations(sub)


def route_table(app: FastAPI) -> dict[tuple[str, str], Access]:
    """``(METHOD, path) -> Access`` for every API route of ``app``."""
    table: dict[tuple[str, str], Access] = {}
    for path, methods, dependant in api_routes(app):
        found = route_access(dependant)
        if len(found) == 1:
            for method in methods:
                table[(method, path)] = found[0]
    return table


def undeclared_routes(app: FastAPI) -> list[str]:
    """Routes with no access declaration, or more than one."""
    return [
        f"{','.join(sorted(methods))} {path}"
        for path, methods, dependant in api_routes(app)
        if len(route_access(dependant)) != 1
    ]
