"""Browser sign-in and sign-out (machines use API tokens instead)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from safelight.service.access import client_of, public, requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import ALL_ROLES, Principal
from safelight.service.sessions import CSRF_COOKIE, SESSION_COOKIE
from safelight.service.users import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class SignedIn(BaseModel):
    user: str
    roles: list[str]
    csrf_token: str
    expires_at: str


def sign_in(
    ctx: ServiceContext, request: Request, response: Response, username: str, password: str
) -> tuple[User, str, str]:
    """Check the password (rate-limited per address and per name), start a session, and set
    its cookies on ``response``: the user, the CSRF token and the expiry (ISO 8601)."""
    client = client_of(request)
    ctx.login_limit.hit(f"addr:{client}")
    ctx.login_limit.hit(f"user:{username}")
    user = ctx.users.authenticate(username, password, client=client)
    session_id, session = ctx.sessions.create(user)
    max_age = int((session.expires_at - ctx.sessions.clock()).total_seconds())
    for name, value, http_only in (
        (SESSION_COOKIE, session_id, True),
        (CSRF_COOKIE, session.csrf_token, False),  # readable: a page script may copy it
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=http_only,
            secure=ctx.settings.cookie_secure,
            samesite="strict",
            path="/",
        )
    return user, session.csrf_token, session.expires_at.isoformat()


def end_session(ctx: ServiceContext, request: Request, principal: Principal) -> None:
    """End the browser session ``request`` carries (audited)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id and principal.kind == "user":
        ctx.sessions.end(session_id)
        ctx.audit.record(principal.actor, "logout", principal.name)


@router.post("/login", summary="Sign in: sets the session cookie; returns the CSRF token")
def login(
    body: Login,
    request: Request,
    response: Response,
    _: Annotated[None, public()],
    ctx: Context,
) -> SignedIn:
    user, csrf_token, expires_at = sign_in(ctx, request, response, body.username, body.password)
    roles = sorted(role.value for role in user.roles)
    return SignedIn(user=user.username, roles=roles, csrf_token=csrf_token, expires_at=expires_at)


@router.post("/logout", status_code=204, summary="Sign out: ends the session")
def logout(
    request: Request,
    principal: Annotated[Principal, requires(*ALL_ROLES)],
    ctx: Context,
) -> Response:
    end_session(ctx, request, principal)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
