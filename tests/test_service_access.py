"""Deny by default: every route in the OpenAPI document, with every role and with none.

EXPECTED is the reviewed table of who may call what. A route added without an entry here
fails ``test_every_route_is_in_the_table``; a route whose declared roles differ from its
entry fails ``test_every_route_serves_exactly_its_roles``. Add the route's row when adding
the route (PUBLIC for routes anyone may call).
"""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.lists import HashListStore
from safelight.service.access import public, requires, route_table, undeclared_routes
from safelight.service.context import ServiceContext
from safelight.service.roles import ALL_ROLES, Role
from safelight.service.sessions import CSRF_HEADER
from safelight.store import Database
from tests.service_support import (
    BASE,
    PASSWORD,
    add_user,
    bearer,
    make_app,
    make_token,
)

PUBLIC = frozenset({"public"})
EVERYONE = frozenset(role.value for role in Role)
HMA_MATCHERS = frozenset({"admin", "analyst", "investigator", "api_client"})
HMA_READERS = frozenset({"admin", "analyst", "auditor"})
HMA_CURATORS = frozenset({"admin", "analyst"})
LOOKUP = frozenset({"admin", "analyst", "investigator", "api_client"})
READERS = frozenset({"admin", "analyst", "investigator", "auditor", "api_client"})
EDITORS = frozenset({"admin", "analyst"})
SCANNERS = frozenset({"admin", "analyst", "investigator"})
SCAN_READERS = SCANNERS | {"auditor"}
INVESTIGATORS = frozenset({"admin", "investigator"})
CASE_READERS = INVESTIGATORS | {"auditor"}
# Referrals: analysts build and see referrals of hotline items only (checked per referral).
REFERRERS = frozenset({"admin", "investigator", "analyst"})
REFERRAL_READERS = REFERRERS | {"auditor"}
CYBERTIP_READERS = INVESTIGATORS | {"auditor"}
VIEWERS = frozenset({"admin", "analyst"})
CAPTURES = "/api/v1/hotline/items/{item_id}/captures"
CAPTURE = CAPTURES + "/{capture_id}"
QUEUE_WORKERS = frozenset({"admin", "analyst"})
QUEUE_READERS = QUEUE_WORKERS | {"auditor"}
HOTLINE_ANALYSTS = frozenset({"admin", "analyst"})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): EVERYONE,
    ("GET", "/api/v1/me"): EVERYONE,
    ("POST", "/api/v1/reports"): PUBLIC,
    ("GET", "/api/v1/reports/{reference}/status"): PUBLIC,
    ("GET", "/report"): PUBLIC,
    ("POST", "/report"): PUBLIC,
    ("GET", "/report/status"): PUBLIC,
    # The analyst workspace: classification, hashes, banking (docs/hotline.md)
    ("GET", "/api/v1/hotline/items/{item_id}/classification"): HOTLINE_ANALYSTS,
    ("POST", "/api/v1/hotline/items/{item_id}/classification"): HOTLINE_ANALYSTS,
    ("POST", "/api/v1/hotline/items/{item_id}/confirm"): HOTLINE_ANALYSTS,
    ("POST", "/api/v1/hotline/items/{item_id}/disagree"): HOTLINE_ANALYSTS,
    ("GET", "/api/v1/hotline/items/{item_id}/hashes"): HOTLINE_ANALYSTS,
    ("POST", "/api/v1/hotline/items/{item_id}/hashes"): HOTLINE_ANALYSTS,
    ("POST", "/api/v1/hotline/items/{item_id}/bank"): HOTLINE_ANALYSTS,
    ("GET", "/api/v1/hotline/items/{item_id}/known"): HOTLINE_ANALYSTS,
    ("POST", "/api/v1/hotline/items/{item_id}/known/check"): HOTLINE_ANALYSTS,
    # Hotline captures and reviewer wellness (docs/wellness.md)
    ("POST", CAPTURES): VIEWERS,
    ("GET", CAPTURES): VIEWERS,
    ("GET", CAPTURE + "/preview"): VIEWERS,
    ("POST", CAPTURE + "/reveal"): VIEWERS,
    ("POST", CAPTURE + "/blur"): VIEWERS,
    ("GET", CAPTURE + "/original"): VIEWERS,
    ("GET", "/api/v1/me/wellness"): EVERYONE,
    ("PATCH", "/api/v1/me/wellness"): EVERYONE,
    ("PUT", "/api/v1/hotline/wellness/users/{username}"): frozenset({"admin"}),
    ("GET", "/workspace/wellness"): VIEWERS,
    ("POST", "/workspace/wellness"): VIEWERS,
    ("POST", "/workspace/wellness/limits"): frozenset({"admin"}),
    ("POST", "/workspace/items/{item_id}/captures"): VIEWERS,
    ("GET", "/workspace/items/{item_id}/captures/{capture_id}"): VIEWERS,
    ("POST", "/workspace/items/{item_id}/captures/{capture_id}/reveal"): VIEWERS,
    ("POST", "/workspace/items/{item_id}/captures/{capture_id}/blur"): VIEWERS,
    # The workspace (pages; see safelight.service.web)
    ("GET", "/workspace/login"): PUBLIC,
    ("POST", "/workspace/login"): PUBLIC,
    ("POST", "/workspace/logout"): EVERYONE,
    ("GET", "/workspace"): EVERYONE,
    # The analyst queue (docs/hotline.md): analysts and admins work it, auditors read it
    ("GET", "/api/v1/hotline/items"): QUEUE_READERS,
    ("GET", "/api/v1/hotline/items/{item_id}"): QUEUE_READERS,
    ("POST", "/api/v1/hotline/items/{item_id}/claim"): QUEUE_WORKERS,
    ("POST", "/api/v1/hotline/items/{item_id}/assign"): QUEUE_WORKERS,
    ("POST", "/api/v1/hotline/items/{item_id}/release"): QUEUE_WORKERS,
    ("POST", "/api/v1/hotline/items/{item_id}/resolve"): QUEUE_WORKERS,
    ("GET", "/workspace/queue"): QUEUE_READERS,
    ("GET", "/workspace/items/{item_id}"): QUEUE_READERS,
    ("POST", "/workspace/items/{item_id}/claim"): QUEUE_WORKERS,
    ("POST", "/workspace/items/{item_id}/assign"): QUEUE_WORKERS,
    ("POST", "/workspace/items/{item_id}/release"): QUEUE_WORKERS,
    ("POST", "/workspace/items/{item_id}/resolve"): QUEUE_WORKERS,
    ("GET", "/workspace/items/{item_id}/classification"): HOTLINE_ANALYSTS,
    ("POST", "/workspace/items/{item_id}/classification"): HOTLINE_ANALYSTS,
    ("POST", "/workspace/items/{item_id}/confirm"): HOTLINE_ANALYSTS,
    ("POST", "/workspace/items/{item_id}/disagree"): HOTLINE_ANALYSTS,
    ("POST", "/workspace/items/{item_id}/hashes"): HOTLINE_ANALYSTS,
    ("POST", "/workspace/items/{item_id}/bank"): HOTLINE_ANALYSTS,
    ("POST", "/workspace/items/{item_id}/known-check"): HOTLINE_ANALYSTS,
    # HMA compatibility (docs/hma.md, "Roles")
    ("GET", "/status"): PUBLIC,
    ("GET", "/status/live"): PUBLIC,
    ("GET", "/h/hash"): HMA_MATCHERS,
    ("POST", "/h/hash"): HMA_MATCHERS,
    ("GET", "/m/raw_lookup"): HMA_MATCHERS,
    ("GET", "/m/lookup"): HMA_MATCHERS,
    ("POST", "/m/lookup"): HMA_MATCHERS,
    ("POST", "/m/compare"): HMA_MATCHERS,
    ("GET", "/m/index/status"): EVERYONE,
    ("GET", "/c/banks"): HMA_READERS,
    ("POST", "/c/banks"): HMA_CURATORS,
    ("GET", "/c/bank/{bank_name}"): HMA_READERS,
    ("PUT", "/c/bank/{bank_name}"): HMA_CURATORS,
    ("DELETE", "/c/bank/{bank_name}"): HMA_CURATORS,
    ("POST", "/c/bank/{bank_name}/content"): HMA_CURATORS,
    ("POST", "/c/bank/{bank_name}/signal"): HMA_CURATORS,
    ("GET", "/c/bank/{bank_name}/content/{content_id}"): HMA_READERS,
    ("PUT", "/c/bank/{bank_name}/content/{content_id}"): HMA_CURATORS,
    ("DELETE", "/c/bank/{bank_name}/content/{content_id}"): HMA_CURATORS,
    ("GET", "/c/signal_type"): EVERYONE,
    ("GET", "/c/signal_type/index"): EVERYONE,
    ("GET", "/c/content_type"): EVERYONE,
    ("POST", "/api/v1/lookup"): LOOKUP,
    ("GET", "/api/v1/lookup"): LOOKUP,
    ("POST", "/api/v1/lookup/upload"): LOOKUP,
    ("GET", "/api/v1/lists"): READERS,
    ("POST", "/api/v1/lists"): EDITORS,
    ("GET", "/api/v1/lists/{name}"): READERS,
    ("PATCH", "/api/v1/lists/{name}"): EDITORS,
    ("DELETE", "/api/v1/lists/{name}"): EDITORS,
    ("GET", "/api/v1/lists/{name}/entries"): READERS,
    ("POST", "/api/v1/lists/{name}/entries"): EDITORS,
    ("GET", "/api/v1/lists/{name}/entries/{entry_id}"): READERS,
    ("PATCH", "/api/v1/lists/{name}/entries/{entry_id}"): EDITORS,
    ("DELETE", "/api/v1/lists/{name}/entries/{entry_id}"): EDITORS,
    ("POST", "/api/v1/lists/{name}/entries/{entry_id}/disable"): EDITORS,
    ("POST", "/api/v1/lists/{name}/entries/{entry_id}/enable"): EDITORS,
    ("POST", "/api/v1/lists/{name}/import"): EDITORS,
    ("POST", "/api/v1/hash"): frozenset({"admin", "analyst", "investigator", "api_client"}),
    ("POST", "/api/v1/scans"): SCANNERS,
    ("GET", "/api/v1/scans"): SCAN_READERS,
    ("GET", "/api/v1/scans/{run_id}"): SCAN_READERS,
    ("GET", "/api/v1/scans/{run_id}/results"): SCAN_READERS,
    ("POST", "/api/v1/scans/{run_id}/cancel"): SCANNERS,
    ("GET", "/api/v1/cases"): CASE_READERS,
    ("POST", "/api/v1/cases/{name}/ingest"): INVESTIGATORS,
    ("POST", "/api/v1/cases/{name}/analyze"): INVESTIGATORS,
    ("GET", "/api/v1/cases/{name}/report"): CASE_READERS,
    ("GET", "/api/v1/cases/{name}/report.zip"): CASE_READERS,
    ("POST", "/api/v1/referrals"): REFERRERS,
    ("GET", "/api/v1/referrals"): REFERRAL_READERS,
    ("GET", "/api/v1/referrals/{referral_id}"): REFERRAL_READERS,
    ("POST", "/api/v1/referrals/{referral_id}/verify"): REFERRAL_READERS,
    ("GET", "/api/v1/referrals/{referral_id}/package.zip"): REFERRAL_READERS,
    ("POST", "/api/v1/referrals/{referral_id}/sent"): REFERRERS,
    ("POST", "/api/v1/referrals/{referral_id}/supersede"): REFERRERS,
    ("GET", "/api/v1/cybertip/reports"): CYBERTIP_READERS,
    ("GET", "/api/v1/cybertip/reports/{report_id}"): CYBERTIP_READERS,
    ("POST", "/api/v1/cybertip/reports/{report_id}/retry"): INVESTIGATORS,
    ("GET", "/workspace/referrals"): REFERRAL_READERS,
    ("POST", "/workspace/referrals"): REFERRERS,
    ("GET", "/workspace/referrals/{referral_id}"): REFERRAL_READERS,
    ("POST", "/workspace/referrals/{referral_id}/verify"): REFERRAL_READERS,
    ("GET", "/workspace/referrals/{referral_id}/package.zip"): REFERRAL_READERS,
    ("POST", "/workspace/referrals/{referral_id}/sent"): REFERRERS,
    ("POST", "/workspace/referrals/{referral_id}/supersede"): REFERRERS,
    ("GET", "/workspace/cybertip"): CYBERTIP_READERS,
    ("POST", "/workspace/cybertip/{report_id}/retry"): INVESTIGATORS,
}


