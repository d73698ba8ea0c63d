"""The analyst queue's JSON API: filters as query parameters, one item, claim, assign,
release, resolve; roles and error shapes. The resolver is the real one behind a table DNS,
set on the service's extensions as a deployment would set its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.service.roles import Role
from safelight.service.sessions import CSRF_HEADER
from safelight.store import Database
from tests.hotline_support import Reports, app_with_resolver, fake_resolver
from tests.service_support import BASE, PASSWORD, add_user, bearer, make_token

API = "/api/v1/hotline/items"


@pytest.fixture
def app(db: Database, tmp_path: Path) -> FastAPI:
    for name, role in (("ana", Role.ANALYST), ("ben", Role.ANALYST), ("root", Role.ADMIN)):
        add_user(db, name, role)
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
        ("gone", "gone.example/x", 48, None),
    ):
        ids[name] = reports.item_ids(reports.submit(url, at=at, site_type=site_type))[0]
    return ids


def session(app: FastAPI, user: str) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as client:
        signed_in = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
        assert signed_in.status_code == 200
        client.headers[CSRF_HEADER] = signed_in.json()["csrf_token"]
        yield client


@pytest.fixture
def ana(app: FastAPI) -> Iterator[TestClient]:
    yield from session(app, "ana")


@pytest.fixture
def ben(app: FastAPI) -> Iterator[TestClient]:
    yield from session(app, "ben")


def ids_of(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_queue_with_filters_sorting_and_paging(ana: TestClient, items: dict[str, int]) -> None:
    everything = ana.get(API).json()
    assert everything["total"] == 3 and everything["pages"] == 1 and everything["page"] == 1
    assert [i["id"] for i in everything["items"]] == [
        items["images"],
        items["forum"],
        items["gone"],
    ]
    first = everything["items"][0]
    assert first["status"] == "received" and first["assignee"] is None
    assert first["site_types"] == ["image_host"] and first["hosting_country"] is None
    assert ids_of(ana.get(API, params={"site_type": ["forum", "image_host"], "order": "desc"})) == [
        items["forum"],
        items["images"],
    ]
    assert ids_of(
        ana.get(API, params={"reported_to": "2026-03-03", "page_size": 1, "page": 2})
    ) == [items["forum"]]
    paged = ana.get(API, params={"page_size": 2}).json()
    assert (paged["total"], paged["pages"], len(paged["items"])) == (3, 2, 2)


def test_bad_query_parameters_are_named(ana: TestClient) -> None:
    response = ana.get(API, params={"status": "pending", "sort": "url", "colour": "red"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation"
    assert [p["location"] for p in error["details"]["problems"]] == ["status", "sort", "colour"]


def test_claim_resolve_assign_release(
    ana: TestClient, ben: TestClient, items: dict[str, int]
) -> None:
    images = items["images"]
    claimed = ana.post(f"{API}/{images}/claim")
    assert claimed.status_code == 200, claimed.text
    item = claimed.json()["item"]
    assert (item["assignee"], item["status"], item["hosting_country"]) == ("ana", "in_review", "NL")
    assert (item["hosting_ip"], item["hosting_network"]) == ("192.0.2.10", "Example Hosting B.V.")
    assert ids_of(ana.get(API, params={"assignee": "mine"})) == [images]
    assert ids_of(ben.get(API, params={"assignee": "mine"})) == []
    assert ids_of(ben.get(API, params={"assignee": "unassigned"})) == [
        items["forum"],
        items["gone"],
    ]
    assert ids_of(ben.get(API, params={"country": "nl"})) == [images]

    taken = ben.post(f"{API}/{images}/claim")
    assert taken.status_code == 409
    assert (
        taken.json()["error"]["code"] == "held_by_other"
        and "ana" in taken.json()["error"]["message"]
    )

    again = ana.post(f"{API}/{images}/resolve")
    assert again.status_code == 200
    resolution = again.json()["resolution"]
    assert resolution["outcome"] == "resolved" and resolution["country"] == "NL"
    assert [a["ip"] for a in resolution["addresses"]] == ["192.0.2.10", "198.51.100.7"]

    handed = ana.post(f"{API}/{images}/assign", json={"assignee": "ben"})
    assert handed.status_code == 200 and handed.json()["item"]["assignee"] == "ben"
    refused = ben.post(f"{API}/{images}/assign", json={"assignee": "aud"})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "assignee"
    released = ben.post(f"{API}/{images}/release")
    assert released.status_code == 200 and released.json()["item"]["assignee"] is None


def test_a_host_that_does_not_resolve_is_recorded(ana: TestClient, items: dict[str, int]) -> None:
    gone = items["gone"]
    assert ana.post(f"{API}/{gone}/claim").status_code == 200
    view = ana.get(f"{API}/{gone}").json()
    assert view["item"]["hosting_country"] is None and view["item"]["resolved_at"] is None
    assert [r["outcome"] for r in view["resolutions"]] == ["nxdomain"]
    again = ana.post(f"{API}/{gone}/resolve").json()
    assert again["resolution"]["outcome"] == "nxdomain" and again["resolution"]["ip"] is None


def test_one_item_in_full(ana: TestClient, db: Database, items: dict[str, int]) -> None:
    Reports(db).submit(
        "http://forum.example/t", at=30, description="seen again", contact="me@x.example"
    )
    view = ana.get(f"{API}/{items['forum']}")
    assert view.status_code == 200
    body = view.json()
    assert body["item"]["times_reported"] == 2
    assert [r["description"] for r in body["reports"]] == ["", "seen again"]
    assert "me@x.example" not in view.text
    assert set(body) == {"item", "reports", "same_url", "same_host", "resolutions", "sections"}
    missing = ana.get(f"{API}/999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_item"


def test_auditors_read_and_tokens_hold_nothing(
    app: FastAPI, db: Database, items: dict[str, int]
) -> None:
    auditor = make_token(db, "audit-bot", Role.AUDITOR)
    analyst = make_token(db, "triage-bot", Role.ANALYST)
    with TestClient(app, base_url=BASE) as client:
        assert client.get(API, headers=bearer(auditor)).status_code == 200
        assert (
            client.post(f"{API}/{items['images']}/claim", headers=bearer(auditor)).status_code
            == 403
        )
        held = client.post(f"{API}/{items['images']}/claim", headers=bearer(analyst))
        assert (
            held.status_code == 403
            and "tokens cannot hold items" in held.json()["error"]["message"]
        )
        assert client.get(API).status_code == 401
