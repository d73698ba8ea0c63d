"""Wellness in the workspace: the wellness page, the item page's media panel, one capture's
page, and the forms that attach, reveal and blur again (no JavaScript; POST-redirect-GET).

Every workspace page shows today's viewing time in its header and, when due, a break (or
limit) banner: ``wellness_page_context`` is registered with ``register_page_context``. The
media panel (order 40) shows blurred greyscale previews; a reveal shows the original for at
most ``wellness_reveal_minutes`` (the page hides it by CSS when the time is up, and the
server stops serving it). Refusals come back as a page in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from safelight.constants import WELLNESS_BLUR_PERCENT_MAX, WELLNESS_BLUR_PERCENT_MIN
from safelight.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    UsageError,
)
from safelight.hotline.i18n import format_date, format_number, translations
from safelight.hotline.known import needs_viewing
from safelight.hotline.messages_wellness import (
    ADMIN_SAVED,
    CAPTURE_TITLE,
    NOT_ATTACHED,
    SAVED,
    SETTING_PROBLEMS,
    STAYS_BLURRED,
)
from safelight.hotline.panels import ItemPanel, PanelContext, register_panel
from safelight.hotline.wellness_settings import OWN_FIELDS, read_form, whole_number
from safelight.hotline.wellness_view import (
    banners,
    capture_card,
    header_note,
    refusal_text,
    status_values,
    upload_problem,
)
from safelight.service.access import authenticate
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.routes.hotline_media import (
    blur_capture,
    captures_of,
    reveal_capture,
    wellness_of,
)
from safelight.service.sessions import SESSION_COOKIE
from safelight.service.uploads import form_text, read_form_in_memory
from safelight.service.web import (
    PageAccess,
    gettext_for,
    page_access,
    page_language,
    register_page_context,
    render_page,
    safe_next,
    see_other,
)

router = APIRouter(tags=["workspace"])
VIEWER_ROLES = frozenset({Role.ANALYST, Role.ADMIN})
Viewer = Annotated[Principal, page_access(*VIEWER_ROLES)]
WELLNESS = "/workspace/wellness"
CAPTURE_PAGE = "/workspace/items/{item_id}/captures/{capture_id}"


def _views(principal: Principal) -> bool:
    return principal.kind == "user" and principal.has_any(VIEWER_ROLES)


def wellness_page_context(
    request: Request, principal: Principal, ctx: ServiceContext
) -> Mapping[str, Any]:
    """Today's viewing time in every page's header; the break or limit banner when due."""
    if not _views(principal):
        return {}
    language = page_language(request)
    status = wellness_of(ctx).status(principal.actor)
    return {"header_notes": [header_note(status, language)], "banners": banners(status, language)}


register_page_context(wellness_page_context)


def _media_panel(context: PanelContext) -> Mapping[str, Any] | None:
    principal, ctx = context.principal, context.ctx
    if not principal.has_any(VIEWER_ROLES):
        return None
    item_id = int(context.item["id"])
    store = captures_of(ctx)
    status = wellness_of(ctx).status(principal.actor)
    return {
        "cards": [capture_card(c, status, context.language) for c in store.list(item_id)],
        "viewing_needed": needs_viewing(context.conn, item_id),
        "limit_reached": status.limit_reached,
        "limit_text": refusal_text("daily_limit", status, context.language),
        "media_enabled": store.policy.enabled and store.policy.keys is not None,
        "retention_days": format_number(store.policy.retention.days, context.language),
        "item_id": item_id,
        "token": context.csrf_token,
        "back": f"/workspace/items/{item_id}",
    }


register_panel(ItemPanel("media", 40, "workspace/panels/media.html", _media_panel))


# --- the wellness page -------------------------------------------------------------------


def _wellness_page(
    request: Request,
    principal: Principal,
    ctx: ServiceContext,
    *,
    form: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
    admin_form: Mapping[str, str] | None = None,
    invalid: set[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    language = page_language(request)
    gettext = translations(language).gettext
    store = wellness_of(ctx)
    status = store.status(principal.actor)
    settings = status.settings
    if form is None:
        own = settings.own
        form = {name: _form_text(own.get(name)) for name in OWN_FIELDS}
    open_card = None
    if status.open_viewing is not None and status.open_viewing.capture_id is not None:
        try:
            capture = captures_of(ctx).get(
                status.open_viewing.item_id, status.open_viewing.capture_id
            )
            open_card = capture_card(capture, status, language)
        except NotFoundError:  # deleted (retention) while revealed
            open_card = None
    saved = request.query_params.get("saved")
    return render_page(
        request,
        principal,
        "workspace/wellness.html",
        title=gettext("Wellness"),
        page="wellness",
        status_code=status_code,
        today=status_values(status, language),
        open_card=open_card,
        reveal_minutes=format_number(round(settings.reveal_minutes), language),
        defaults=store.defaults,
        ceiling=settings.ceiling_minutes,
        blur_low=WELLNESS_BLUR_PERCENT_MIN,
        blur_high=WELLNESS_BLUR_PERCENT_MAX,
        form=form,
        problems=problems or [],
        invalid=invalid or set(),
        is_admin=principal.has_any({Role.ADMIN}),
        admin_form=admin_form or {"username": "", "admin_limit_minutes": ""},
        saved=_saved_line(saved, gettext) if saved else None,
    )


def _saved_line(saved: str, gettext: Any) -> str | None:
    if saved == "1":
        return str(gettext(SAVED))
    if saved.startswith("user:"):
        return str(gettext(ADMIN_SAVED) % {"name": saved[5:155]})
    return None


def _form_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _setting_problem(exc: UsageError, ctx: ServiceContext, viewer: str, gettext: Any) -> str:
    """The refused field's problem in the reader's language, with its bounds."""
    field = exc.field if exc.field in SETTING_PROBLEMS else "blur_percent"
    store = wellness_of(ctx)
    low = {"break_minutes": store.defaults.break_minutes}.get(field, WELLNESS_BLUR_PERCENT_MIN)
    high = {
        "daily_limit_minutes": store.settings(viewer).ceiling_minutes,
        "break_after_minutes": store.defaults.break_after_minutes,
    }.get(field, WELLNESS_BLUR_PERCENT_MAX)
    return str(gettext(SETTING_PROBLEMS[field]) % {"low": low, "high": high, "name": ""})


@router.get(WELLNESS, response_class=HTMLResponse, summary="Your viewing time and settings")
def wellness_page(request: Request, principal: Viewer, ctx: Context) -> HTMLResponse:
    return _wellness_page(request, principal, ctx)


@router.post(WELLNESS, summary="Save your wellness settings (page form)")
async def save_wellness(request: Request, principal: Viewer, ctx: Context) -> Response:
    form = await request.form()
    typed = {name: str(form.get(name) or "")[:64] for name in OWN_FIELDS}
    store = wellness_of(ctx)
    changes, refused = read_form(typed, store.settings(principal.actor), store.defaults)
    if not refused:
        try:
            store.update_own(principal.actor, changes, by=principal.actor)
        except UsageError as exc:  # the rules changed in between (an admin's new limit)
            refused = [exc]
    if refused:
        gettext = gettext_for(request)
        problems = [_setting_problem(exc, ctx, principal.actor, gettext) for exc in refused]
        invalid = {exc.field for exc in refused if exc.field}
        return _wellness_page(
            request,
            principal,
            ctx,
            form=typed,
            problems=problems,
            invalid=invalid,
            status_code=400,
        )
    return see_other(f"{WELLNESS}?saved=1")


@router.post(WELLNESS + "/limits", summary="Set a user's daily viewing limit (admin form)")
async def save_user_limit(
    request: Request,
    principal: Annotated[Principal, page_access(Role.ADMIN)],
    ctx: Context,
) -> Response:
    form = await request.form()
    typed = {
        "username": str(form.get("username") or "").strip()[:150],
        "admin_limit_minutes": str(form.get("admin_limit_minutes") or "").strip()[:10],
    }
    gettext = gettext_for(request)
    try:
        user = ctx.users.get(typed["username"])
    except NotFoundError:
        problem = gettext(SETTING_PROBLEMS["username"]) % {"name": typed["username"]}
        return _wellness_page(
            request, principal, ctx, admin_form=typed, problems=[problem], status_code=400
        )
    text = typed["admin_limit_minutes"]
    try:
        minutes = whole_number("admin_limit_minutes", text) if text else None
        wellness_of(ctx).set_admin_limit(f"user:{user.username}", minutes, by=principal.actor)
    except UsageError:
        problem = gettext(SETTING_PROBLEMS["admin_limit_minutes"])
        return _wellness_page(
            request, principal, ctx, admin_form=typed, problems=[problem], status_code=400
        )
    return see_other(f"{WELLNESS}?saved=user:{user.username}")


# --- one capture, and the forms ----------------------------------------------------------


@router.get(CAPTURE_PAGE, response_class=HTMLResponse, summary="One capture (page)")
def capture_page(
    request: Request, item_id: int, capture_id: int, principal: Viewer, ctx: Context
) -> HTMLResponse:
    language = page_language(request)
    capture = captures_of(ctx).get(item_id, capture_id)
    status = wellness_of(ctx).status(principal.actor)
    with ctx.db.connect() as conn:
        needed = needs_viewing(conn, item_id)
    gettext = translations(language).gettext
    return render_page(
        request,
        principal,
        "workspace/capture.html",
        title=gettext(CAPTURE_TITLE) % {"id": capture_id, "item": item_id},
        page="queue",
        card=capture_card(capture, status, language),
        viewing_needed=needed,
        limit_reached=status.limit_reached,
        limit_text=refusal_text("daily_limit", status, language),
        delete_after=format_date(capture.delete_after, language),
        back=request.url.path,
    )


def _back(form: Any, default: str) -> str:
    value = form.get("next")
    return safe_next(value if isinstance(value, str) else default)


def _notice(
    request: Request, principal: Principal, text: tuple[str, str], back: str, status_code: int
) -> HTMLResponse:
    heading, message = text
    return render_page(
        request,
        principal,
        "workspace/media_notice.html",
        title=heading,
        page="queue",
        status_code=status_code,
        heading=heading,
        message=message,
        back=back,
    )


@router.post(CAPTURE_PAGE + "/reveal", summary="Reveal a capture (page form; audited)")
async def reveal_form(
    request: Request, item_id: int, capture_id: int, principal: Viewer, ctx: Context
) -> Response:
    back = _back(await request.form(), CAPTURE_PAGE.format(item_id=item_id, capture_id=capture_id))
    try:
        reveal_capture(ctx, principal, item_id, capture_id)
    except (PermissionDeniedError, ConflictError) as exc:
        if exc.code not in ("daily_limit", "no_viewing_needed"):
            raise
        language = page_language(request)
        status = wellness_of(ctx).status(principal.actor)
        heading = translations(language).gettext(STAYS_BLURRED)
        text = refusal_text(exc.code, status, language)
        return _notice(request, principal, (heading, text), back, exc.http_status)
    return see_other(f"{back}#capture-{capture_id}")


@router.post(CAPTURE_PAGE + "/blur", summary="Blur a capture again (page form; audited)")
async def blur_form(
    request: Request, item_id: int, capture_id: int, principal: Viewer, ctx: Context
) -> Response:
    back = _back(await request.form(), CAPTURE_PAGE.format(item_id=item_id, capture_id=capture_id))
    blur_capture(ctx, principal, item_id, capture_id)
    return see_other(f"{back}#capture-{capture_id}")


@dataclass(frozen=True)
class CaptureFormAccess(PageAccess):
    """Page access for the attach form. Its multipart body holds the capture, so it is read
    into memory only (never a temporary file), and only once the caller is known to hold a
    role; a session's form must then carry its ``csrf_token`` like every page form."""

    async def __call__(self, request: Request) -> Principal:
        ctx: ServiceContext = request.app.state.service
        cookie = request.cookies.get(SESSION_COOKIE)
        bearer = request.headers.get("authorization")
        session = ctx.sessions.resolve(cookie) if cookie and not bearer else None
        limit = captures_of(ctx).policy.max_bytes
        if session is None:  # a token (no CSRF to check), or no credentials: 401
            principal = authenticate(ctx, request)
            self._check_roles(principal.roles)
            request.state.capture_form = await read_form_in_memory(request, limit)
        else:
            self._check_roles(session.user.roles)
            form = request.state.capture_form = await read_form_in_memory(request, limit)
            token = form.get("csrf_token")
            try:
                principal = authenticate(
                    ctx, request, csrf=token if isinstance(token, str) else None
                )
            except PermissionDeniedError:
                await form.close()  # the capture's bytes go at once; the handler never runs
                raise
        request.state.principal = principal
        return principal

    def _check_roles(self, roles: frozenset[Role]) -> None:
        if roles.isdisjoint(self.roles):
            allowed = ", ".join(sorted(role.value for role in self.roles))
            raise PermissionDeniedError(f"this needs one of the roles: {allowed}")