@pytest.fixture
def tokens(db: Database) -> dict[str, str]:
    return {role.value: make_token(db, f"t-{role.value}", role) for role in Role}


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            found.append((method.upper(), path, operation))
    return found


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    concrete = path.replace("{", "").replace("}", "")  # any value for a path parameter
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, concrete, headers=headers, json=body).status_code


def test_every_route_is_in_the_table(db: Database) -> None:
    app = make_app(db)
    listed = {(method, path) for method, path, _ in operations(app)}
    missing = sorted(listed - set(EXPECTED))
    assert missing == [], f"routes without a row in EXPECTED (add one): {missing}"
    assert sorted(set(EXPECTED) - listed) == []
    assert set(route_table(app)) >= listed


def test_every_route_serves_exactly_its_roles(db: Database, tokens: dict[str, str]) -> None:
    app = make_app(db)
    with TestClient(app, base_url=BASE) as client:
        for method, path, operation in operations(app):
            allowed = EXPECTED[(method, path)]
            assert set(operation["x-safelight-roles"]) == allowed, (method, path)
            anonymous = call(client, method, path, {})
            if allowed == PUBLIC:
                assert anonymous not in (401, 403), (method, path)
            else:
                assert anonymous == 401, (method, path, "no credentials")
            for role, token in tokens.items():
                status = call(client, method, path, bearer(token))
                if allowed == PUBLIC or role in allowed:
                    assert status not in (401, 403), (method, path, role, status)
                else:
                    assert status == 403, (method, path, role, status)


