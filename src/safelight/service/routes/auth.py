"""Browser sign-in and sign-out (machines use API tokens instead)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from safelight.service.access import client_of, public, requires
from safelight.service.context import Context
from safelight.service.roles import ALL_ROLES, Principal
from safelight.service.sessions import CSRF_COOKIE, SESSION_COOKIE

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class SignedIn(BaseModel):
    user: str
    roles: list[str]
    csrf_token: str
    expires_at: str


@router.post("/login", summary="Sign in: sets the session cookie; returns the CSRF token")
def login(
    body: Login,
    request: Request,
    response: Response,
    _: Annotated[None, public()],
    ctx: Context,
) -> SignedIn:
    client = client_of(request)
    ctx.login_limit.hit(f"addr:{client}")
    ctx.login_limit.hit(f"user:{body.username}")
    user = ctx.users.authenticate(body.username, body.password, client=client)
    session_id, session = ctx.sessions.create(user)
    max_age = int((session.expires_at - ctx.sessions.clock()).total_seconds())
    secure = ctx.settings.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        session.csrf_token,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )
    roles = sorted(role.value for role in user.roles)
    return SignedIn(
        user=user.username,
        roles=roles,
        csrf_token=session.csrf_token,
        expires_at=session.expires_at.isoformat(),
    )


@router.post("/logout", status_code=204, summary="Sign out: ends the session")
def logout(
    request: Request,
    principal: Annotated[Principal, requires(*ALL_ROLES)],
    ctx: Context,
) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id and principal.kind == "user":
        ctx.sessions.end(session_id)
        ctx.audit.record(principal.actor, "logout", principal.name)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
