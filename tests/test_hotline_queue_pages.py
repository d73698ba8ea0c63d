"""The queue and item pages through the service (no browser): filters, sorting links,
paging, claim/assign/release/resolve by form, problems shown in the reader's language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.service.roles import Role
from safelight.store import Database
from tests.hotline_support import Reports, app_with_resolver, fake_resolver
from tests.service_support import BASE, add_user
from tests.test_workspace_shell import csrf_of, sign_in


@pytest.fixture
def app(db: Database, tmp_path: Path) -> FastAPI:
    add_user(db, "ana", Role.ANALYST)
    add_user(db, "ben", Role.ANALYST)
    add_user(db, "aud", Role.AUDITOR)
    resolver = fake_resolver(tmp_path)

    return app_with_resolver(db, resolver)


@pytest.fixture
def items(db: Database) -> dict[str, int]:
    reports = Reports(db)
    ids = {}
    for name, url, at, site_type in (
        ("images", "images.example/a", 0, "image_host"),
        ("forum", "forum.example/t", 24, "forum"),
        ("files", "files.example/x", 48, "file_host"),
    ):
        ids[name] = reports.item_ids(
            reports.submit(
                url, at=at, site_type=site_type, description=f"about {name}", contact="c@x.example"
            )
        )[0]
    return ids


def client_for(app: FastAPI, user: str) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as client:
        assert sign_in(client, user).status_code == 303
        yield client


@pytest.fixture
def ana(app: FastAPI) -> Iterator[TestClient]:
    yield from client_for(app, "ana")


@pytest.fixture
def ben(app: FastAPI) -> Iterator[TestClient]:
    yield from client_for(app, "ben")


def shown_urls(html: str) -> list[str]:
    return re.findall(r'href="/workspace/items/\d+">([^<]+)<', html)


def test_the_queue_page_filters_sorts_and_pages(ana: TestClient, items: dict[str, int]) -> None:
    page = ana.get("/workspace/queue")
    assert page.status_code == 200
    html = page.text
    assert shown_urls(html) == [
        "http://images.example/a",
        "http://forum.example/t",
        "http://files.example/x",
    ]
    for field in (
        "country",
        "site_type",
        "assignee",
        "search",
        "reported_from",
        "reported_to",
        "older_than_days",
    ):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    assert (
        '<th scope="col" aria-sort="ascending">'
        '<a href="/workspace/queue?sort=reported_at&amp;order=desc">' in html
    )
    assert "Items found: 3. Page 1 of 1." in html
    filtered = ana.get("/workspace/queue", params={"site_type": "forum", "status": "received"}).text
    assert shown_urls(filtered) == ["http://forum.example/t"]
    assert "Items found: 1. Page 1 of 1." in filtered  # one item is not "1 items"
    assert 'value="received" checked' in filtered and '<option value="forum" selected>' in filtered
    newest = ana.get(
        "/workspace/queue", params={"sort": "reported_at", "order": "desc", "page_size": "2"}
    ).text
    assert shown_urls(newest) == ["http://files.example/x", "http://forum.example/t"]
    assert 'aria-label="Pages"' in newest
    assert (
        'href="/workspace/queue?sort=reported_at&amp;order=desc&amp;page=2&amp;page_size=2"'
        in newest
    )


def test_bad_filters_are_named_in_the_readers_language(ana: TestClient) -> None:
    page = ana.get("/workspace/queue", params={"older_than_days": "soon", "lang": "de"})
    assert page.status_code == 422
    assert "Älter als (Tage): Dieser Wert kann nicht verwendet werden." in page.text
    assert 'value="soon"' in page.text  # kept, to be fixed


def test_claim_then_the_item_page_with_its_resolution(
    ana: TestClient, ben: TestClient, items: dict[str, int]
) -> None:
    queue = ana.get("/workspace/queue").text
    images = items["images"]
    claimed = ana.post(
        f"/workspace/items/{images}/claim",
        data={"csrf_token": csrf_of(queue), "next": "/workspace/queue?sort=country"},
        follow_redirects=False,
    )
    assert claimed.status_code == 303
    assert (
        claimed.headers["location"] == f"/workspace/queue?sort=country&done=claimed&item={images}"
    )
    after = ana.get(claimed.headers["location"]).text
    assert f"You hold item {images} now." in after
    item = ana.get(f"/workspace/items/{images}", params={"lang": "de"})
    assert item.status_code == 200
    html = item.text
    assert '<section class="panel" id="panel-resolution">' in html
    assert 'id="hosting-ip">192.0.2.10<' in html and "Niederlande (NL)" in html
    assert "Example Hosting B.V. AS64500" in html and "198.51.100.7" in html
    assert "about images" in html and "c@x.example" not in html
    assert "Bilderhoster" in html  # the site type, in German
    # Someone else's claim is refused and said so
    other = ben.post(
        f"/workspace/items/{images}/claim",
        data={
            "csrf_token": csrf_of(ben.get("/workspace/queue").text),
            "next": f"/workspace/items/{images}",
        },
        follow_redirects=False,
    )
    refused = ben.get(other.headers["location"]).text
    assert f"Someone else holds item {images}. Only an administrator can reassign it." in refused


def test_assign_release_and_resolve_by_form(ana: TestClient, items: dict[str, int]) -> None:
    forum = items["forum"]
    page = ana.get(f"/workspace/items/{forum}").text
    token = csrf_of(page)
    here = f"/workspace/items/{forum}"
    ana.post(f"{here}/claim", data={"csrf_token": token, "next": here})
    resolved = ana.post(f"{here}/resolve", data={"csrf_token": token, "next": here})
    assert (
        "The host of item" in resolved.text
        and "Beispiel Rechenzentrum GmbH AS64501" in resolved.text
    )
    bad = ana.post(f"{here}/assign", data={"csrf_token": token, "next": here, "assignee": "aud"})
    assert "Items can only be given to an enabled analyst." in bad.text
    given = ana.post(f"{here}/assign", data={"csrf_token": token, "next": here, "assignee": "ben"})
    assert (
        f"Item {forum} was given to ben." in given.text
        and 'id="item-holder">ben, since' in given.text
    )
    forged = ana.post(f"{here}/release", data={"csrf_token": "x" * 43, "next": here})
    assert forged.status_code == 403


def test_auditors_read_without_actions(app: FastAPI, items: dict[str, int]) -> None:
    for client in client_for(app, "aud"):
        queue = client.get("/workspace/queue").text
        assert "http://images.example/a" in queue and "/claim" not in queue
        item = client.get(f"/workspace/items/{items['images']}").text
        assert "Where it is hosted" in item and "/release" not in item and "/resolve" not in item
        assert client.get("/workspace/items/999999").status_code == 404


def test_every_area_words_its_own_notes_and_a_code_means_one_thing(app: FastAPI) -> None:
    from safelight.hotline.messages_queue import DONE
    from safelight.hotline.messages_routing import DONE as ROUTING_DONE
    from safelight.hotline.panels import note_message, register_notes

    assert note_message("done", "claimed") == DONE["claimed"]  # the queue's own
    assert note_message("done", "referred") == ROUTING_DONE["referred"]  # the routing panel's
    assert note_message("problem", "referred") is None and note_message("done", "x") is None
    register_notes(done={"claimed": DONE["claimed"]})  # the same words again: harmless
    with pytest.raises(ValueError, match="'claimed'"):
        register_notes(done={"claimed": "Something else entirely."})
    assert note_message("done", "claimed") == DONE["claimed"]