def test_sessions_get_the_same_answers_as_tokens(db: Database) -> None:
    """The walk again, signed in as a user of each role (with the CSRF header)."""
    for role in Role:
        add_user(db, f"u-{role.value}", role)
    app = make_app(db)
    for role in Role:
        with TestClient(app, base_url=BASE) as client:
            signed_in = login(client, f"u-{role.value}")
            headers = {CSRF_HEADER: signed_in.json()["csrf_token"]}
            for method, path, _ in operations(app):
                if path in ("/api/v1/auth/logout", "/workspace/logout"):
                    continue  # it would end the session the walk goes on with
                allowed = EXPECTED[(method, path)]
                status = call(client, method, path, headers)
                if allowed == PUBLIC or role.value in allowed:
                    assert status not in (401, 403), (method, path, role, status)
                else:
                    assert status == 403, (method, path, role, status)


def test_an_undeclared_route_stops_the_app(db: Database) -> None:
    def extend(app: FastAPI, _: ServiceContext) -> None:
        @app.get("/api/v1/forgotten")
        def forgotten() -> dict[str, str]:
            return {}

    with pytest.raises(RuntimeError, match="GET /api/v1/forgotten"):
        make_app(db, extend=extend)


def test_two_declarations_are_refused(db: Database) -> None:
    app = FastAPI()

    @app.get("/twice")
    def twice(
        _: Annotated[None, public()], __: Annotated[object, requires(Role.ADMIN)]
    ) -> dict[str, str]:
        return {}

    assert undeclared_routes(app) == ["GET /twice"]
    with pytest.raises(ValueError):
        requires()


