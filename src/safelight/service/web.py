"""The workspace's pages: server-rendered HTML for people signed in with a browser session.

Pages work without JavaScript: plain links and forms, POST-redirect-GET. Three things every
page shares live here and nowhere else:

- ``page_access(*roles)``: the access declaration of a page route (it *is* an ``Access``, so
  the route x role table covers pages too). Unsafe methods carry the session's CSRF token in
  the form's hidden ``csrf_token`` field (a script-free page cannot set a header).
- ``render_page``: a template under ``hotline/templates/workspace/`` in the reader's
  language (``?lang=``, then the ``safelight_lang`` cookie it sets, then Accept-Language),
  with the navigation, the CSRF token and whatever the registered page-context providers add
  (today's viewing time, a break reminder) to every page.
- Errors under ``/workspace`` are pages too: 401 shows the sign-in form (and returns to the
  page after signing in), 403/404/4xx a short page in the reader's language.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from safelight.errors import PermissionDeniedError
from safelight.hotline.i18n import LANGUAGES, choose_language, translations
from safelight.hotline.messages_workspace import NAV_HINTS, NAV_LABELS
from safelight.hotline.pages import render
from safelight.service.access import SAFE_METHODS, Access, authenticate
from safelight.service.context import ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.sessions import CSRF_HEADER

WORKSPACE = "/workspace"
LOGIN = "/workspace/login"
LOGIN_FORM_COOKIE = "sl_login_form"  # login CSRF: the form's token, double-submitted
LANGUAGE_COOKIE = "safelight_lang"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self'; media-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The workspace's areas, in the navigation's order, and the roles that see each.
_READERS = frozenset({Role.ANALYST, Role.ADMIN, Role.AUDITOR})
AREAS: dict[str, frozenset[Role]] = {
    "queue": _READERS,
    "partners": _READERS,
    "referrals": _READERS | {Role.INVESTIGATOR},
    "metrics": _READERS,
    "wellness": frozenset({Role.ANALYST, Role.ADMIN}),
}
# (request, principal, ctx) -> values every page gets (e.g. {"banners": [...]}).
PageContext = Callable[[Request, Principal, ServiceContext], Mapping[str, Any]]
_PAGE_CONTEXTS: list[PageContext] = []


@dataclass(frozen=True)
class PageAccess(Access):
    """``Access`` for pages: the CSRF token may come in the form's ``csrf_token`` field."""

    async def __call__(self, request: Request) -> Principal:
        ctx: ServiceContext = request.app.state.service
        csrf = None
        if request.method not in SAFE_METHODS and not request.headers.get(CSRF_HEADER):
            value = (await request.form()).get("csrf_token")
            csrf = value if isinstance(value, str) else None
        principal = authenticate(ctx, request, csrf=csrf)
        request.state.principal = principal
        if not principal.has_any(self.roles):
            allowed = ", ".join(sorted(role.value for role in self.roles))
            raise PermissionDeniedError(f"this needs one of the roles: {allowed}")
        return principal


def page_access(*roles: Role) -> Any:
    """The dependency of a workspace page serving ``roles`` (at least one)."""
    if not roles:
        raise ValueError("page_access() needs at least one role")
    return Depends(PageAccess(frozenset(roles)))


def register_page_context(provider: PageContext) -> None:
    """Add values to every workspace page (a module registers once, at import)."""
    if provider not in _PAGE_CONTEXTS:
        _PAGE_CONTEXTS.append(provider)


def page_language(request: Request) -> str:
    query = request.query_params.get("lang")
    if query and query.strip().lower() in LANGUAGES:
        return query.strip().lower()
    return choose_language(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def gettext_for(request: Request) -> Callable[[str], str]:
    """The reader's catalog, for messages a route words (flash lines, errors)."""
    return translations(page_language(request)).gettext


def _path_without_lang(request: Request) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def _html(request: Request, content: str, status_code: int) -> HTMLResponse:
    response = HTMLResponse(content, status_code=status_code, headers=PAGE_HEADERS)
    chosen = request.query_params.get("lang", "").strip().lower()
    if chosen in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(LANGUAGE_COOKIE, chosen, samesite="strict", path="/")
    return response


def render_page(
    request: Request,
    principal: Principal | None,
    template: str,
    *,
    title: str,
    page: str = "",
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """``template`` for ``principal`` in the reader's language, as a complete page."""
    language = page_language(request)
    # Lists every provider adds to: banners above the content, notes in the header (each
    # {"text", "href"}: today's viewing time).
    shared: dict[str, Any] = {"banners": [], "header_notes": []}
    if principal is not None:
        ctx: ServiceContext = request.app.state.service
        for provider in _PAGE_CONTEXTS:
            for key, value in provider(request, principal, ctx).items():
                if key in ("banners", "header_notes"):
                    shared[key].extend(value)
                else:
                    shared[key] = value
    content = render(
        template,
        language,
        _path_without_lang(request),
        title=title,
        page=page,
        principal=principal,
        roles={role.value for role in principal.roles} if principal else set(),
        csrf_token=(principal.session_csrf or "") if principal else "",
        nav_keys=list(AREAS),
        nav_labels=NAV_LABELS,
        nav_hints=NAV_HINTS,
        nav_allowed=_areas_of,
        **shared,
        **values,
    )
    return _html(request, content, status_code)


def _areas_of(roles: set[str]) -> set[str]:
    return {key for key, allowed in AREAS.items() if any(role.value in roles for role in allowed)}


def see_other(url: str) -> RedirectResponse:
    """POST-redirect-GET: the answer to a form that changed something."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a workspace path only (never another site)."""
    if target and target.startswith(WORKSPACE) and not target.startswith("//"):
        return target
    return WORKSPACE


def login_page(request: Request, target: str, problem: str, status: int) -> HTMLResponse:
    """The sign-in form (``problem``: an English message id, shown translated), with a
    fresh login-CSRF token in the form and in a cookie that must match it."""
    token = secrets.token_urlsafe(24)
    response = render_page(
        request,
        None,
        "workspace/login.html",
        title=gettext_for(request)("Sign in"),
        status_code=status,
        next=safe_next(target),
        form_token=token,
        problem=problem,
    )
    response.set_cookie(LOGIN_FORM_COOKIE, token, httponly=True, samesite="strict", path=LOGIN)
    return response


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    """An error under /workspace, as a page: 401 is the sign-in form."""
    gettext = gettext_for(request)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method not in SAFE_METHODS:
            target = WORKSPACE
        return login_page(request, target, "", 401)
    return render_page(
        request,
        getattr(request.state, "principal", None),
        "workspace/error.html",
        title=gettext("Something went wrong"),
        status_code=status,
        status=status,
        code=code,
        message=message,
    )


def install_pages(app: FastAPI) -> None:
    """Errors under /workspace are answered as pages (see ``error_page``)."""
    from safelight.service.http_errors import register_error_page

    register_error_page(app, WORKSPACE, error_page)
