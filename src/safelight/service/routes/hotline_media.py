"""Captures of hotline items and the viewer's wellness: the JSON API (docs/wellness.md).

Captures are for analysts and admins. Previews are blurred (and greyscale unless the viewer
chose colour) on the server; the original is served only inside the caller's own reveal,
which only a signed-in person can open (a token has no eyes, and no viewing day), never
cached (``Cache-Control: no-store``). Uploads are read into memory only, never spooled to
a temporary file. Business logic lives in ``safelight.hotline.media`` and ``.wellness``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from safelight.errors import PermissionDeniedError
from safelight.hotline.known import needs_viewing
from safelight.hotline.media import Capture, CaptureStore, MediaPolicy
from safelight.hotline.media_render import render_preview
from safelight.hotline.wellness import WellnessStatus, WellnessStore
from safelight.hotline.wellness_settings import WellnessDefaults
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import ALL_ROLES, Principal, Role
from safelight.service.routes.hashing import UPLOAD_BODY
from safelight.service.uploads import form_file, form_text, read_form_in_memory

router = APIRouter(prefix="/api/v1", tags=["hotline media"])

VIEWERS = (Role.ADMIN, Role.ANALYST)
ITEM = "/hotline/items/{item_id}/captures"
CAPTURE = ITEM + "/{capture_id}"
PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def captures_of(ctx: ServiceContext) -> CaptureStore:
    def build() -> CaptureStore:
        s = ctx.settings
        policy = MediaPolicy(
            enabled=s.hotline_media_enabled,
            keys=s.hotline_media_key,
            max_bytes=s.hotline_media_max_bytes,
            max_seconds=s.hotline_media_max_seconds,
            retention=timedelta(days=s.hotline_media_days),
        )
        return CaptureStore(ctx.db, policy, audit=ctx.audit)

    return ctx.shared("hotline_captures", CaptureStore, build)


def wellness_of(ctx: ServiceContext) -> WellnessStore:
    def build() -> WellnessStore:
        s = ctx.settings
        defaults = WellnessDefaults(
            blur_percent=s.wellness_blur_percent,
            greyscale=s.wellness_greyscale,
            daily_limit_minutes=s.wellness_daily_limit_minutes,
            reveal_minutes=s.wellness_reveal_minutes,
            break_after_minutes=s.wellness_break_after_minutes,
            break_minutes=s.wellness_break_minutes,
            time_zone=s.wellness_time_zone,
        )
        return WellnessStore(ctx.db, defaults, audit=ctx.audit)

    return ctx.shared("hotline_wellness", WellnessStore, build)


def person(principal: Principal) -> str:
    """The viewer a reveal counts for: a signed-in person, never an API token."""
    if principal.kind != "user":
        raise PermissionDeniedError(
            "only a signed-in person can reveal material: viewing time is counted per person",
            code="people_only",
        )
    return principal.actor


def capture_links(capture: Capture) -> dict[str, str]:
    base = f"/api/v1/hotline/items/{capture.item_id}/captures/{capture.id}"
    return {"preview_url": f"{base}/preview", "reveal_url": f"{base}/reveal"}


def preview_bytes(ctx: ServiceContext, viewer: str, capture: Capture) -> bytes:
    settings = wellness_of(ctx).settings(viewer)
    poster = captures_of(ctx).poster(capture)
    return render_preview(poster, blur_percent=settings.blur_percent, greyscale=settings.greyscale)


def item_needs_viewing(ctx: ServiceContext, item_id: int) -> bool:
    with ctx.db.connect() as conn:
        return needs_viewing(conn, item_id)


def reveal_capture(
    ctx: ServiceContext, principal: Principal, item_id: int, capture_id: int
) -> dict[str, Any]:
    """Open a viewing (the page routes use this too); refusals raise, audited."""
    viewer = person(principal)
    capture = captures_of(ctx).get(item_id, capture_id)
    store = wellness_of(ctx)
    viewing = store.reveal(viewer, capture, needed=item_needs_viewing(ctx, item_id))
    base = f"/api/v1/hotline/items/{item_id}/captures/{capture_id}"
    return {
        "viewing": viewing.to_dict(),
        "original_url": f"{base}/original",
        "wellness": store.status(viewer).to_dict(),
    }


def blur_capture(
    ctx: ServiceContext, principal: Principal, item_id: int, capture_id: int
) -> dict[str, Any]:
    viewer = person(principal)
    capture = captures_of(ctx).get(item_id, capture_id)
    store = wellness_of(ctx)
    ended = store.blur(viewer, capture)
    return {"ended": ended, "wellness": store.status(viewer).to_dict()}


@router.post(
    ITEM,
    status_code=201,
    summary="Attach a capture (screenshot or screen recording) to an item; opt-in, sealed",
    openapi_extra=UPLOAD_BODY,
    responses={413: {"description": "Larger than hotline_media_max_bytes"}},
)
async def add_capture(
    item_id: int,
    request: Request,
    principal: Annotated[Principal, requires(*VIEWERS)],
    ctx: Context,
) -> dict[str, Any]:
    store = captures_of(ctx)
    store.check_writable()  # refused before a byte is read where the organisation opted out
    form = await read_form_in_memory(request, store.policy.max_bytes)
    try:
        data = await form_file(form).read()
        note = form_text(form, "note") or ""
    finally:
        await form.close()
    capture = await run_in_threadpool(store.add, item_id, data, by=principal.actor, note=note)
    return {**capture.to_dict(), **capture_links(capture)}


@router.get(ITEM, summary="An item's captures (records and links; no media)")
def list_captures(
    item_id: int, _: Annotated[Principal, requires(*VIEWERS)], ctx: Context
) -> dict[str, Any]:
    captures = captures_of(ctx).list(item_id)
    return {
        "item_id": item_id,
        "viewing_needed": item_needs_viewing(ctx, item_id),
        "captures": [{**c.to_dict(), **capture_links(c)} for c in captures],
    }


@router.get(
    CAPTURE + "/preview",
    summary="A capture's preview: blurred, greyscale by default (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def capture_preview(
    item_id: int,
    capture_id: int,
    principal: Annotated[Principal, requires(*VIEWERS)],
    ctx: Context,
) -> Response:
    capture = captures_of(ctx).get(item_id, capture_id)
    png = await run_in_threadpool(preview_bytes, ctx, principal.actor, capture)
    return Response(png, media_type="image/png", headers=PRIVATE)


@router.post(CAPTURE + "/reveal", summary="Reveal a capture: opens a viewing (audited)")
def reveal(
    item_id: int,
    capture_id: int,
    principal: Annotated[Principal, requires(*VIEWERS)],
    ctx: Context,
) -> dict[str, Any]:
    return reveal_capture(ctx, principal, item_id, capture_id)


@router.post(CAPTURE + "/blur", summary="Blur again: ends the caller's viewing (audited)")
def blur(
    item_id: int,
    capture_id: int,
    principal: Annotated[Principal, requires(*VIEWERS)],
    ctx: Context,
) -> dict[str, Any]:
    return blur_capture(ctx, principal, item_id, capture_id)


@router.get(
    CAPTURE + "/original",
    summary="The capture as attached: only inside the caller's open reveal, never cached",
    response_class=Response,
)
def capture_original(
    item_id: int,
    capture_id: int,
    principal: Annotated[Principal, requires(*VIEWERS)],
    ctx: Context,
) -> Response:
    viewer = person(principal)
    store = captures_of(ctx)
    capture = store.get(item_id, capture_id)
    if wellness_of(ctx).open_viewing(viewer, capture.id) is None:
        raise PermissionDeniedError(
            "this capture is not revealed to you now: reveal it first (POST .../reveal)",
            code="not_revealed",
        )
    return Response(store.original(capture), media_type=capture.content_type, headers=PRIVATE)


class WellnessChanges(BaseModel):
    model_config = {"extra": "forbid"}

    blur_percent: int | None = None
    greyscale: bool | None = None
    daily_limit_minutes: int | None = None
    break_after_minutes: int | None = None
    break_minutes: int | None = None
    time_zone: str | None = None


class AdminLimit(BaseModel):
    model_config = {"extra": "forbid"}

    admin_limit_minutes: int | None


def _status(ctx: ServiceContext, viewer: str) -> WellnessStatus:
    return wellness_of(ctx).status(viewer)


@router.get("/me/wellness", summary="The caller's viewing time today, limit, breaks, settings")
def my_wellness(principal: Annotated[Principal, requires(*ALL_ROLES)], ctx: Context) -> Any:
    return _status(ctx, principal.actor).to_dict()


@router.patch(
    "/me/wellness",
    summary="Change the caller's own wellness settings (null: the organisation's default)",
)
def change_my_wellness(
    changes: WellnessChanges,
    principal: Annotated[Principal, requires(*ALL_ROLES)],
    ctx: Context,
) -> Any:
    given = changes.model_dump(exclude_unset=True)
    store = wellness_of(ctx)
    store.update_own(principal.actor, given, by=principal.actor)
    return _status(ctx, principal.actor).to_dict()


@router.put(
    "/hotline/wellness/users/{username}",
    summary="Set one user's daily viewing limit (admin; null: the organisation's)",
)
def set_user_limit(
    username: str,
    body: AdminLimit,
    principal: Annotated[Principal, requires(Role.ADMIN)],
    ctx: Context,
) -> Any:
    user = ctx.users.get(username)  # NotFoundError for an unknown user
    viewer = f"user:{user.username}"
    wellness_of(ctx).set_admin_limit(viewer, body.admin_limit_minutes, by=principal.actor)
    return _status(ctx, viewer).to_dict()
