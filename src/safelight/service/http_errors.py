"""One error shape for the native API, mapped here and nowhere else::

    {"error": {"code": "not_found", "message": "list 'X' does not exist", "details": {...}}}

The status comes from the library's exception tree (``SafelightError.http_status``),
``details`` holds ``field`` (the parameter the error is about), ``problems`` (a
ValidationError's lines) or, for a malformed request, ``fields``: one ``{field, message}``
per bad field. Every message passes through ``redact``: no credential reaches a response.
An unexpected exception is logged with its traceback and answered 500 ``internal`` with the
request id, nothing more.

Routes with another contract (the HMA-compatible ones) register their own shape for their
path prefix with ``register_error_format``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from safelight.errors import AuthenticationError, RateLimitedError, SafelightError
from safelight.service.logs import REQUEST_ID
from safelight.store.redact import redact

# (status, code, message, details) -> the response, for routes under a path prefix.
ErrorFormat = Callable[[int, str, str, dict[str, Any]], JSONResponse]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def native_error(status: int, code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    body = {"error": {"code": code, "message": redact(message), "details": details}}
    return JSONResponse(body, status_code=status)


def register_error_format(app: FastAPI, prefix: str, formatter: ErrorFormat) -> None:
    """Answer errors of paths under ``prefix`` with ``formatter`` (longest prefix wins)."""
    app.state.error_formats[prefix] = formatter


# (request, status, code, message) -> a page, for HTML routes under a path prefix.
ErrorPage = Callable[[Request, int, str, str], Response]


def register_error_page(app: FastAPI, prefix: str, page: ErrorPage) -> None:
    """Answer errors of paths under ``prefix`` with a page (``page`` words the message)."""
    app.state.error_pages[prefix] = page


def error_response(
    request: Request, status: int, code: str, message: str, details: dict[str, Any]
) -> Response:
    formats: dict[str, ErrorFormat] = getattr(request.app.state, "error_formats", {})
    path = request.url.path
    pages: dict[str, ErrorPage] = getattr(request.app.state, "error_pages", {})
    page = max((p for p in pages if path == p or path.startswith(p + "/")), key=len, default=None)
    if page is not None:
        return pages[page](request, status, code, redact(message))
    chosen = max((p for p in formats if path.startswith(p)), key=len, default=None)
    formatter = formats[chosen] if chosen is not None else native_error
    service = getattr(request.app.state, "service", None)
    if service is not None:
        service.metrics.errors.labels(code).inc()
    return formatter(status, code, message, details)


def safelight_error_details(exc: SafelightError) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if exc.field is not None:
        details["field"] = exc.field
    problems = getattr(exc, "problems", None)
    if problems:
        details["problems"] = [
            {"location": redact(str(where)), "reason": redact(str(why))} for where, why in problems
        ]
    return details


async def _safelight_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SafelightError)
    response = error_response(
        request, exc.http_status, exc.code, exc.message, safelight_error_details(exc)
    )
    if isinstance(exc, AuthenticationError):
        response.headers["WWW-Authenticate"] = 'Bearer realm="safelight"'
    if isinstance(exc, RateLimitedError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = []
    for error in exc.errors():
        where = [str(part) for part in error.get("loc", ())]
        # ("body", "username") -> "username"; ("query", "limit") -> "limit"
        name = ".".join(where[1:]) if len(where) > 1 else ".".join(where)
        fields.append(
            {"field": name, "location": where[0] if where else "", "message": error["msg"]}
        )
    message = "invalid request: " + "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return error_response(request, 422, "invalid_request", message, {"fields": fields})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = str(exc.detail) if exc.detail else code
    response = error_response(request, exc.status_code, code, message, {})
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def internal_error(request: Request) -> Response:
    """The answer to an unexpected exception (the middleware logs the traceback)."""
    request_id = REQUEST_ID.get() or ""
    message = f"internal error (request id {request_id}); the service log has the details"
    return error_response(request, 500, "internal", message, {"request_id": request_id})


def install_error_handlers(app: FastAPI) -> None:
    app.state.error_formats = {}
    app.state.error_pages = {}
    app.add_exception_handler(SafelightError, _safelight_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