def test_list_scope_limits_what_a_token_sees(db: Database) -> None:
    lists = HashListStore(db)
    for name in ("KNOWN", "OTHER"):
        lists.create(name)
    scoped = make_token(db, "scoped", Role.API_CLIENT, lists=["KNOWN"])
    everything = make_token(db, "all", Role.AUDITOR)
    with TestClient(make_app(db), base_url=BASE) as client:
        seen = client.get("/api/v1/lists", headers=bearer(scoped)).json()
        assert [item["name"] for item in seen] == ["KNOWN"] and seen[0]["entries"] == 0
        seen = client.get("/api/v1/lists", headers=bearer(everything)).json()
        assert [item["name"] for item in seen] == ["KNOWN", "OTHER"]
        me = client.get("/api/v1/me", headers=bearer(scoped)).json()
        assert me == {
            "kind": "token",
            "name": "scoped",
            "roles": ["api_client"],
            "lists": ["KNOWN"],
        }


def test_bad_bearer_headers(db: Database) -> None:
    with TestClient(make_app(db), base_url=BASE) as client:
        for header in ("Bearer", "Basic abc", "Bearer sl_unknown"):
            response = client.get("/api/v1/me", headers={"Authorization": header})
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json()["error"]["code"] in {"invalid_token", "unauthenticated"}


