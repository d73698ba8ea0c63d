"""The request middleware (plain ASGI, cheap enough for the lookup hot path): request id in
and out, one JSON log line per request, HTTP metrics per route template, and a 500 in the
one error shape for any exception nothing else handled (logged with its traceback)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safelight.service.http_errors import internal_error
from safelight.service.logs import REQUEST_ID, request_id_from
from safelight.service.metrics import UNMATCHED_ROUTE, ServiceMetrics

access_log = logging.getLogger("safelight.service.access")
error_log = logging.getLogger("safelight.service.error")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "sent": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["sent"] = message["status"], True
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not state["sent"]:
                await internal_error(Request(scope))(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._finish(scope, request_id, int(state["status"]), seconds)
            REQUEST_ID.reset(token)

    def _finish(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED_ROUTE
        method = scope["method"]
        self.metrics.observe_request(method, template, status, seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        principal = scope.get("state", {}).get("principal")
        client = scope.get("client")
        access_log.info(
            "%s %s %d",
            method,
            scope["path"],
            status,
            extra={
                "request_id": request_id,  # on the record: a handler may format it later
                "method": method,
                "path": scope["path"],
                "route": template,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "client": client[0] if client else None,
                "principal": getattr(principal, "actor", None),
            },
        )
