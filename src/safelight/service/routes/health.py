"""Liveness, readiness and metrics: public, for load balancers and Prometheus."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from safelight.service.access import public
from safelight.service.context import Context

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz(_: Annotated[None, public()]) -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the store is reachable and migrated, and every registered check holds",
    responses={503: {"description": "Not ready; the failing checks say why"}},
)
def readyz(_: Annotated[None, public()], ctx: Context) -> JSONResponse:
    checks: dict[str, Any] = {}
    ready = True
    for name, check in sorted(ctx.readiness.items()):
        ok, details = check()
        checks[name] = {"ok": ok, **details}
        ready = ready and ok
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(_: Annotated[None, public()], ctx: Context) -> Response:
    payload, content_type = ctx.metrics.render()
    return Response(payload, media_type=content_type)
