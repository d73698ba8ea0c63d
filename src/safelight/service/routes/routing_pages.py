"""Workspace pages of routing and takedown: partners, an item's takedown page (and its
panel on the item page), a report's timeline, and the metrics page with its CSV files.

Plain forms, POST-redirect-GET, no JavaScript. A form that fails is shown again with the
problem in the reader's language and what was typed; the library does every check.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from safelight.errors import SafelightError
from safelight.hotline.i18n import format_date, translations
from safelight.hotline.messages_routing import DONE, PARTNER_KINDS
from safelight.hotline.metrics import Metrics, csv_text, load_metrics
from safelight.hotline.metrics_view import charts_of, metrics_tables
from safelight.hotline.panels import ItemPanel, PanelContext, register_notes, register_panel
from safelight.hotline.partners import Partner
from safelight.hotline.references import display, parse_reference
from safelight.hotline.routing_view import (
    country_choices,
    country_name,
    parse_form_time,
    partner_view,
    problem_lines,
    takedown_view,
    timeline_rows,
)
from safelight.referrals.countries import ISO_3166_ALPHA2
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.routes.routing import takedown_of
from safelight.service.web import (
    WORKSPACE,
    gettext_for,
    page_access,
    page_language,
    render_page,
    see_other,
)

router = APIRouter(tags=["workspace routing"])
READERS = (Role.ANALYST, Role.ADMIN, Role.AUDITOR)
ACTORS = (Role.ANALYST, Role.ADMIN)
Reader = Annotated[Principal, page_access(*READERS)]
Actor = Annotated[Principal, page_access(*ACTORS)]
Admin = Annotated[Principal, page_access(Role.ADMIN)]
PARTNER_FIELDS = ("country", "kind", "name", "contact", "notes")
ITEM_DONE = ("referred", "host_notified", "still_online", "removed")


# --- partners --------------------------------------------------------------------------------


def _partners_page(
    request: Request,
    principal: Principal,
    ctx: ServiceContext,
    *,
    values: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = page_language(request)
    gettext = translations(language).gettext
    directory = takedown_of(ctx).partners
    partners = sorted(directory.all(), key=lambda p: (p.country, p.kind.value, p.name.casefold()))
    settings = ctx.settings
    fallback = directory.by_name(settings.fallback_partner) if settings.fallback_partner else None
    done = request.query_params.get("done", "")
    return render_page(
        request,
        principal,
        "workspace/partners.html",
        title=gettext("Partners"),
        page="partners",
        status_code=status_code,
        partners=[partner_view(p, language) for p in partners],
        is_admin=principal.has_any([Role.ADMIN]),
        countries=country_choices(ISO_3166_ALPHA2, language),
        kinds=[(key, gettext(label)) for key, label in PARTNER_KINDS.items()],
        values=values or {"country": "", "kind": "hotline", "name": "", "contact": "", "notes": ""},
        problems=problems or [],
        done=gettext(DONE[done]) if done in DONE else "",
        own_country=country_name(settings.organisation_country, language),
        fallback_name=settings.fallback_partner or "",
        fallback=partner_view(fallback, language) if fallback else None,
    )


def _partner_form(form: Any, *, with_active: bool) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in PARTNER_FIELDS}
    if with_active:
        values["active"] = form.get("active") == "on"
    return values


@router.get("/workspace/partners", response_class=HTMLResponse, summary="The partners page")
def partners_page(request: Request, principal: Reader, ctx: Context) -> HTMLResponse:
    return _partners_page(request, principal, ctx)


@router.post("/workspace/partners", response_class=HTMLResponse, summary="Add a partner")
async def add_partner_form(request: Request, principal: Admin, ctx: Context) -> Response:
    values = _partner_form(await request.form(), with_active=False)
    try:
        partner = takedown_of(ctx).partners.add(principal.actor, values)
    except SafelightError as error:
        lines = problem_lines(error, page_language(request))
        return _partners_page(
            request, principal, ctx, values=values, problems=lines, status_code=error.http_status
        )
    return see_other(f"{WORKSPACE}/partners?done=partner_added#partner-{partner.id}")


def _edit_page(
    request: Request,
    principal: Principal,
    partner: Partner,
    *,
    values: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = page_language(request)
    gettext = translations(language).gettext
    shown = partner_view(partner, language)
    return render_page(
        request,
        principal,
        "workspace/partner_edit.html",
        title=gettext("Edit partner %(name)s") % {"name": partner.name},
        page="partners",
        status_code=status_code,
        partner=shown,
        values=values
        or {**{name: shown[name] for name in PARTNER_FIELDS}, "active": partner.active},
        countries=country_choices(ISO_3166_ALPHA2, language),
        kinds=[(key, gettext(label)) for key, label in PARTNER_KINDS.items()],
        problems=problems or [],
    )


@router.get(
    "/workspace/partners/{partner_id}", response_class=HTMLResponse, summary="Edit a partner"
)
def edit_partner_page(
    partner_id: int, request: Request, principal: Admin, ctx: Context
) -> HTMLResponse:
    return _edit_page(request, principal, takedown_of(ctx).partners.get(partner_id))


@router.post(
    "/workspace/partners/{partner_id}", response_class=HTMLResponse, summary="Save a partner"
)
async def save_partner_form(
    partner_id: int, request: Request, principal: Admin, ctx: Context
) -> Response:
    directory = takedown_of(ctx).partners
    partner = directory.get(partner_id)
    values = _partner_form(await request.form(), with_active=True)
    try:
        directory.update(principal.actor, partner_id, values)
    except SafelightError as error:
        lines = problem_lines(error, page_language(request))
        return _edit_page(
            request,
            principal,
            partner,
            values=values,
            problems=lines,
            status_code=error.http_status,
        )
    return see_other(f"{WORKSPACE}/partners?done=partner_saved#partner-{partner_id}")


# --- an item's routing and takedown ----------------------------------------------------------


def _load_panel(context: PanelContext) -> dict[str, Any]:
    can_act = context.principal.has_any(ACTORS)
    return {
        **takedown_view(
            takedown_of(context.ctx),
            context.item,
            context.language,
            can_act=can_act,
            conn=context.conn,
        ),
        "csrf_token": context.csrf_token,
        "back": "item",
    }


ROUTING_TEMPLATE = "workspace/panels/routing.html"
register_panel(ItemPanel("routing", 50, ROUTING_TEMPLATE, _load_panel))
# what the panel's forms (refer, host notice, re-check) tell the item page they did
register_notes(done={code: DONE[code] for code in ITEM_DONE})


def _takedown_page(
    request: Request,
    principal: Principal,
    ctx: ServiceContext,
    item_id: int,
    *,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = page_language(request)
    gettext = translations(language).gettext
    takedown = takedown_of(ctx)
    with ctx.db.connect() as conn:
        item = takedown.item(item_id, conn=conn)
        view = takedown_view(takedown, item, language, can_act=principal.has_any(ACTORS), conn=conn)
    done = request.query_params.get("done", "")
    return render_page(
        request,
        principal,
        "workspace/takedown.html",
        title=gettext("Routing and takedown"),
        page="queue",
        status_code=status_code,
        problems=problems or [],
        done=gettext(DONE[done]) if done in DONE else "",
        # the values the item page gives the panel's template, by the same name
        values={**view, "csrf_token": principal.session_csrf or "", "back": "page"},
    )


@router.get(
    "/workspace/items/{item_id}/takedown",
    response_class=HTMLResponse,
    summary="An item's routing suggestion, takedown actions and timeline",
)
def takedown_page(item_id: int, request: Request, principal: Reader, ctx: Context) -> HTMLResponse:
    return _takedown_page(request, principal, ctx, item_id)


async def _act(
    request: Request, principal: Principal, ctx: ServiceContext, item_id: int, action: str
) -> Response:
    form = await request.form()
    text = {key: str(form.get(key) or "") for key in ("partner_id", "at", "note", "online", "back")}
    takedown = takedown_of(ctx)
    try:
        if action == "refer":
            field = "referred_at"
            partner = int(text["partner_id"]) if text["partner_id"].isdigit() else None
            takedown.refer(
                principal.actor,
                item_id,
                partner_id=partner,
                at=parse_form_time(text["at"], field),
                note=text["note"],
            )
            done = "referred"
        elif action == "host-notice":
            at = parse_form_time(text["at"], "hp_notified_at")
            takedown.notify_host(principal.actor, item_id, at=at, note=text["note"])
            done = "host_notified"
        else:
            online = text["online"] == "yes"
            at = parse_form_time(text["at"], "checked_at" if online else "removed_at")
            done = takedown.recheck(
                principal.actor, item_id, online=online, at=at, note=text["note"]
            ).value
    except SafelightError as error:
        lines = problem_lines(error, page_language(request))
        return _takedown_page(
            request, principal, ctx, item_id, problems=lines, status_code=error.http_status
        )
    if text["back"] == "item":
        return see_other(f"{WORKSPACE}/items/{item_id}?done={done}#panel-routing")
    return see_other(f"{WORKSPACE}/items/{item_id}/takedown?done={done}")


@router.post("/workspace/items/{item_id}/refer", summary="Refer an item (form)")
async def refer_form(item_id: int, request: Request, principal: Actor, ctx: Context) -> Response:
    return await _act(request, principal, ctx, item_id, "refer")


@router.post("/workspace/items/{item_id}/host-notice", summary="Record a host notice (form)")
async def host_notice_form(
    item_id: int, request: Request, principal: Actor, ctx: Context
) -> Response:
    return await _act(request, principal, ctx, item_id, "host-notice")


@router.post("/workspace/items/{item_id}/recheck", summary="Record a re-check (form)")
async def recheck_form(item_id: int, request: Request, principal: Actor, ctx: Context) -> Response:
    return await _act(request, principal, ctx, item_id, "recheck")


@router.get(
    "/workspace/reports/{reference}/timeline",
    response_class=HTMLResponse,
    summary="The takedown timeline of every item of a report",
)
def report_timeline_page(
    reference: str, request: Request, principal: Reader, ctx: Context
) -> HTMLResponse:
    language = page_language(request)
    events = takedown_of(ctx).report_timeline(reference)  # NotFoundError if malformed
    shown = display(parse_reference(reference) or "")
    gettext = translations(language).gettext
    return render_page(
        request,
        principal,
        "workspace/report_timeline.html",
        title=gettext("Timeline of report %(reference)s") % {"reference": shown},
        page="queue",
        reference=shown,
        timeline=timeline_rows(events, language),
    )


# --- metrics ---------------------------------------------------------------------------------


@router.get("/workspace/metrics", response_class=HTMLResponse, summary="The takedown metrics")
def metrics_page(
    request: Request,
    principal: Reader,
    ctx: Context,
    since: str | None = None,
    until: str | None = None,
) -> HTMLResponse:
    language = page_language(request)
    gettext = gettext_for(request)
    problems: list[str] = []
    status_code = 200
    try:
        metrics: Metrics = load_metrics(ctx.db, since=since, until=until)
    except SafelightError as error:
        problems, status_code = problem_lines(error, language), error.http_status
        metrics = load_metrics(ctx.db)
    return render_page(
        request,
        principal,
        "workspace/metrics.html",
        title=gettext("Metrics"),
        page="metrics",
        status_code=status_code,
        problems=problems,
        since=since or "",
        until=until or "",
        period_query=_period_query(metrics),
        as_of=format_date(metrics.as_of, language),
        tables=metrics_tables(metrics, language),
        charts=charts_of(metrics, language),
    )


@router.get("/workspace/metrics.csv", summary="The metrics page's numbers as CSV")
def metrics_csv(
    principal: Reader,
    ctx: Context,
    table: str = "months",
    since: str | None = None,
    until: str | None = None,
) -> Response:
    metrics = load_metrics(ctx.db, since=since, until=until)
    rows = metrics.table(table)
    key = {"months": "month", "countries": "country", "networks": "network"}[table]
    period = "-".join(part for part in (metrics.since, metrics.until) if part) or "all"
    return Response(
        csv_text(rows, key),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="safelight-{table}-{period}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _period_query(metrics: Metrics) -> str:
    parts = [f"since={metrics.since}"] if metrics.since else []
    parts += [f"until={metrics.until}"] if metrics.until else []
    return "".join(f"&{part}" for part in parts)
