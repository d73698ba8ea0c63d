"""The hotline's public routes: the report page, its JSON API, and status by reference.

Anyone may call them (``public()``, which also rate-limits requests without credentials);
submissions have a tighter limit of their own (``report_per_minute`` per client address)
and a body limit. The page works without JavaScript: a plain form POST, protected against
cross-site submission by a double-submit token (a random value in a SameSite=Strict cookie
and in the form, which must match) and, where the browser sends one, an Origin check.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from safelight.constants import (
    HOTLINE_MAX_BODY_BYTES,
    HOTLINE_MAX_CONTACT,
    HOTLINE_MAX_DESCRIPTION,
    HOTLINE_MAX_URLS,
)
from safelight.errors import InputError, NotFoundError, RateLimitedError
from safelight.hotline.i18n import choose_language, format_date, format_number, translations
from safelight.hotline.messages import STATUSES
from safelight.hotline.pages import problem_lines, render, site_type_choices
from safelight.hotline.references import display, new_reference
from safelight.hotline.reports import ReportProblem, ReportRejected, ReportStore, Submission
from safelight.service.access import client_of, public
from safelight.service.context import Context, ServiceContext
from safelight.service.ratelimit import RateLimiter

router = APIRouter(tags=["hotline"])
FORM_COOKIE = "sl_report_form"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make Origin "null"
    "Cache-Control": "no-store",
}


class ReportRequest(BaseModel):
    model_config = {"extra": "forbid"}

    urls: list[str] = Field(min_length=1, max_length=HOTLINE_MAX_URLS)
    description: str = Field(default="", max_length=HOTLINE_MAX_DESCRIPTION)
    site_type: str | None = None
    contact: str | None = Field(default=None, max_length=HOTLINE_MAX_CONTACT)
    language: str | None = None


def reports_of(ctx: ServiceContext) -> ReportStore:
    return ctx.shared(
        "hotline_reports",
        ReportStore,
        lambda: ReportStore(
            ctx.db,
            contact_key=ctx.settings.report_contact_key,
            contact_retention=timedelta(days=ctx.settings.report_contact_days),
        ),
    )


def submit_limit(ctx: ServiceContext) -> RateLimiter:
    return ctx.shared(
        "hotline_submit_limit",
        RateLimiter,
        lambda: RateLimiter(ctx.settings.report_per_minute, what="reports"),
    )


async def bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > HOTLINE_MAX_BODY_BYTES:
        raise InputError(
            f"the body is larger than {HOTLINE_MAX_BODY_BYTES} bytes", code="too_large"
        )
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > HOTLINE_MAX_BODY_BYTES:
            raise InputError(
                f"the body is larger than {HOTLINE_MAX_BODY_BYTES} bytes", code="too_large"
            )
    request._body = body  # later readers (request.form()) reuse it
    return body


def page_language(request: Request, explicit: str | None = None) -> str:
    return choose_language(
        explicit or request.query_params.get("lang"), request.headers.get("accept-language")
    )


# --- JSON API --------------------------------------------------------------------------------


@router.post(
    "/api/v1/reports",
    status_code=201,
    summary="Report URLs to the hotline (no account); answers with the report's reference",
)
async def submit_report(
    _: Annotated[None, public()], request: Request, ctx: Context
) -> JSONResponse:
    submit_limit(ctx).hit(client_of(request))
    body = await bounded_body(request)
    try:
        parsed = ReportRequest.model_validate_json(body)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InputError(f"{where}: {first['msg']}", code="invalid_request", field=where) from None
    language = choose_language(parsed.language, request.headers.get("accept-language"))
    submission = Submission(
        urls=parsed.urls,
        description=parsed.description,
        site_type=parsed.site_type,
        contact=parsed.contact,
        language=language,
        channel="api",
    )
    submitted = await run_in_threadpool(reports_of(ctx).submit, submission)
    out = submitted.to_dict()
    out["status_url"] = f"/api/v1/reports/{submitted.reference}/status"
    return JSONResponse(out, status_code=201)


@router.get(
    "/api/v1/reports/{reference}/status",
    summary="A report's status, for whoever holds its reference",
)
async def report_status(
    _: Annotated[None, public()], reference: str, ctx: Context
) -> dict[str, Any]:
    found = await run_in_threadpool(reports_of(ctx).status, reference)
    return found.to_dict()


# --- pages -----------------------------------------------------------------------------------


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=PAGE_HEADERS)


def _report_page(
    ctx: ServiceContext,
    language: str,
    token: str,
    *,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    response = _html(
        render(
            "report.html",
            language,
            "/report",
            page="report",
            form_token=token,
            values=values or {"urls": "", "description": "", "site_type": "", "contact": ""},
            problems=problems or [],
            site_types=site_type_choices(language),
            max_urls=format_number(HOTLINE_MAX_URLS, language),
            max_description=HOTLINE_MAX_DESCRIPTION,
            max_contact=HOTLINE_MAX_CONTACT,
            contact_days=format_number(ctx.settings.report_contact_days, language),
        ),
        status,
    )
    response.set_cookie(
        FORM_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=ctx.settings.cookie_secure,
        path="/report",
    )
    return response


@router.get("/report", response_class=HTMLResponse, summary="The public report form")
def report_page(_: Annotated[None, public()], request: Request, ctx: Context) -> HTMLResponse:
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    return _report_page(ctx, page_language(request), token)


@router.post("/report", response_class=HTMLResponse, summary="Send the public report form")
async def report_form(_: Annotated[None, public()], request: Request, ctx: Context) -> Response:
    language = page_language(request)
    fresh = secrets.token_urlsafe(32)
    try:
        await bounded_body(request)
    except InputError:
        problem = ReportProblem("", "too_large", "too large")
        return _report_page(
            ctx, language, fresh, problems=problem_lines([problem], language), status=413
        )
    form = await request.form()
    language = page_language(request, str(form.get("lang") or "") or None)
    values = {
        name: str(form.get(name) or "") for name in ("urls", "description", "site_type", "contact")
    }
    cookie, sent = request.cookies.get(FORM_COOKIE, ""), str(form.get("form_token") or "")
    if not cookie or not hmac.compare_digest(cookie, sent) or not _same_origin(request):
        problem = ReportProblem("", "form_expired", "form token missing or wrong")
        lines = problem_lines([problem], language)
        return _report_page(ctx, language, fresh, values=values, problems=lines, status=400)
    try:
        submit_limit(ctx).hit(client_of(request))
    except RateLimitedError:
        lines = problem_lines([ReportProblem("", "rate_limited", "")], language)
        return _report_page(ctx, language, cookie, values=values, problems=lines, status=429)
    submission = Submission(
        urls=values["urls"].splitlines(),
        description=values["description"],
        site_type=values["site_type"] or None,
        contact=values["contact"] or None,
        language=language,
    )
    try:
        submitted = await run_in_threadpool(reports_of(ctx).submit, submission)
    except ReportRejected as rejected:
        lines = problem_lines(
            rejected.report_problems, language, count=format_number(HOTLINE_MAX_URLS, language)
        )
        return _report_page(ctx, language, cookie, values=values, problems=lines, status=422)
    response = _html(
        render(
            "submitted.html",
            language,
            # switching language here keeps the reference in view (on its status page)
            f"/report/status?reference={display(submitted.reference)}",
            page="submitted",
            reference=display(submitted.reference),
            received=format_date(submitted.created_at, language),
            urls=format_number(submitted.urls, language),
        )
    )
    response.delete_cookie(FORM_COOKIE, path="/report")  # one form, one token
    return response


def _same_origin(request: Request) -> bool:
    """A browser's Origin header, where sent, must name this site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


@router.get("/report/status", response_class=HTMLResponse, summary="A report's status page")
def status_page(
    _: Annotated[None, public()],
    request: Request,
    ctx: Context,
    reference: str | None = None,
) -> HTMLResponse:
    language = page_language(request)
    values: dict[str, Any] = {
        "page": "status",
        "status": None,
        "not_found": False,
        "typed": (reference or "")[:40],
        "example": display(new_reference()),
    }
    code = 200
    if reference:
        try:
            found = reports_of(ctx).status(reference)
        except NotFoundError:
            values["not_found"], code = True, 404
        else:
            gettext = translations(language).gettext
            name, text = STATUSES[found.status]
            values.update(
                status=found.status.value,
                status_name=gettext(name),
                status_text=gettext(text),
                reference=display(found.reference),
                typed=display(found.reference),
                received=format_date(found.created_at, language),
                updated=format_date(found.updated_at, language),
                urls=format_number(found.urls, language),
            )
    path = (
        f"/report/status?reference={values['reference']}" if values["status"] else "/report/status"
    )
    return _html(render("status.html", language, path, **values), code)
