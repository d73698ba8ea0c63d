"""The workspace's referral pages: every referral with its status and a form to build one
for a country; one referral with its manifest, fields, verification, download, and the
mark-sent and supersede forms; every CyberTipline report with its status, the reason of a
failure and a retry button.

Thin over the same helpers as the JSON routes (``routes.referrals``, ``routes.cybertip``),
so the rules (analysts refer hotline items only, every act audited by the person) are the
same. Plain forms, POST-redirect-GET; a form that cannot be carried out shows its page
again with the reason.
"""

from __future__ import annotations

from contextlib import closing
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from safelight.errors import SafelightError, UsageError
from safelight.hotline.i18n import format_date
from safelight.hotline.messages_referrals import (
    ACT_FAILED,
    BUILD_FAILED,
    CATEGORIES,
    CYBERTIP_STATUSES,
    DONE,
    FAILED_BANNER,
    HEADLINE,
    RECIPIENT_ROLES,
    RECIPIENT_SHORT,
    REFERRAL_STATUSES,
    RETRIED,
    SOURCE_KINDS,
)
from safelight.referrals.audit import audit_log, referral_target
from safelight.referrals.countries import validate_country
from safelight.referrals.cybertipline.status import FAILED
from safelight.referrals.cybertipline.store import ReportStore
from safelight.referrals.cybertipline.views import RETRYABLE
from safelight.referrals.roles import DEFAULT_ROLE, ROLES
from safelight.referrals.stored import package_zip, verify_recorded
from safelight.service.audit import AuditLog
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.routes import cybertip as cybertip_api
from safelight.service.routes import referrals as api
from safelight.service.web import (
    gettext_for,
    page_access,
    page_language,
    register_page_context,
    render_page,
    see_other,
)

router = APIRouter(tags=["workspace"])
BASE = "/workspace/referrals"
CYBERTIP = "/workspace/cybertip"
Reader = Annotated[Principal, page_access(*api.READERS)]
Builder = Annotated[Principal, page_access(*api.BUILDERS)]
TipReader = Annotated[Principal, page_access(*cybertip_api.READERS)]
TipSubmitter = Annotated[Principal, page_access(*cybertip_api.SUBMITTERS)]


def _when(request: Request) -> Any:
    language = page_language(request)
    return lambda moment: format_date(moment, language) if moment else ""


def _shared(request: Request, who: Principal) -> dict[str, Any]:
    return {
        "when": _when(request),
        "statuses": REFERRAL_STATUSES,
        "recipients": RECIPIENT_SHORT,
        "recipient_roles": {name: RECIPIENT_ROLES[name] for name in ROLES},
        "source_kinds": SOURCE_KINDS,
        "headline": HEADLINE,
        "categories": CATEGORIES,
        "can_build": who.has_any(api.BUILDERS),
        "all_sources": who.has_any((Role.ADMIN, Role.INVESTIGATOR)),
        "sees_cybertip": who.has_any(cybertip_api.READERS),
    }


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- the list and the build form ---------------------------------------------------------


