"""The workspace's own pages: sign in, sign out, and the home page that leads to the rest.

Each area (queue, partners, referrals, metrics, wellness) adds its pages in its own routes
module through ``safelight.service.web``. Signing in by form is protected like the public
report form: a random value in a SameSite=Strict cookie and in the form, which must match
(login CSRF), plus the login rate limits and lockout of the JSON sign-in.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from safelight.errors import AuthenticationError, RateLimitedError
from safelight.hotline.messages_workspace import LOGIN_PROBLEMS
from safelight.service.access import public
from safelight.service.context import Context
from safelight.service.roles import ALL_ROLES, Principal
from safelight.service.routes.auth import end_session, sign_in
from safelight.service.sessions import CSRF_COOKIE, SESSION_COOKIE
from safelight.service.web import (
    AREAS,
    LOGIN,
    LOGIN_FORM_COOKIE,
    WORKSPACE,
    gettext_for,
    login_page,
    page_access,
    render_page,
    safe_next,
    see_other,
)

router = APIRouter(tags=["workspace"], include_in_schema=True)


@router.get("/workspace/login", response_class=HTMLResponse, summary="The sign-in page")
def sign_in_page(
    request: Request, _: Annotated[None, public()], next: str = WORKSPACE
) -> HTMLResponse:
    return login_page(request, next, "", 200)


@router.post("/workspace/login", response_class=HTMLResponse, summary="Sign in with the form")
async def login_form(request: Request, _: Annotated[None, public()], ctx: Context) -> Response:
    form = await request.form()
    fields = {key: form.get(key) for key in ("username", "password", "next", "form_token")}
    text = {key: value if isinstance(value, str) else "" for key, value in fields.items()}
    target = safe_next(text["next"])
    cookie = request.cookies.get(LOGIN_FORM_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, text["form_token"]):
        return login_page(request, target, LOGIN_PROBLEMS["form_expired"], 400)
    if not text["username"] or not text["password"]:
        return login_page(request, target, LOGIN_PROBLEMS["missing"], 400)
    response = see_other(target)
    try:
        sign_in(ctx, request, response, text["username"], text["password"])
    except RateLimitedError:
        return login_page(request, target, LOGIN_PROBLEMS["rate_limited"], 429)
    except AuthenticationError:
        return login_page(request, target, LOGIN_PROBLEMS["invalid"], 401)
    response.delete_cookie(LOGIN_FORM_COOKIE, path=LOGIN)
    return response


@router.post("/workspace/logout", summary="Sign out (the form in every page's header)")
async def logout_form(
    request: Request, principal: Annotated[Principal, page_access(*ALL_ROLES)], ctx: Context
) -> Response:
    end_session(ctx, request, principal)
    response = see_other(f"{WORKSPACE}/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/workspace", response_class=HTMLResponse, summary="The workspace's home page")
def home(
    request: Request, principal: Annotated[Principal, page_access(*ALL_ROLES)]
) -> HTMLResponse:
    areas = [key for key, roles in AREAS.items() if principal.has_any(roles)]
    return render_page(
        request,
        principal,
        "workspace/home.html",
        title=gettext_for(request)("Workspace"),
        areas=areas,
    )
