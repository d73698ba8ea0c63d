"""The workspace shell: signing in by form, pages for each role, errors as pages, the CSRF
field of page forms, the reader's language, and the item page's panel registry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safelight.hotline import panels
from safelight.hotline.panels import ItemPanel, PanelContext, load_panels, register_panel
from safelight.service.roles import Principal, Role
from safelight.store import Database
from tests.service_support import BASE, PASSWORD, add_user, bearer, make_app, make_token


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, "the sign-in form carries a form token"
    return found.group(1)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "a signed-in page carries the CSRF field"
    return found.group(1)


def sign_in(client: TestClient, user: str, *, next: str = "/workspace") -> Any:
    page = client.get("/workspace/login", params={"next": next})
    assert page.status_code == 200
    return client.post(
        "/workspace/login",
        data={
            "username": user,
            "password": PASSWORD,
            "next": next,
            "form_token": form_token(page.text),
        },
        follow_redirects=False,
    )


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    add_user(db, "ana", Role.ANALYST)
    add_user(db, "inv", Role.INVESTIGATOR)
    with TestClient(make_app(db), base_url=BASE) as client:
        yield client


def test_a_page_without_a_session_shows_the_sign_in_form(client: TestClient) -> None:
    response = client.get("/workspace?x=1")
    assert response.status_code == 401
    assert 'name="password"' in response.text
    assert 'name="next" value="/workspace?x=1"' in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    signed_in = client.post(  # the form on the 401 page works as it stands
        "/workspace/login",
        data={
            "username": "ana",
            "password": PASSWORD,
            "next": "/workspace?x=1",
            "form_token": form_token(response.text),
        },
        follow_redirects=False,
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/workspace?x=1"


def test_signing_in_returns_to_the_page_asked_for(client: TestClient) -> None:
    response = sign_in(client, "ana", next="/workspace?from=queue")
    assert response.status_code == 303
    assert response.headers["location"] == "/workspace?from=queue"
    home = client.get("/workspace")
    assert home.status_code == 200 and "Signed in as ana" in home.text
    assert 'href="/workspace/queue"' in home.text  # an analyst's area
    assert 'href="/workspace/wellness"' in home.text


def test_the_home_page_shows_only_the_roles_areas(client: TestClient) -> None:
    sign_in(client, "inv")
    home = client.get("/workspace").text
    assert 'href="/workspace/referrals"' in home
    assert 'href="/workspace/queue"' not in home and 'href="/workspace/wellness"' not in home


def test_never_redirects_to_another_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/api/v1/me"):
        response = sign_in(client, "ana", next=target)
        assert response.status_code == 303 and response.headers["location"] == "/workspace"


def test_wrong_password_missing_fields_and_an_expired_form(client: TestClient) -> None:
    token = form_token(client.get("/workspace/login").text)
    data = {"username": "ana", "password": "wrong wrong wrong", "form_token": token}
    wrong = client.post("/workspace/login", data=data)
    assert wrong.status_code == 401 and "do not match an active account" in wrong.text
    token = form_token(wrong.text)
    missing = client.post("/workspace/login", data={"username": "ana", "form_token": token})
    assert missing.status_code == 400 and "Enter your user name" in missing.text
    forged = client.post(
        "/workspace/login", data={"username": "ana", "password": PASSWORD, "form_token": "x"}
    )
    assert forged.status_code == 400 and "had expired" in forged.text
    assert client.get("/workspace").status_code == 401


def test_page_forms_need_the_csrf_field(client: TestClient) -> None:
    sign_in(client, "ana")
    csrf = csrf_of(client.get("/workspace").text)
    refused = client.post("/workspace/logout", data={"csrf_token": "x" * 43})
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "may not do this" in refused.text
    assert client.get("/workspace").status_code == 200  # still signed in
    done = client.post("/workspace/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/workspace/login"
    assert client.get("/workspace").status_code == 401


def test_tokens_reach_pages_by_role(db: Database, client: TestClient) -> None:
    token = make_token(db, "bot", Role.API_CLIENT)
    assert client.get("/workspace", headers=bearer(token)).status_code == 200
    assert client.get("/workspace/nothing-here", headers=bearer(token)).status_code == 404


def test_errors_under_the_workspace_are_pages_in_the_readers_language(
    client: TestClient,
) -> None:
    sign_in(client, "ana")
    missing = client.get("/workspace/no-such-page", params={"lang": "de"})
    assert missing.status_code == 404
    assert '<html lang="de">' in missing.text and "existiert nicht" in missing.text
    assert "safelight_lang=de" in missing.headers.get("set-cookie", "")
    later = client.get("/workspace")  # the cookie keeps the choice
    assert '<html lang="de">' in later.text and "Angemeldet als ana" in later.text
    japanese = client.get("/workspace", headers={"Accept-Language": "ja"}, params={"lang": "ja"})
    assert "ワークスペース" in japanese.text


def test_the_api_keeps_its_json_errors(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_panels_render_in_order_and_may_stay_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(panels, "_PANELS", {})
    seen: list[str] = []

    def loader(key: str, show: bool) -> Any:
        def load(context: PanelContext) -> dict[str, Any] | None:
            seen.append(key)
            return {"item": context.item["id"]} if show else None

        return load

    register_panel(ItemPanel("late", 50, "late.html", loader("late", True)))
    register_panel(ItemPanel("early", 10, "early.html", loader("early", True)))
    register_panel(ItemPanel("hidden", 30, "hidden.html", loader("hidden", False)))
    context = PanelContext(
        ctx=None,  # type: ignore[arg-type]
        principal=Principal("user", "ana", frozenset({Role.ANALYST})),
        item={"id": 7},
        language="en",
        conn=None,  # type: ignore[arg-type]
        csrf_token="t",
    )
    rendered = load_panels(context)
    assert [panel.key for panel in rendered] == ["early", "late"]
    assert seen == ["early", "hidden", "late"] and rendered[0].values == {"item": 7}
