"""HMA's curation routes (/c) driven as an HMA client, expectations from hma-api.md 5."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safelight.lists import HashListStore
from safelight.store import Database
from tests.hma_support import MD5_A, PDQ_A, PDQ_B, hma_client, new_bank


@pytest.fixture
def hma(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with hma_client(db, tmp_path) as client:
        yield client


NAME_ERROR = {"message": "Bank names must be UPPER_WITH_UNDERSCORE"}


def test_bank_lifecycle(hma: TestClient) -> None:
    assert hma.get("/c/banks").json() == []
    created = hma.post("/c/banks", json={"name": "MY_BANK"})
    assert created.status_code == 201
    assert created.json() == {"matching_enabled_ratio": 1.0, "name": "MY_BANK"}
    again = hma.post("/c/banks", json={"name": "MY_BANK"})
    assert (again.status_code, again.json()) == (403, {"message": "Bank already exists"})
    new_bank(hma, "BANK_OFF", enabled_ratio=0)
    banks = hma.get("/c/banks").json()
    assert sorted(banks, key=lambda b: b["name"]) == [
        {"matching_enabled_ratio": 0.0, "name": "BANK_OFF"},
        {"matching_enabled_ratio": 1.0, "name": "MY_BANK"},
    ]
    half = hma.put("/c/bank/MY_BANK", json={"enabled_ratio": 0.5})
    assert half.json() == {"matching_enabled_ratio": 0.5, "name": "MY_BANK"}
    assert hma.get("/c/bank/MY_BANK").json() == {"matching_enabled_ratio": 0.5, "name": "MY_BANK"}
    assert hma.put("/c/bank/MY_BANK", json={}).json()["matching_enabled_ratio"] == 0.5
    renamed = hma.put("/c/bank/MY_BANK", json={"name": "TEST_BANK", "enabled": True})
    assert renamed.json() == {"matching_enabled_ratio": 1.0, "name": "TEST_BANK"}
    gone = hma.get("/c/bank/MY_BANK")
    assert (gone.status_code, gone.json()) == (404, {"message": "bank 'MY_BANK' not found"})
    assert hma.delete("/c/bank/TEST_BANK").json() == {"message": "Done"}
    assert hma.delete("/c/bank/NEVER_WAS").json() == {"message": "Done"}
    assert [b["name"] for b in hma.get("/c/banks").json()] == ["BANK_OFF"]


def test_bank_names_follow_hma(hma: TestClient) -> None:
    for name in ("my_bank", "1BANK", "", "BANK-A", "A" * 256):
        response = hma.post("/c/banks", json={"name": name})
        assert (response.status_code, response.json()) == (400, NAME_ERROR), name
    new_bank(hma, "_LEADING_UNDERSCORE")
    new_bank(hma, "MY_BANK")
    # case-sensitive everywhere
    assert hma.get("/c/bank/my_bank").status_code == 404
    assert hma.put("/c/bank/MY_BANK", json={"name": "bad name"}).json() == NAME_ERROR
    taken = hma.put("/c/bank/MY_BANK", json={"name": "_LEADING_UNDERSCORE"})
    assert (taken.status_code, taken.json()) == (403, {"message": "Bank name already exists"})
    missing = hma.put("/c/bank/NOPE", json={"enabled": False})
    assert (missing.status_code, missing.json()) == (404, {"message": "Bank not found"})


def test_bank_bodies_are_pydantic_models(hma: TestClient) -> None:
    for response in (
        hma.post("/c/banks"),
        hma.post("/c/banks", content=b"name=X"),
        hma.put("/c/bank/ANY"),
    ):
        assert response.status_code == 422
        (error,) = response.json()
        assert (error["type"], error["loc"], error["input"]) == ("model_type", [], None)
    missing = hma.post("/c/banks", json={"enabled_ratio": 1})
    assert missing.status_code == 422
    assert [(e["type"], e["loc"], e["msg"]) for e in missing.json()] == [
        ("missing", ["name"], "Field required")
    ]
    # unknown fields are ignored; numeric strings are coerced
    created = hma.post("/c/banks", json={"name": "X", "colour": "red", "enabled_ratio": "0.25"})
    assert created.json() == {"matching_enabled_ratio": 0.25, "name": "X"}


def test_enabled_false_creates_a_disabled_bank(hma: TestClient) -> None:
    """hma-api.md 7.2: HMA ignores enabled:false on create; Safelight honours it."""
    off = hma.post("/c/banks", json={"name": "OFF", "enabled": False})
    assert off.json() == {"matching_enabled_ratio": 0.0, "name": "OFF"}
    both = hma.post("/c/banks", json={"name": "BOTH", "enabled": False, "enabled_ratio": 0.5})
    assert both.json()["matching_enabled_ratio"] == 0.5


def test_ratios_out_of_range_are_refused(hma: TestClient) -> None:
    """hma-api.md 7.2: HMA stores 5 and -1; a ratio is a fraction, so Safelight refuses."""
    for ratio in (5, -1):
        assert hma.post("/c/banks", json={"name": "X", "enabled_ratio": ratio}).status_code == 400
    new_bank(hma, "X")
    assert hma.put("/c/bank/X", json={"enabled_ratio": 1.5}).status_code == 400
    # PUT enabled answers a float ratio (HMA: integer 1/0 in this reply only)
    assert hma.put("/c/bank/X", json={"enabled": False}).json()["matching_enabled_ratio"] == 0.0


def test_banks_are_safelight_lists(hma: TestClient, db: Database) -> None:
    lists = HashListStore(db)
    lists.create("FROM_CLI")
    new_bank(hma, "FROM_HMA", enabled_ratio=0)
    assert {b["name"] for b in hma.get("/c/banks").json()} == {"FROM_CLI", "FROM_HMA"}
    assert lists.get("FROM_HMA").enabled is False  # ratio 0: a list that matches nothing
    hma.put("/c/bank/FROM_HMA", json={"enabled_ratio": 0.3})
    assert lists.get("FROM_HMA").enabled is True
    lists.set_enabled("FROM_CLI", False)
    assert hma.get("/c/bank/FROM_CLI").json()["matching_enabled_ratio"] == 0.0


def test_signal_posts_one_content_item(hma: TestClient) -> None:
    new_bank(hma, "BANK_A")
    posted = hma.post("/c/bank/BANK_A/signal", json={"pdq": PDQ_A, "video_md5": MD5_A.upper()})
    assert posted.status_code == 200  # not 201 (hma-api.md 7.7)
    assert posted.json() == {"id": 1, "signals": {"pdq": PDQ_A, "video_md5": MD5_A}}
    item = hma.get("/c/bank/BANK_A/content/1", params={"include_signals": "TRUE"})
    assert item.json() == {
        "bank": {"matching_enabled_ratio": 1.0, "name": "BANK_A"},
        "disable_until_ts": 1,
        "id": 1,
        "original_media_uri": None,
        "signals": {"pdq": PDQ_A, "video_md5": MD5_A},
    }
    with_note = hma.post("/c/bank/BANK_A/signal", json={"pdq": PDQ_B, "note": "hello"})
    assert with_note.json() == {"id": 3, "signals": {"pdq": PDQ_B}}
    assert hma.get("/c/bank/BANK_A/content/3").json()["note"] == "hello"


def test_signal_errors(hma: TestClient) -> None:
    new_bank(hma, "BANK_A")
    post = hma.post
    cases = [
        ("/c/bank/NOPE/signal", {"pdq": PDQ_A}, 404, "bank 'NOPE' not found"),
        ("/c/bank/BANK_A/signal", {"note": "only"}, 400, "No signals given"),
        ("/c/bank/BANK_A/signal", {}, 400, "No signals given"),
        ("/c/bank/BANK_A/signal", {"nope": "x"}, 400, "No such signal type nope"),
        ("/c/bank/BANK_A/signal", {"metadata": {}}, 400, "No such signal type metadata"),
        ("/c/bank/BANK_A/signal", {"pdq": "abc"}, 400, "Invalid pdq signal: invalid PDQ hash"),
        ("/c/bank/BANK_A/signal", {"pdq": 5}, 400, None),
        ("/c/bank/BANK_A/signal", {"pdq": PDQ_A, "note": 3}, 400, "note should be a string"),
        (
            "/c/bank/BANK_A/signal",
            {"pdq": PDQ_A, "note": "x" * 256},
            400,
            "note must be at most 255 characters",
        ),
    ]
    for path, body, status, message in cases:
        response = post(path, json=body)
        assert response.status_code == status, (body, response.text)
        if message is not None:
            assert response.json() == {"message": message}, body
    non_int = post("/c/bank/BANK_A/signal", json={"pdq": 5}).json()["message"]
    assert non_int == "Invalid pdq signal: expected string or bytes-like object, got 'int'"
    md5 = post("/c/bank/BANK_A/signal", json={"video_md5": "xyz"}).json()["message"]
    assert md5 == "Invalid video_md5 signal: 'xyz' is not a valid MD5 hash"
    not_json = post("/c/bank/BANK_A/signal", content=b"pdq=1")
    assert not_json.status_code == 415
    assert not_json.json()["message"].startswith("Did not attempt to load JSON data")
    bad_json = post(
        "/c/bank/BANK_A/signal", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["message"].startswith("The browser (or proxy) sent a request")
    # HMA: 500 for an array; Safelight: a 400 that says why
    assert post("/c/bank/BANK_A/signal", json=[PDQ_A]).status_code == 400
    assert hma.get("/c/bank/BANK_A/content/1").status_code == 404  # nothing was stored


def test_content_get_put_delete(hma: TestClient) -> None:
    new_bank(hma, "BANK_B")
    hma.post("/c/bank/BANK_B/signal", json={"pdq": PDQ_A})
    first = hma.get("/c/bank/BANK_B/content/1")
    assert first.json() == {
        "bank": {"matching_enabled_ratio": 1.0, "name": "BANK_B"},
        "disable_until_ts": 1,
        "id": 1,
        "original_media_uri": None,
    }
    updated = hma.put("/c/bank/BANK_B/content/1", json={"disable_until_ts": 0, "note": "hello"})
    assert updated.json() == {
        "bank": {"matching_enabled_ratio": 1.0, "name": "BANK_B"},
        "collab_metadata": {},
        "disable_until_ts": 0,
        "id": 1,
        "note": "hello",
        "original_media_uri": None,
        "user_metadata": None,
    }
    assert hma.put("/c/bank/BANK_B/content/1", json={}).json()["disable_until_ts"] == 0
    later = int(time.time()) + 3600
    assert (
        hma.put("/c/bank/BANK_B/content/1", json={"disable_until_ts": str(later)}).json()[
            "disable_until_ts"
        ]
        == later
    )
    assert (
        hma.put("/c/bank/BANK_B/content/1", json={"disable_until_ts": 1.7}).json()[
            "disable_until_ts"
        ]
        == 1
    )
    cleared = hma.put("/c/bank/BANK_B/content/1", json={"note": ""}).json()
    assert cleared["note"] is None
    assert "note" not in hma.get("/c/bank/BANK_B/content/1").json()
    assert hma.delete("/c/bank/BANK_B/content/1").json() == {"deleted": 1}
    assert hma.delete("/c/bank/BANK_B/content/1").json() == {"deleted": 0}
    gone = hma.get("/c/bank/BANK_B/content/1")
    assert (gone.status_code, gone.json()) == (404, {"message": "content '1' not found"})
    no_bank = hma.delete("/c/bank/NOPE/content/1")
    assert (no_bank.status_code, no_bank.json()) == (404, {"message": "bank 'NOPE' not found"})


def test_disable_until_ts_errors(hma: TestClient) -> None:
    new_bank(hma, "BANK_B")
    hma.post("/c/bank/BANK_B/signal", json={"pdq": PDQ_A})
    put = hma.put
    too_late = int(time.time()) + 6 * 365 * 24 * 3600
    for value, message in (
        ("abc", "Invalid int: 'abc'"),
        (-5, "disable_until_ts must be a non-negative integer"),
        (too_late, "disable_until_ts must be less than 5 years in the future"),
    ):
        response = put("/c/bank/BANK_B/content/1", json={"disable_until_ts": value})
        assert (response.status_code, response.json()) == (400, {"message": message})
    # HMA: 500 for null; Safelight: 400
    assert put("/c/bank/BANK_B/content/1", json={"disable_until_ts": None}).status_code == 400
    for text in (b"NaN", b"Infinity"):  # Python's json reads these
        body = b'{"disable_until_ts": ' + text + b"}"
        response = put(
            "/c/bank/BANK_B/content/1", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, text
    assert put("/c/bank/BANK_B/content/1", content=b"x").status_code == 415


def test_content_ids_must_be_content_of_the_path_bank(hma: TestClient) -> None:
    """hma-api.md 7.3: HMA ignores the path bank; Safelight answers 404 / deleted 0."""
    new_bank(hma, "BANK_A")
    new_bank(hma, "BANK_B")
    hma.post("/c/bank/BANK_B/signal", json={"pdq": PDQ_A})
    assert hma.get("/c/bank/BANK_A/content/1").status_code == 404
    assert hma.put("/c/bank/BANK_A/content/1", json={"note": "x"}).status_code == 404
    assert hma.delete("/c/bank/BANK_A/content/1").json() == {"deleted": 0}
    assert hma.get("/c/bank/BANK_B/content/1").status_code == 200
    for bad_id in ("abc", "-1"):  # HMA: an HTML 404 page (routing); Safelight: JSON 404
        assert hma.get(f"/c/bank/BANK_B/content/{bad_id}").status_code == 404


def test_types_are_views_of_the_registry(hma: TestClient) -> None:
    names = [t["name"] for t in hma.get("/c/signal_type").json()]
    assert names[:2] == ["pdq", "video_md5"] and {"video_sha256", "vpdq"} <= set(names)
    assert all(t["enabled_ratio"] == 1.0 for t in hma.get("/c/signal_type").json())
    assert hma.get("/c/content_type").json() == [
        {"enabled": True, "name": "photo"},
        {"enabled": True, "name": "video"},
    ]


def test_signal_type_index(hma: TestClient) -> None:
    empty = {
        "db_size": 0,
        "index_built_to": -1,
        "index_out_of_date": False,
        "index_size": 0,
        "newest_db_item": -1,
    }
    assert hma.get("/c/signal_type/index", params={"signal_type": "pdq"}).json() == {"pdq": empty}
    new_bank(hma, "BANK_A")
    hma.post("/c/bank/BANK_A/signal", json={"pdq": PDQ_A})
    found = hma.get("/c/signal_type/index").json()
    assert found["pdq"]["db_size"] == 1 and found["pdq"]["newest_db_item"] > 0
    assert found["video_md5"] == empty
    unknown = hma.get("/c/signal_type/index", params={"signal_type": "nope"})
    assert (unknown.status_code, unknown.json()) == (400, {"message": "No such signal type 'nope'"})
