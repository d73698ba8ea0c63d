"""The classification API as analysts use it: two signed-in analysts (four eyes), hashes,
banking, known material; refusals in the service's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.lists.store import HashListStore
from safelight.service.roles import Role
from safelight.service.sessions import CSRF_HEADER
from safelight.store import Database
from tests.hotline_class_support import MD5, PDQ, flip, report_items
from tests.service_support import BASE, PASSWORD, add_user, bearer, make_app, make_token

CLASSIFICATION = {
    "illegality": "baseline",
    "age_group": "pubescent",
    "gender": "male",
    "site_type": "forum",
    "commercial": True,
    "notes": "thread of reposts",
}


class Analyst:
    """A signed-in analyst: a client with a session and its CSRF header."""

    def __init__(self, client: TestClient, name: str) -> None:
        self.client = client
        signed_in = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        self.headers = {CSRF_HEADER: signed_in.json()["csrf_token"]}

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers=self.headers)


@pytest.fixture
def app(db: Database) -> FastAPI:
    add_user(db, "alice", Role.ANALYST)
    add_user(db, "bob", Role.ANALYST)
    add_user(db, "root", Role.ADMIN)
    return make_app(db)


@pytest.fixture
def analysts(app: FastAPI) -> Iterator[dict[str, Analyst]]:
    with ExitStack() as stack:
        yield {
            name: Analyst(stack.enter_context(TestClient(app, base_url=BASE)), name)
            for name in ("alice", "bob", "root")
        }


def path(item_id: int, tail: str) -> str:
    return f"/api/v1/hotline/items/{item_id}/{tail}"


def test_classify_confirm_bank_and_the_next_item_is_known(
    db: Database, analysts: dict[str, Analyst]
) -> None:
    alice, bob = analysts["alice"], analysts["bob"]
    HashListStore(db).create("HOTLINE_CONFIRMED")
    _, (item_id, other_id) = report_items(db, "forum.example/t/1", "mirror.example/t/1")
    made = alice.post(path(item_id, "classification"), CLASSIFICATION)
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "awaiting_confirmation"
    assert made.json()["classified_by"] == "user:alice"
    own = alice.post(path(item_id, "confirm"), {"version": 1})
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_classification"
    shown = bob.get(path(item_id, "classification")).json()
    assert shown["status"] == "in_review" and shown["four_eyes"] is True
    assert shown["bankable"] is False
    confirmed = bob.post(path(item_id, "confirm"), {"version": 1})
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed"
    added = alice.post(path(item_id, "hashes"), {"hashes": [f"pdq {PDQ}", f"md5 {MD5}"]})
    assert added.status_code == 201 and len(added.json()["added"]) == 2
    assert added.json()["needs_viewing"] is True
    again = alice.post(path(item_id, "hashes"), {"hashes": [f"md5 {MD5}"]})
    assert again.status_code == 200 and again.json()["already_present"] == 1
    banked = bob.post(path(item_id, "bank"), {"list": "HOTLINE_CONFIRMED"})
    assert banked.status_code == 200, banked.text
    assert len(banked.json()["added_entries"]) == 2
    twice = bob.post(path(item_id, "bank"), {"list": "HOTLINE_CONFIRMED"}).json()
    assert twice["added_entries"] == [] and twice["already_banked"] == 2
    overview = alice.get(path(item_id, "classification")).json()
    assert overview["status"] == "illegal" and overview["classification"] == "baseline"
    assert [b["list"] for b in overview["bankings"]] == ["HOTLINE_CONFIRMED"] * 2
    known = alice.post(path(other_id, "hashes"), {"hashes": [f"pdq {flip(PDQ, 4)}"]}).json()
    assert known["needs_viewing"] is False and known["known"][0]["distance"] == 4
    other = bob.get(path(other_id, "classification")).json()
    assert other["latest"]["source"] == "known" and other["status"] == "illegal"
    assert bob.get(path(other_id, "known")).json()["needs_viewing"] is False
    assert bob.post(path(other_id, "known/check"), {}).json()["needs_viewing"] is False


def test_the_item_view_carries_its_hashes_and_timeline(
    db: Database, analysts: dict[str, Analyst]
) -> None:
    alice, bob = analysts["alice"], analysts["bob"]
    HashListStore(db).create("HOTLINE_CONFIRMED")
    _, (item_id, other_id) = report_items(db, "forum.example/t/9", "mirror.example/t/9")
    alice.post(path(item_id, "classification"), CLASSIFICATION)
    bob.post(path(item_id, "confirm"), {"version": 1})
    alice.post(path(item_id, "hashes"), {"hashes": [f"pdq {PDQ}"]})
    bob.post(path(item_id, "bank"), {"list": "HOTLINE_CONFIRMED"})
    alice.post(path(other_id, "hashes"), {"hashes": [f"pdq {flip(PDQ, 4)}", f"md5 {MD5}"]})
    view = bob.get(f"/api/v1/hotline/items/{other_id}")
    assert view.status_code == 200, view.text
    sections = view.json()["sections"]
    hashes = sections["hashes"]
    assert [(h["signal_type"], h["value"]) for h in hashes["hashes"]] == [
        ("pdq", flip(PDQ, 4)),
        ("md5", MD5),
    ]
    assert [(k["list"], k["distance"]) for k in hashes["known"]] == [("HOTLINE_CONFIRMED", 4)]
    assert hashes["needs_viewing"] is False
    steps = [(e["event"], e["actor"]) for e in sections["timeline"]]
    assert steps == [("reported", None), ("assessed", "user:alice")]  # pre-classified as known
    assert sections["timeline"][1]["known"]["list"] == "HOTLINE_CONFIRMED"
    first = bob.get(f"/api/v1/hotline/items/{item_id}").json()["sections"]
    assert first["hashes"]["known"] == [] and first["hashes"]["needs_viewing"] is True
    assessed = [e for e in first["timeline"] if e["event"] == "assessed"]
    assert [(e["actor"], e["confirmed_by"]) for e in assessed] == [("user:alice", "user:bob")]


def test_disagreement_over_the_api(db: Database, analysts: dict[str, Analyst]) -> None:
    alice, root = analysts["alice"], analysts["root"]
    _, (item_id,) = report_items(db, "forum.example/t/2")
    alice.post(path(item_id, "classification"), CLASSIFICATION)
    missing = root.post(path(item_id, "disagree"), {"version": 1, "reason": " "})
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["problems"] == [
        {"location": "reason", "reason": "required"}
    ]
    stale = root.post(path(item_id, "disagree"), {"version": 2, "reason": "adult"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "classification_changed"
    disputed = root.post(path(item_id, "disagree"), {"version": 1, "reason": "adult"})
    assert disputed.status_code == 200
    assert disputed.json()["review"]["reason"] == "adult"
    history = alice.get(path(item_id, "classification")).json()["history"]
    assert [h["state"] for h in history] == ["disagreed"]


def test_refusals_name_the_field(db: Database, analysts: dict[str, Analyst]) -> None:
    alice = analysts["alice"]
    _, (item_id,) = report_items(db, "forum.example/t/3")
    bad = alice.post(path(item_id, "classification"), {"illegality": "baseline"})
    assert bad.status_code == 422
    problems = bad.json()["error"]["details"]["problems"]
    assert {p["location"] for p in problems} == {"age_group", "gender", "site_type", "commercial"}
    extra = alice.post(path(item_id, "classification"), {**CLASSIFICATION, "grade": "A"})
    assert extra.status_code == 422
    hashes = alice.post(path(item_id, "hashes"), {"hashes": ["pdq 12"]})
    assert hashes.status_code == 422
    assert hashes.json()["error"]["details"]["problems"][0]["location"] == "hashes[1]"
    both = alice.post(path(item_id, "hashes"), {"hashes": [f"md5 {MD5}"], "scan_run_id": 1})
    assert both.status_code == 400 and both.json()["error"]["details"]["field"] == "hashes"
    run = alice.post(path(item_id, "hashes"), {"scan_run_id": 77})
    assert run.status_code == 404 and run.json()["error"]["code"] == "run_not_found"
    unknown = alice.get(path(4242, "classification"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_item"
    not_yet = alice.post(path(item_id, "bank"), {"list": "NOPE"})
    assert not_yet.status_code == 409 and not_yet.json()["error"]["code"] == "not_bankable"


def test_tokens_classify_but_never_confirm(db: Database, app: FastAPI) -> None:
    token = make_token(db, "robot", Role.ANALYST)
    _, (item_id,) = report_items(db, "forum.example/t/4")
    with TestClient(app, base_url=BASE) as client:
        made = client.post(
            path(item_id, "classification"), json=CLASSIFICATION, headers=bearer(token)
        )
        assert made.status_code == 201 and made.json()["classified_by"] == "token:robot"
        refused = client.post(path(item_id, "confirm"), json={"version": 1}, headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "review_needs_a_person"


def test_a_scoped_token_banks_only_into_its_lists(db: Database, app: FastAPI) -> None:
    lists = HashListStore(db)
    lists.create("MINE")
    lists.create("THEIRS")
    token = make_token(db, "scoped", Role.ANALYST, lists=["MINE"])
    _, (item_id,) = report_items(db, "forum.example/t/5")
    with TestClient(app, base_url=BASE) as client:
        refused = client.post(path(item_id, "bank"), json={"list": "THEIRS"}, headers=bearer(token))
        assert refused.status_code == 404  # another list does not exist, to this token


def test_four_eyes_can_be_turned_off(db: Database) -> None:
    add_user(db, "solo", Role.ANALYST)
    _, (item_id,) = report_items(db, "forum.example/t/6")
    with TestClient(make_app(db, four_eyes=False), base_url=BASE) as client:
        solo = Analyst(client, "solo")
        made = solo.post(path(item_id, "classification"), {"illegality": "not_illegal"})
        assert made.json()["state"] == "effective"
        assert solo.get(path(item_id, "classification")).json()["status"] == "not_illegal"
