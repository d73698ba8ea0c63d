"""The app factory: ``create_app(settings)`` builds the FastAPI app over one store.

The store must already be migrated (``safelight db upgrade``): the service never migrates on
its own, and refuses a store that is not at this release's revisions (StoreError, code
``schema_outdated``) before it serves anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from safelight import __version__
from safelight.service.access import Access, route_table, undeclared_routes
from safelight.service.context import ServiceContext
from safelight.service.fastpath import LookupFastPath, fast_routes
from safelight.service.http_errors import install_error_handlers
from safelight.service.lookup import LookupEngine
from safelight.service.middleware import RequestContextMiddleware
from safelight.service.routes import (
    auth,
    cases,
    cybertip,
    hashing,
    health,
    hma_curation,
    hma_hashing,
    hma_matching,
    hma_status,
    hotline,
    hotline_classification,
    hotline_items,
    hotline_media,
    imports,
    lists,
    lookup,
    native,
    queue_pages,
    referral_pages,
    referrals,
    routing,
    routing_pages,
    scans,
    wellness_pages,
    workspace,
    workspace_classification,
)
from safelight.service.routes.hma_common import install_hma_errors
from safelight.service.settings import Settings
from safelight.service.web import install_pages
from safelight.store import Database

# Requests are matched against routers in this order: the lookup routes, which platforms
# call on every upload, come first (each router tried before costs a request a little).
ROUTERS = (
    lookup.router,
    hma_matching.router,
    health.router,
    auth.router,
    native.router,
    hma_status.router,
    hma_hashing.router,
    hma_curation.router,
    lists.router,
    imports.router,
    hashing.router,
    scans.router,
    cases.router,
    hotline.router,
    referrals.router,
    cybertip.router,
    referral_pages.router,
    hotline_media.router,
    hotline_items.router,
    queue_pages.router,
    hotline_classification.router,
    routing.router,
    routing_pages.router,
    workspace.router,
    workspace_classification.router,
    wellness_pages.router,
)


def open_store(settings: Settings) -> Database:
    """The settings' store, checked (not migrated): StoreError if it is not current."""
    return Database.open(settings.database_url, schema=settings.database_schema, migrate=False)


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    hasher: PasswordHasher | None = None,
    extend: Callable[[FastAPI, ServiceContext], None] | None = None,
    fast_path: bool = True,
) -> FastAPI:
    """The service app. ``db`` defaults to the settings' store (checked, never migrated);
    ``extend(app, ctx)`` adds routes or checks before the access check runs;
    ``fast_path=False`` leaves every lookup to its route (the fast path's oracle in tests)."""
    settings = settings or Settings()
    store = db or open_store(settings)
    ctx = ServiceContext.build(settings, store, hasher=hasher)
    engine = install_lookup(ctx)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.start()  # loads in the background: /readyz says when lookups are served
        try:
            yield
        finally:
            engine.stop()
            ctx.lookup_audit.close()  # nothing audited is lost on a graceful shutdown
            scans = ctx.extensions.get("scans")
            if scans is not None:
                scans.close()  # running scans stop after their batch, resumable
        if db is None:  # the app opened the store: the app closes it
            store.dispose()

    app = FastAPI(
        title="Safelight",
        version=__version__,
        summary="Find known material by hash: the matching service.",
        docs_url="/docs" if settings.docs else None,
        redoc_url=None,
        lifespan=lifespan,
        # Safelight exports its own Prometheus metrics (/metrics) and JSON logs; FastAPI's
        # OpenTelemetry hooks would otherwise check for providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.service = ctx
    install_error_handlers(app)
    install_hma_errors(app)
    install_pages(app)
    for router in ROUTERS:
        app.include_router(router)
    # Actions on match (flood counting, webhook deliveries): their thread lives with the app.
    from safelight.webhooks.service import install_actions

    install_actions(app, ctx)
    if extend is not None:
        extend(app, ctx)
    bad = undeclared_routes(app)
    if bad:
        raise RuntimeError(f"routes without exactly one access declaration: {', '.join(bad)}")
    if fast_path:  # inside the request middleware: ids, metrics and logs as on any route
        app.add_middleware(LookupFastPath, ctx=ctx, routes=fast_routes(route_table(app)))
    app.add_middleware(RequestContextMiddleware, metrics=ctx.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def install_lookup(ctx: ServiceContext) -> LookupEngine:
    """The lookup engine at ``ctx.extensions["lookup"]``, with its readiness check and the
    index figures in the metrics (refreshed with every new view)."""

    def publish(engine: LookupEngine) -> None:
        for signal_type, state in engine.state().items():
            ctx.metrics.set_index_state(
                signal_type,
                entries=state["size"],
                generation=state["generation"] or 0,
                updated_at=state.get("updated_at") or 0.0,
            )

    engine = LookupEngine(
        ctx.lists, home=ctx.home, poll_seconds=ctx.settings.lookup_poll_seconds, on_view=publish
    )
    ctx.extensions["lookup"] = engine
    ctx.add_readiness_check("index", engine.readiness)
    return engine


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the bearer scheme and each operation's roles
    (``x-safelight-roles``; ``["public"]`` for routes anyone may call)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearer"] = {"type": "http", "scheme": "bearer"}
    table = route_table(app)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            access: Access | None = table.get((method.upper(), path))
            if access is None:
                continue
            operation["x-safelight-roles"] = _role_names(access)
            if not access.public:
                operation["security"] = [{"bearer": []}]
    app.openapi_schema = schema
    return schema


def _role_names(access: Access) -> list[str]:
    if access.public:
        return ["public"]
    return sorted(role.value for role in access.roles)
