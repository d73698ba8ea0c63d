"""HMA's status routes: ``/status`` (readiness) and ``/status/live`` (liveness), plain text.

Public, as in HMA, for load balancers that already probe an HMA deployment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from safelight.service.access import public
from safelight.service.context import Context

router = APIRouter(tags=["hma"])

ALIVE = "I-AM-ALIVE"
HTML = "text/html; charset=utf-8"  # what HMA's Flask answers for a str body


def _text(body: str, status: int) -> PlainTextResponse:
    response = PlainTextResponse(body, status_code=status)
    response.headers["content-type"] = HTML
    return response


@router.get(
    "/status",
    summary="HMA readiness: 200 I-AM-ALIVE, 503 INDEX-NOT-LOADED or INDEX-STALE",
    response_class=PlainTextResponse,
)
def status(_: Annotated[None, public()], ctx: Context) -> PlainTextResponse:
    """The /readyz checks in HMA's words: a failing ``index`` check whose details say
    ``stale`` is INDEX-STALE; any other failing check is INDEX-NOT-LOADED."""
    stale = False
    for name, check in sorted(ctx.readiness.items()):
        ok, details = check()
        if ok:
            continue
        if name == "index" and details.get("stale"):
            stale = True
            continue
        return _text("INDEX-NOT-LOADED", 503)
    return _text("INDEX-STALE", 503) if stale else _text(ALIVE, 200)


@router.get(
    "/status/live", summary="HMA liveness: always 200 I-AM-ALIVE", response_class=PlainTextResponse
)
def status_live(_: Annotated[None, public()]) -> PlainTextResponse:
    return _text(ALIVE, 200)
