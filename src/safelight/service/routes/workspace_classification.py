"""The classification and hashes forms of the workspace (plain forms, no JavaScript).

Each form posts here and, once the library accepted it, goes back where it came from
(``back``: the item page's panel, or this module's own classification page) with a 303. A
refused form is answered with the classification page: the problem in the reader's
language above both panels, with what was typed kept. The rules and the audit trail are
the library's (``safelight.hotline.workbench``), as for the JSON API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from safelight.errors import SafelightError, UsageError, ValidationError
from safelight.hotline import classification_panels
from safelight.hotline import messages_classification as words
from safelight.hotline.classification import Assessment, item_row
from safelight.hotline.panels import RenderedPanel
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.routes.hotline_classification import workbench
from safelight.service.routes.lists import in_scope
from safelight.service.web import gettext_for, page_access, page_language, render_page, see_other

router = APIRouter(prefix="/workspace/items/{item_id}", tags=["workspace"])
Analyst = Annotated[Principal, page_access(Role.ANALYST, Role.ADMIN)]
FIELDS = ("illegality", "age_group", "gender", "site_type", "commercial", "notes")


@router.get("/classification", response_class=HTMLResponse, summary="Classify an item (page)")
def classification_page(
    item_id: int, request: Request, principal: Analyst, ctx: Context
) -> HTMLResponse:
    return _page(request, principal, ctx, item_id)


@router.post("/classification", summary="Save a classification (form)")
async def classify_form(item_id: int, request: Request, who: Analyst, ctx: Context) -> Response:
    form = await _form(request)

    def save() -> None:
        commercial = {"yes": True, "no": False}.get(form.get("commercial", ""))
        values = {name: form.get(name) or None for name in FIELDS[1:4]}
        assessment = Assessment.parse(
            form.get("illegality"), commercial=commercial, notes=form.get("notes"), **values
        )
        workbench(ctx).desk.classify(item_id, assessment, by=who.actor)

    return await _act(request, who, ctx, item_id, form, save)


@router.post("/confirm", summary="Confirm a classification (form)")
async def confirm_form(item_id: int, request: Request, who: Analyst, ctx: Context) -> Response:
    form = await _form(request)
    return await _act(
        request,
        who,
        ctx,
        item_id,
        form,
        lambda: workbench(ctx).desk.confirm(item_id, _version(form), by=who.actor),
    )


@router.post("/disagree", summary="Disagree with a classification (form)")
async def disagree_form(item_id: int, request: Request, who: Analyst, ctx: Context) -> Response:
    form = await _form(request)

    def save() -> None:
        desk = workbench(ctx).desk
        desk.disagree(item_id, _version(form), by=who.actor, reason=form.get("reason", ""))

    return await _act(request, who, ctx, item_id, form, save)


@router.post("/hashes", summary="Add hashes or link a scan run (form)")
async def hashes_form(item_id: int, request: Request, who: Analyst, ctx: Context) -> Response:
    form = await _form(request)

    def save() -> None:
        run = form.get("scan_run_id", "").strip()
        if run and not run.isdigit():
            raise UsageError("a scan run is a number", code="run_not_found")
        text = None if run else form.get("hashes", "")
        workbench(ctx).add_hashes(
            item_id, by=who.actor, text=text, scan_run_id=int(run) if run else None
        )

    return await _act(request, who, ctx, item_id, form, save)


@router.post("/bank", summary="Bank the item's hashes into a list (form)")
async def bank_form(item_id: int, request: Request, who: Analyst, ctx: Context) -> Response:
    form = await _form(request)

    def save() -> None:
        name = form.get("list", "")
        in_scope(who, name)
        workbench(ctx).bank(item_id, name, by=who.actor)

    return await _act(request, who, ctx, item_id, form, save)


@router.post("/known-check", summary="Match the item's hashes against the lists again (form)")
async def known_form(item_id: int, request: Request, who: Analyst, ctx: Context) -> Response:
    form = await _form(request)
    return await _act(
        request, who, ctx, item_id, form, lambda: workbench(ctx).known.check(item_id, by=who.actor)
    )


# --- helpers ---------------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _version(form: dict[str, str]) -> int:
    text = form.get("version", "")
    if not text.isdigit():
        raise UsageError(
            "the form lost the classification's version", code="classification_changed"
        )
    return int(text)


async def _act(
    request: Request,
    who: Principal,
    ctx: ServiceContext,
    item_id: int,
    form: dict[str, str],
    action: Callable[[], Any],
) -> Response:
    back = form.get("back", "")
    if not back.startswith(f"/workspace/items/{item_id}"):
        back = classification_panels.item_page(item_id, "classification")
    try:
        await run_in_threadpool(action)
    except SafelightError as exc:
        if exc.code == "unknown_item":
            raise
        lines = problem_lines(exc, form, gettext_for(request))
        return _page(request, who, ctx, item_id, problems=lines, typed=form, status=exc.http_status)
    return see_other(back)


def problem_lines(
    exc: SafelightError, form: dict[str, str], gettext: Callable[[str], str]
) -> list[str]:
    """A refusal in the reader's words (the library's English stays in the audit trail)."""
    if isinstance(exc, ValidationError) and exc.problems:
        lines: list[str] = []
        typed = form.get("hashes", "").splitlines()
        for field, reason in exc.problems:
            lines.append(_field_problem(field, reason, typed, gettext))
        return lines
    if exc.field == "list" and isinstance(exc, UsageError):
        return [gettext(words.PROBLEMS["allow_list"])]
    if exc.field == "scan_run_id":
        return [gettext(words.PROBLEMS["too_many_scan_items"])]
    if exc.code in words.PROBLEMS:
        return [gettext(words.PROBLEMS[exc.code])]
    return [gettext(words.PROBLEMS["other"]) % {"message": exc.message}]


def _field_problem(field: str, reason: str, typed: list[str], gettext: Callable[[str], str]) -> str:
    if field.startswith("hashes["):
        number = int(field[7:-1])
        line = typed[number - 1].strip() if number <= len(typed) else ""
        return gettext(words.PROBLEMS["hash_line"]) % {"number": number, "line": line}
    if field == "hashes":
        return gettext(words.PROBLEMS["hashes_missing"])
    label = gettext(words.FIELDS.get(field, field))
    if reason == "required":
        key = "required"
    elif reason.startswith("required for illegal"):
        key = "required_illegal"
    elif reason.startswith("one of"):
        key = "choice"
    else:
        key = "too_long"
    return gettext(words.PROBLEMS[key]) % {"field": label}


def _page(
    request: Request,
    principal: Principal,
    ctx: ServiceContext,
    item_id: int,
    *,
    problems: list[str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    language = page_language(request)
    here = f"/workspace/items/{item_id}/classification"
    with ctx.db.connect() as conn:
        item = item_row(conn, item_id)
        values = classification_panels.panel_values(
            ctx, principal, conn, item_id, language, back=here, typed=typed
        )
    panels = [
        RenderedPanel("hashes", "workspace/panels/hashes.html", values),
        RenderedPanel("classification", "workspace/panels/classification.html", values),
    ]
    title = gettext_for(request)(words.PAGE_TITLE) % {"number": item_id}
    return render_page(
        request,
        principal,
        "workspace/classification.html",
        title=title,
        page="queue",
        status_code=status,
        url=item["url"],
        item_id=item_id,
        panels=panels,
        problems=problems or [],
    )