def _list_page(
    request: Request,
    who: Principal,
    ctx: ServiceContext,
    *,
    country: str = "",
    problem: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    gettext = gettext_for(request)
    code = None
    if country:
        try:
            code = validate_country(country)
        except SafelightError as exc:
            problem, status_code = exc.message, 400
    found = api.visible_referrals(ctx, who, code, 200)
    return render_page(
        request,
        who,
        "workspace/referrals.html",
        title=gettext("Referrals"),
        page="referrals",
        status_code=status_code,
        referrals=found,
        country=country,
        problem=problem,
        problem_intro=gettext(BUILD_FAILED),
        form=form or {"recipient_role": DEFAULT_ROLE, "hotline": "on"},
        **_shared(request, who),
    )


@router.get(BASE, response_class=HTMLResponse, summary="Referrals and the build form")
def referrals_page(request: Request, who: Reader, ctx: Context, country: str = "") -> HTMLResponse:
    return _list_page(request, who, ctx, country=country)


@router.post(BASE, response_class=HTMLResponse, summary="Build a referral (the form)")
async def build_form(request: Request, who: Builder, ctx: Context) -> Response:
    form = await request.form()
    fields = {
        name: _text(form, name)
        for name in ("country", "recipient_role", "hotline", "references", "case", "geo", "scan")
    }
    try:
        body = _new_referral(fields)
        record = await run_in_threadpool(api.build_for, ctx, who, body)
    except (SafelightError, ValueError) as exc:
        message = exc.message if isinstance(exc, SafelightError) else str(exc)
        status = exc.http_status if isinstance(exc, SafelightError) else 400
        return _list_page(request, who, ctx, problem=message, form=fields, status_code=status)
    return see_other(f"{BASE}/{record.id}?done=built")


def _new_referral(fields: dict[str, str]) -> api.NewReferral:
    """The form's fields as the JSON route's body (the same checks follow)."""
    body: dict[str, Any] = {
        "country": fields["country"],
        "recipient_role": fields["recipient_role"] or DEFAULT_ROLE,
    }
    if fields["hotline"]:
        references = [r for r in fields["references"].replace("\n", ",").split(",") if r.strip()]
        body["hotline"] = {"references": references} if references else {}
    if fields["case"]:
        geo = [g.strip() for g in fields["geo"].splitlines() if g.strip()]
        body["case"] = {"name": fields["case"], "geo": geo}
    if fields["scan"]:
        if not fields["scan"].isdigit():
            raise ValueError(f"scan run {fields['scan']!r}: a run is a number")
        body["scan"] = int(fields["scan"])
    return api.NewReferral.model_validate(body)


# --- one referral ------------------------------------------------------------------------


def _verification(ctx: ServiceContext, record_id: int, check: int | None) -> Any:
    """The verification the audit log holds as entry ``check`` (the one the person just
    asked for: the page after the POST shows it without checking again)."""
    if check is None or check < 1:
        return None
    with closing(AuditLog(ctx.db).entries(after=check - 1)) as entries:
        entry = next(entries, None)
    if entry is None or entry.seq != check or entry.action != "referral.verified":
        return None
    return entry.details if entry.target == f"referral:{record_id}" else None


def _referral_page(
    request: Request,
    who: Principal,
    ctx: ServiceContext,
    referral_id: int,
    *,
    check: int | None = None,
    done: str = "",
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    gettext = gettext_for(request)
    record = api.visible_referral(ctx, who, referral_id)
    return render_page(
        request,
        who,
        "workspace/referral.html",
        title=gettext("Referral %(id)s") % {"id": record.id},
        page="referrals",
        status_code=status_code,
        record=record,
        verification=_verification(ctx, record.id, check),
        done=gettext(DONE[done]) if done in DONE else "",
        problem=problem,
        problem_intro=gettext(ACT_FAILED),
        can_change=who.has_any(api.BUILDERS)
        and (api.hotline_only(record) or who.has_any((Role.ADMIN, Role.INVESTIGATOR))),
        **_shared(request, who),
    )


@router.get(f"{BASE}/{{referral_id}}", response_class=HTMLResponse, summary="One referral")
def referral_page(
    request: Request,
    referral_id: int,
    who: Reader,
    ctx: Context,
    check: int | None = None,
    done: str = "",
) -> HTMLResponse:
    return _referral_page(request, who, ctx, referral_id, check=check, done=done)


@router.post(f"{BASE}/{{referral_id}}/verify", summary="Verify the package (the form)")
async def verify_form(request: Request, referral_id: int, who: Reader, ctx: Context) -> Response:
    record = api.visible_referral(ctx, who, referral_id)
    written: list[int] = []

    def audit(event: str, details: dict[str, Any], conn: Any = None) -> None:
        target = referral_target(event, details)
        written.append(ctx.audit.record(who.actor, event, target, details, conn=conn).seq)

    await run_in_threadpool(verify_recorded, record, ctx.home, audit=audit)
    # The page after the redirect shows the result as the audit log recorded it.
    return see_other(f"{BASE}/{referral_id}?check={written[0]}#verification")


@router.get(
    f"{BASE}/{{referral_id}}/package.zip",
    summary="Download the package (only when it verifies)",
    response_class=Response,
)
def download_page(referral_id: int, who: Reader, ctx: Context) -> Response:
    record = api.visible_referral(ctx, who, referral_id)
    data = package_zip(record, ctx.home, audit=audit_log(ctx.audit, who.actor))
    name = f"referral-{record.id}-{record.country}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type="application/zip", headers=headers)


@router.post(f"{BASE}/{{referral_id}}/sent", summary="Mark a referral sent (the form)")
async def sent_form(request: Request, referral_id: int, who: Builder, ctx: Context) -> Response:
    form = await request.form()
    try:
        body = api.Sent(to=_text(form, "to") or " ")
        await run_in_threadpool(api.mark_sent, ctx, who, referral_id, body)
    except SafelightError as exc:
        return _referral_page(
            request, who, ctx, referral_id, problem=exc.message, status_code=exc.http_status
        )
    return see_other(f"{BASE}/{referral_id}?done=sent")


@router.post(f"{BASE}/{{referral_id}}/supersede", summary="Supersede a referral (the form)")
async def supersede_form(
    request: Request, referral_id: int, who: Builder, ctx: Context
) -> Response:
    form = await request.form()
    reason, role = _text(form, "reason"), _text(form, "recipient_role") or None
    try:
        if not reason:
            raise UsageError("say why the referral is superseded", field="reason")
        body = api.Supersede(reason=reason, recipient_role=role)
        record = await run_in_threadpool(api.supersede, ctx, who, referral_id, body)
    except SafelightError as exc:
        return _referral_page(
            request, who, ctx, referral_id, problem=exc.message, status_code=exc.http_status
        )
    return see_other(f"{BASE}/{record.id}?done=superseded")


# --- CyberTipline reports ----------------------------------------------------------------


@router.get(CYBERTIP, response_class=HTMLResponse, summary="CyberTipline reports and retry")
def cybertip_page(
    request: Request, who: TipReader, ctx: Context, retried: int | None = None
) -> HTMLResponse:
    return _cybertip_page(request, who, ctx, retried=retried)


def _cybertip_page(
    request: Request,
    who: Principal,
    ctx: ServiceContext,
    *,
    retried: int | None = None,
    problem: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    gettext = gettext_for(request)
    store = ReportStore(ctx.db)
    found = store.list_reports()
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "status": r.status,
            "reason": r.reason,
            "origin": r.origin,
            "remote_id": r.remote_id,
            "attempts": r.attempts,
            "updated_at": r.updated_at,
            "expires_at": r.expires_at(),
            "can_retry": r.status in RETRYABLE,
        }
        for r in found
    ]
    notice = _retried_notice(gettext, ctx, retried) if retried is not None else ""
    steps = {r.id: store.steps(r.id) for r in found if r.status == FAILED}
    return render_page(
        request,
        who,
        "workspace/cybertip.html",
        title=gettext("CyberTipline reports"),
        page="referrals",
        status_code=status_code,
        problem=problem,
        problem_intro=gettext(ACT_FAILED),
        reports=rows,
        steps=steps,
        notice=notice,
        tip_statuses=CYBERTIP_STATUSES,
        can_retry=who.has_any(cybertip_api.SUBMITTERS),
        when=_when(request),
    )


def _retried_notice(gettext: Any, ctx: ServiceContext, report_id: int) -> str:
    try:
        report = ReportStore(ctx.db).get(report_id)
    except SafelightError:
        return ""
    if report.status in RETRIED:
        values = {"id": report.id, "reason": report.reason or ""}
        return str(gettext(RETRIED[report.status]) % values)
    status = gettext(CYBERTIP_STATUSES.get(report.status, report.status))
    return str(gettext(RETRIED["other"]) % {"id": report.id, "status": status})


@router.post(f"{CYBERTIP}/{{report_id}}/retry", summary="Retry a failed report (the form)")
async def retry_form(request: Request, report_id: int, who: TipSubmitter, ctx: Context) -> Response:
    try:
        await run_in_threadpool(cybertip_api.retry, ctx, who, report_id)
    except SafelightError as exc:
        return _cybertip_page(request, who, ctx, problem=exc.message, status_code=exc.http_status)
    return see_other(f"{CYBERTIP}?retried={report_id}#report-{report_id}")


def failed_reports_banner(
    request: Request, who: Principal, ctx: ServiceContext
) -> dict[str, list[str]]:
    """On every page, for those who can act on them: how many reports failed."""
    if not who.has_any(cybertip_api.READERS):
        return {}
    count = ReportStore(ctx.db).count(FAILED)
    if not count:
        return {}
    return {"banners": [gettext_for(request)(FAILED_BANNER) % {"count": count}]}


register_page_context(failed_reports_banner)