def test_revoked_token_stops_at_once_without_cache(db: Database) -> None:
    from safelight.service.tokens import TokenStore

    token = make_token(db, "bot", Role.ADMIN)
    with TestClient(make_app(db), base_url=BASE) as client:
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        TokenStore(db).revoke("bot", by="test")
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_token_cache_serves_without_the_database(db: Database) -> None:
    from safelight.service.tokens import TokenStore

    token = make_token(db, "bot", Role.ADMIN)
    with TestClient(make_app(db, token_cache_seconds=3600), base_url=BASE) as client:
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        TokenStore(db).revoke("bot", by="test")
        # trusted until the cache entry ages out (documented: revocation takes that long)
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


# --- browser sessions ------------------------------------------------------------------------


def login(client: TestClient, user: str = "alice", password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"username": user, "password": password})


def test_session_cookie_and_csrf(db: Database) -> None:
    add_user(db, "alice", Role.ANALYST)
    with TestClient(make_app(db), base_url=BASE) as client:
        response = login(client)
        assert response.status_code == 200
        body = response.json()
        assert body["user"] == "alice" and body["roles"] == ["analyst"]
        cookies = response.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("safelight_session="))
        for attribute in ("HttpOnly", "Secure", "SameSite=strict"):
            assert attribute.lower() in session.lower()
        csrf_cookie = next(c for c in cookies if c.startswith("safelight_csrf="))
        assert "httponly" not in csrf_cookie.lower()
        me = client.get("/api/v1/me").json()  # a safe method: no CSRF header needed
        assert me["name"] == "alice" and me["csrf_token"] == body["csrf_token"]
        refused = client.post("/api/v1/auth/logout")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
        wrong = client.post("/api/v1/auth/logout", headers={CSRF_HEADER: "x" * 43})
        assert wrong.status_code == 403
        ok = client.post("/api/v1/auth/logout", headers={CSRF_HEADER: body["csrf_token"]})
        assert ok.status_code == 204
        assert client.get("/api/v1/me").status_code == 401  # the session has ended


def test_insecure_cookie_setting(db: Database) -> None:
    add_user(db, "alice", Role.ANALYST)
    with TestClient(make_app(db, cookie_secure=False)) as client:
        response = login(client)
        session = next(
            c for c in response.headers.get_list("set-cookie") if "safelight_session" in c
        )
        assert "secure" not in session.lower()
        assert client.get("/api/v1/me").status_code == 200


def test_login_lockout_and_rate_limit(db: Database) -> None:
    add_user(db, "alice", Role.ADMIN)
    app = make_app(db, lockout_threshold=2, login_per_minute=3)
    with TestClient(app, base_url=BASE) as client:
        assert login(client, password="wrong wrong wrong").status_code == 401
        assert login(client, password="wrong wrong wrong").status_code == 401  # locks
        locked = login(client)
        assert locked.status_code == 401
        assert locked.json()["error"]["code"] == "invalid_credentials"
        limited = login(client)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"


def test_anonymous_requests_are_rate_limited(db: Database) -> None:
    token = make_token(db, "bot", Role.ADMIN)
    with TestClient(make_app(db, anonymous_per_minute=3), base_url=BASE) as client:
        statuses = [client.get("/healthz").status_code for _ in range(3)]
        statuses.append(client.get("/api/v1/me").status_code)
        assert statuses == [200, 200, 200, 429]
        # credentials are not anonymous: their own checks apply
        assert client.get("/healthz", headers=bearer(token)).status_code == 200
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def test_all_roles_constant_is_every_role() -> None:
    assert {role.value for role in ALL_ROLES} == EVERYONE


def test_rate_limiter_refills_at_its_rate() -> None:
    from safelight.errors import RateLimitedError
    from safelight.service.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(6, what="tries", clock=lambda: now[0])  # one token per 10 s
    for _ in range(6):
        limiter.hit("a")
    with pytest.raises(RateLimitedError) as info:
        limiter.hit("a")
    assert info.value.retry_after == 10
    limiter.hit("b")  # keys are separate
    now[0] += 9.9
    with pytest.raises(RateLimitedError):
        limiter.hit("a")
    now[0] += 0.2
    limiter.hit("a")
    now[0] += 3600  # refills to capacity, never beyond
    for _ in range(6):
        limiter.hit("a")
    with pytest.raises(RateLimitedError):
        limiter.hit("a")