@router.post("/workspace/items/{item_id}/captures", summary="Attach a capture (page form)")
async def attach_form(
    request: Request,
    item_id: int,
    principal: Annotated[Principal, Depends(CaptureFormAccess(VIEWER_ROLES))],
    ctx: Context,
) -> Response:
    form = request.state.capture_form
    store = captures_of(ctx)
    back = _back(form, f"/workspace/items/{item_id}")
    try:
        store.check_writable()
        upload = form.get("file")
        data = await upload.read() if isinstance(upload, UploadFile) and upload.filename else b""
        if not data:
            raise InputError("no file", code="no_file", field="file")
        note = form_text(form, "note") or ""
        capture = await run_in_threadpool(store.add, item_id, data, by=principal.actor, note=note)
    except (InputError, ConflictError, PermissionDeniedError) as exc:
        if isinstance(exc, AuthenticationError):
            raise
        language = page_language(request)
        heading = translations(language).gettext(NOT_ATTACHED)
        text = upload_problem(
            exc.code,
            language,
            max_bytes=store.policy.max_bytes,
            max_seconds=store.policy.max_seconds,
        )
        return _notice(request, principal, (heading, text), back, exc.http_status)
    finally:
        await form.close()
    return see_other(f"{back}#capture-{capture.id}")
