"""The hashes and classification panels and their forms, without JavaScript: four eyes by
form, refusals shown in the reader's language, the panels in the item page's registry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.hotline.panels import PanelContext, load_panels, registered_panels
from safelight.lists.store import HashListStore
from safelight.service.roles import Principal, Role
from safelight.store import Database
from tests.hotline_class_support import MD5, PDQ, bench, flip, illegal, item, report_items
from tests.service_support import BASE, add_user, make_app
from tests.test_workspace_shell import csrf_of, sign_in

CLASSIFY = {
    "illegality": "baseline",
    "age_group": "pre_pubescent",
    "gender": "female",
    "site_type": "image_host",
    "commercial": "no",
    "notes": "grid",
}


@pytest.fixture
def app(db: Database) -> FastAPI:
    for name in ("alice", "bob"):
        add_user(db, name, Role.ANALYST)
    add_user(db, "ivan", Role.INVESTIGATOR)
    return make_app(db)


@pytest.fixture
def people(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        clients = {}
        for name in ("alice", "bob", "ivan"):
            client = stack.enter_context(TestClient(app, base_url=BASE))
            assert sign_in(client, name).status_code == 303
            clients[name] = client
        yield clients


def page_of(client: TestClient, item_id: int, lang: str | None = None) -> str:
    query = f"?lang={lang}" if lang else ""
    response = client.get(f"/workspace/items/{item_id}/classification{query}")
    assert response.status_code == 200, response.text
    return response.text


def post(client: TestClient, item_id: int, action: str, **fields: str) -> Any:
    csrf = csrf_of(page_of(client, item_id))
    back = f"/workspace/items/{item_id}/classification"
    return client.post(
        f"/workspace/items/{item_id}/{action}",
        data={"csrf_token": csrf, "back": back, **fields},
        follow_redirects=False,
    )


def errors(html: str) -> list[str]:
    return re.findall(r'<p class="error">([^<]+)</p>', html)


def test_four_eyes_by_form(db: Database, people: dict[str, TestClient]) -> None:
    alice, bob = people["alice"], people["bob"]
    HashListStore(db).create("HOTLINE_CONFIRMED")
    _, (item_id,) = report_items(db, "images.example/form")
    made = post(alice, item_id, "classification", **CLASSIFY)
    assert made.status_code == 303
    assert made.headers["location"] == f"/workspace/items/{item_id}/classification"
    own = page_of(alice, item_id)
    assert "you cannot confirm your own classification" in own
    assert f'action="/workspace/items/{item_id}/confirm"' not in own
    refused = post(alice, item_id, "confirm", version="1")
    assert refused.status_code == 403
    assert errors(refused.text) == [
        "Four eyes: a different analyst must confirm or dispute this classification."
    ]
    # a refused form from the item page lands here: the way back to the item is a link
    assert f'<a href="/workspace/items/{item_id}">Open the item</a>' in refused.text
    assert f'action="/workspace/items/{item_id}/confirm"' in page_of(bob, item_id)
    assert post(bob, item_id, "confirm", version="1").status_code == 303
    assert item(db, item_id)["status"] == "illegal"
    assert "Confirmed by user:bob" in page_of(alice, item_id)
    assert post(bob, item_id, "hashes", hashes=f"pdq {PDQ}\nmd5 {MD5}").status_code == 303
    banked = post(bob, item_id, "bank", list="HOTLINE_CONFIRMED")
    assert banked.status_code == 303
    assert "List HOTLINE_CONFIRMED, entry" in page_of(alice, item_id)


def test_refused_forms_speak_the_readers_language(
    db: Database, people: dict[str, TestClient]
) -> None:
    alice = people["alice"]
    _, (item_id,) = report_items(db, "images.example/refused")
    alice.get(f"/workspace/items/{item_id}/classification?lang=de")  # the language cookie
    refused = post(alice, item_id, "classification", illegality="baseline", notes="typed")
    assert refused.status_code == 422
    assert errors(refused.text) == [
        "Altersgruppe: bei illegalem Material erforderlich.",
        "Geschlecht: bei illegalem Material erforderlich.",
        "Art der Website: bei illegalem Material erforderlich.",
        "Kommerziell: bei illegalem Material erforderlich.",
    ]
    assert ">typed</textarea>" in refused.text
    assert 'id="illegality-baseline" name="illegality" value="baseline" checked' in refused.text
    bad_hash = post(alice, item_id, "hashes", hashes=f"md5 {MD5}\npdq 123")
    assert errors(bad_hash.text) == ["Zeile 2 ist kein Hash, den Safelight kennt: pdq 123"]
    no_run = post(alice, item_id, "hashes", scan_run_id="9")
    assert errors(no_run.text) == ["Es gibt keinen Scanlauf mit dieser Nummer."]
    page = page_of(alice, item_id, "de")
    for english in ("Save the classification", "Add hashes", "Illegality", "Not recorded"):
        assert english not in page


def test_pages_are_for_analysts(db: Database, people: dict[str, TestClient]) -> None:
    _, (item_id,) = report_items(db, "images.example/roles")
    refused = people["ivan"].get(f"/workspace/items/{item_id}/classification")
    assert refused.status_code == 403
    missing = people["alice"].get("/workspace/items/999/classification")
    assert missing.status_code == 404 and "<html" in missing.text
    no_csrf = people["alice"].post(
        f"/workspace/items/{item_id}/classification", data=CLASSIFY, follow_redirects=False
    )
    assert no_csrf.status_code == 403 and item(db, item_id)["status"] == "received"


def test_the_panels_render_on_the_item_page(db: Database, app: FastAPI) -> None:
    assert [
        (p.key, p.order) for p in registered_panels() if p.key in ("hashes", "classification")
    ] == [
        ("hashes", 20),
        ("classification", 30),
    ]
    HashListStore(db).create("KNOWN")
    _, (first, second) = report_items(db, "images.example/p1", "images.example/p2")
    workbench = bench(db, app.state.service.home, four_eyes=False)
    workbench.desk.classify(first, illegal(), by="user:alice")
    workbench.add_hashes(first, by="user:alice", text=f"pdq {PDQ}")
    workbench.banker.bank(first, "KNOWN", by="user:alice")
    workbench.add_hashes(second, by="user:alice", text=f"pdq {flip(PDQ, 3)}")
    principal = Principal("user", "bob", frozenset({Role.ANALYST}), session_csrf="c")
    with db.connect() as conn:
        context = PanelContext(app.state.service, principal, item(db, second), "ja", conn, "c")
        rendered = {p.key: p for p in load_panels(context)}
    values = rendered["classification"].values
    assert values["latest"]["source"] == "known" and values["needs_viewing"] is False
    assert values["back_classification"] == f"/workspace/items/{second}#panel-classification"
    assert rendered["hashes"].values["known"][0]["list"] == "KNOWN"
