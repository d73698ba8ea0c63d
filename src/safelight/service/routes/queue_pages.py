"""The queue and item pages of the workspace: ``/workspace/queue`` (filter form, sortable
table, paging, claim buttons) and ``/workspace/items/{id}`` (the item, the reports that
named it, its actions, then every registered panel in order).

Plain forms, no script: filters are a GET form, actions POST forms carrying the session's
CSRF token and a ``next`` page to return to (POST-redirect-GET, with ``done=`` or
``problem=`` telling the page what happened). The rules are the desk's
(``safelight.hotline.desk``), shared with the JSON API.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from safelight.errors import ConflictError, InputError, PermissionDeniedError, ValidationError
from safelight.hotline import hosting_panel  # noqa: F401  (registers the resolution panel)
from safelight.hotline.i18n import format_date, format_number, translations
from safelight.hotline.messages import SITE_TYPES
from safelight.hotline.messages_queue import (
    DONE,
    FILTER_FIELDS,
    FILTER_PROBLEM,
    ITEM_STATUSES,
    PROBLEMS,
    SORT_LABELS,
    UNKNOWN_FILTER,
)
from safelight.hotline.model import ItemStatus, SiteType, utc
from safelight.hotline.pages import render
from safelight.hotline.panels import (
    NoteKind,
    PanelContext,
    RenderedPanel,
    load_panels,
    note_message,
    register_notes,
)
from safelight.hotline.queue import QueueItem, QueuePage, QueueQuery, SortKey, parse_query
from safelight.hotline.references import display
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.routes.hotline_items import desk_of
from safelight.service.web import page_access, page_language, render_page, safe_next, see_other

router = APIRouter(tags=["workspace"])
Worker = Annotated[Principal, page_access(Role.ANALYST, Role.ADMIN)]
Reader = Annotated[Principal, page_access(Role.ANALYST, Role.ADMIN, Role.AUDITOR)]
QUEUE = "/workspace/queue"
NOTE_PARAMETERS = ("lang", "done", "problem", "item", "name")
PAGE_SIZES = (25, 50, 100, 200)
# A first click on a column sorts it this way (most reports first; otherwise ascending).
FIRST_DESCENDING = {SortKey.TIMES_REPORTED}
register_notes(done=DONE, problems=PROBLEMS)  # claim, assign, release, resolve


@router.get(QUEUE, response_class=HTMLResponse, summary="The analyst queue (page)")
def queue_page(request: Request, who: Reader, ctx: Context) -> HTMLResponse:
    gettext = translations(page_language(request)).gettext
    problems: list[str] = []
    status_code = 200
    try:
        query = parse_query(request.query_params.multi_items(), ignore=NOTE_PARAMETERS)
    except ValidationError as exc:
        query, status_code = QueueQuery(), 422
        for field, _ in exc.problems:
            if field in FILTER_FIELDS:
                problems.append(gettext(FILTER_PROBLEM) % {"field": gettext(FILTER_FIELDS[field])})
            else:
                problems.append(gettext(UNKNOWN_FILTER))
    page = desk_of(ctx).queue(query, me=who.name) if not problems else None
    return render_page(
        request,
        who,
        "workspace/queue.html",
        title=gettext("Queue"),
        page="queue",
        status_code=status_code,
        problems=problems,
        note=_note(request),
        typed=_typed(request),
        rows=[_row(item, page_language(request)) for item in page.items] if page else [],
        result=_result(page, request) if page else None,
        sort_links=_sort_links(query),
        page_links=_page_links(query, page) if page else [],
        statuses=[(s.value, gettext(label)) for s, label in ITEM_STATUSES.items()],
        site_types=[(t.value, gettext(label)) for t, label in SITE_TYPES.items()],
        sort_choices=[(key.value, gettext(label)) for key, label in SORT_LABELS.items()],
        page_sizes=PAGE_SIZES,
        analysts=_analysts(ctx),
        here=_here(request),
        can_work=who.has_any({Role.ANALYST, Role.ADMIN}),
    )


@router.get("/workspace/items/{item_id}", response_class=HTMLResponse, summary="One item (page)")
def item_page(request: Request, item_id: int, who: Reader, ctx: Context) -> HTMLResponse:
    language = page_language(request)
    gettext = translations(language).gettext
    view = desk_of(ctx).view(item_id)
    item = view.item
    here = f"/workspace/items/{item_id}"
    with ctx.db.connect() as conn:
        context = PanelContext(ctx, who, item, language, conn, who.session_csrf or "")
        panels = [
            (panel.key, _panel_html(panel, who, item, language, here))
            for panel in load_panels(context)
        ]
    claimed = item["claimed_at"]
    return render_page(
        request,
        who,
        "workspace/item.html",
        title=gettext("Item %(item)s") % {"item": item_id},
        page="queue",
        item=item,
        status_label=gettext(ITEM_STATUSES[ItemStatus(item["status"])]),
        reported=format_date(utc(item["reported_at"]), language),
        last_reported=format_date(utc(item["last_reported_at"]), language),
        times_reported=format_number(int(item["times_reported"]), language),
        claimed=format_date(utc(claimed), language) if claimed else "",
        reports=[
            {
                **report,
                "reference": display(report["reference"]),
                "when": format_date(utc(report["reported_at"]), language),
                "site_type_label": gettext(SITE_TYPES[SiteType(report["site_type"])])
                if report["site_type"]
                else "",
            }
            for report in view.reports
        ],
        panels=panels,
        note=_note(request),
        analysts=_analysts(ctx),
        here=here,
        can_work=who.has_any({Role.ANALYST, Role.ADMIN}),
    )


def _panel_html(
    panel: RenderedPanel, who: Principal, item: dict[str, Any], language: str, here: str
) -> Markup:
    """One panel's template with the page's basics and, as names of their own, its values
    (all of them also as ``values``, and the panel itself as ``panel``)."""
    names: dict[str, Any] = {
        "item": item,
        "item_id": item["id"],
        "principal": who,
        "roles": {role.value for role in who.roles},
        "csrf_token": who.session_csrf or "",
        "next": here,
    }
    names.update(panel.values)
    for reserved in ("template", "language", "path", "panel"):  # render()'s own parameters
        names.pop(reserved, None)
    return Markup(render(panel.template, language, here, values=panel.values, panel=panel, **names))


# --- actions ---------------------------------------------------------------------------------


@router.post("/workspace/items/{item_id}/claim", summary="Claim an item (page form)")
async def claim_form(request: Request, item_id: int, who: Worker, ctx: Context) -> RedirectResponse:
    form = await request.form()
    return _act(form.get("next"), item_id, "claimed", lambda: desk_of(ctx).claim(item_id, who))


@router.post("/workspace/items/{item_id}/assign", summary="Give an item to an analyst (form)")
async def assign_form(
    request: Request, item_id: int, who: Worker, ctx: Context
) -> RedirectResponse:
    form = await request.form()
    to = str(form.get("assignee") or "")
    return _act(
        form.get("next"),
        item_id,
        "assigned",
        lambda: desk_of(ctx).assign(item_id, to, who),
        name=to,
    )


@router.post("/workspace/items/{item_id}/release", summary="Release an item (page form)")
async def release_form(
    request: Request, item_id: int, who: Worker, ctx: Context
) -> RedirectResponse:
    form = await request.form()
    return _act(form.get("next"), item_id, "released", lambda: desk_of(ctx).release(item_id, who))


@router.post("/workspace/items/{item_id}/resolve", summary="Look up an item's host (form)")
async def resolve_form(
    request: Request, item_id: int, who: Worker, ctx: Context
) -> RedirectResponse:
    form = await request.form()
    return _act(form.get("next"), item_id, "resolved", lambda: desk_of(ctx).resolve(item_id, who))


def _act(target: Any, item_id: int, done: str, action: Any, name: str = "") -> RedirectResponse:
    """Run ``action``; back to ``target`` saying what happened (or why not)."""
    back = safe_next(target if isinstance(target, str) else None)
    if back == "/workspace":
        back = f"/workspace/items/{item_id}"
    try:
        action()
    except ConflictError:
        return see_other(_with(back, problem="held_by_other", item=str(item_id)))
    except InputError as exc:  # the assignee is not an enabled analyst
        if exc.field != "assignee":
            raise
        return see_other(_with(back, problem="assignee", item=str(item_id)))
    except PermissionDeniedError:
        return see_other(_with(back, problem="forbidden", item=str(item_id)))
    return see_other(_with(back, done=done, item=str(item_id), name=name))


def _with(url: str, **notes: str) -> str:
    parts = urlsplit(url)
    kept = [
        (key, value)
        for key, value in _pairs(parts.query)
        if key not in NOTE_PARAMETERS or key == "lang"
    ]
    kept += [(key, value) for key, value in notes.items() if value]
    return urlunsplit(("", "", parts.path, urlencode(kept), ""))


def _pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


# --- what the templates get ------------------------------------------------------------------


def _note(request: Request) -> dict[str, str] | None:
    """The line saying what the last action did, in the reader's language: the one its
    area registered for the code (``register_notes``; the queue's own, the panels')."""
    gettext = translations(page_language(request)).gettext
    params = request.query_params
    values = {"item": params.get("item", "")[:12], "name": params.get("name", "")[:150]}
    kinds: tuple[NoteKind, ...] = ("done", "problem")
    for kind in kinds:
        message = note_message(kind, params.get(kind, ""))
        if message is not None:
            return {"kind": kind, "text": gettext(message) % values}
    return None


def _typed(request: Request) -> dict[str, Any]:
    """What the filter form shows: the parameters as given (so a bad one can be fixed)."""
    params = request.query_params
    return {
        "status": set(params.getlist("status")),
        **{
            name: params.get(name, "")[:200]
            for name in FILTER_FIELDS
            if name not in {"status", "country"}
        },
        "country": ", ".join(params.getlist("country"))[:200],
    }


def _row(item: QueueItem, language: str) -> dict[str, Any]:
    gettext = translations(language).gettext
    return {
        "id": item.id,
        "url": item.url,
        "status": gettext(ITEM_STATUSES[item.status]),
        "country": item.hosting_country or "",
        "site_types": ", ".join(gettext(SITE_TYPES[t]) for t in item.site_types),
        "reported": format_date(item.reported_at, language),
        "last_reported": format_date(item.last_reported_at, language),
        "times": format_number(item.times_reported, language),
        "age": format_number(item.age_days, language),
        "assignee": item.assignee or "",
    }


def _result(page: QueuePage, request: Request) -> dict[str, str]:
    language = page_language(request)
    return {
        "total": format_number(page.total, language),
        "page": format_number(page.page, language),
        "pages": format_number(page.pages, language),
    }


def _link(query: QueueQuery, **changes: Any) -> str:
    params = query.to_params(**changes)
    return f"{QUEUE}?{urlencode(params)}" if params else QUEUE


def _sort_links(query: QueueQuery) -> dict[str, dict[str, str]]:
    links = {}
    for key in SortKey:
        current = query.sort == key
        descending = not query.descending if current else key in FIRST_DESCENDING
        links[key.value] = {
            "href": _link(query, sort=key, descending=descending, page=1),
            "sort": ("descending" if query.descending else "ascending") if current else "",
        }
    return links


def _page_links(query: QueueQuery, page: QueuePage) -> list[dict[str, Any]]:
    shown = sorted(
        {1, page.pages, *range(max(1, page.page - 2), min(page.pages, page.page + 2) + 1)}
    )
    return [{"number": n, "href": _link(query, page=n), "current": n == page.page} for n in shown]


def _analysts(ctx: ServiceContext) -> list[str]:
    return [
        user.username
        for user in ctx.users.list()
        if Role.ANALYST in user.roles and not user.disabled
    ]


def _here(request: Request) -> str:
    """This page's address without the notes of the last action: where forms return to."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in NOTE_PARAMETERS]
    return f"{request.url.path}?{urlencode(kept)}" if kept else request.url.path
