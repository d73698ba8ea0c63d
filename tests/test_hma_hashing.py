"""HMA's hashing and status routes (/h/hash, /status) and its error families, driven as an
HMA client; expectations from hma-api.md 0-3."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.service.context import ServiceContext
from safelight.service.roles import Role
from safelight.store import Database
from tests.conftest import conformance_dir
from tests.hma_support import PDQ_A, flat_png, hma_client, textured_png
from tests.service_support import BASE, bearer, make_app, make_token

VIDEO = b"\x00\x00\x00\x18ftypmp42 benign test bytes, not a real video"


@pytest.fixture
def hma(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with hma_client(db, tmp_path) as client:
        yield client


def bridge() -> bytes:
    return (conformance_dir("pdq", "images", "bridge-mods") / "aaa-orig.jpg").read_bytes()


def test_post_hash_photo_is_the_reference_example(hma: TestClient) -> None:
    response = hma.post("/h/hash", files={"photo": ("anything.bin", bridge(), "text/plain")})
    assert (response.status_code, response.json()) == (200, {"pdq": PDQ_A})


def test_post_hash_video_and_types(hma: TestClient) -> None:
    files = {"video": ("v.mp4", VIDEO, "video/mp4")}
    assert hma.post("/h/hash", files=files).json() == {"video_md5": hashlib.md5(VIDEO).hexdigest()}
    both = hma.post("/h/hash", params={"types": " video_sha256 , ,video_md5"}, files=files)
    assert both.json() == {
        "video_sha256": hashlib.sha256(VIDEO).hexdigest(),
        "video_md5": hashlib.md5(VIDEO).hexdigest(),
    }


def test_low_quality_photo_hashes_to_empty(hma: TestClient) -> None:
    flat = hma.post("/h/hash", files={"photo": ("f.png", flat_png(), "image/png")})
    assert flat.json() == {"pdq": ""}
    textured = hma.post("/h/hash", files={"photo": ("t.png", textured_png(), "image/png")})
    assert len(textured.json()["pdq"]) == 64


def test_post_hash_errors(hma: TestClient) -> None:
    photo = ("p.png", flat_png(), "image/png")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"json": {"photo": "x"}}, 400, "Missing multipart/form-data file upload"),
        ({"data": {"note": "x"}, "files": {}}, 400, "Missing multipart/form-data file upload"),
        ({"files": [("photo", photo), ("photo", photo)]}, 400, "Only one file allowed per request"),
        ({"files": [("photo", photo), ("video", photo)]}, 400, "Only one file allowed per request"),
        ({"files": {"audio": photo}}, 400, "no such content_type: 'audio'"),
        (
            {"files": {"photo": photo}, "params": {"types": "nope"}},
            400,
            "signal type 'nope' doesn't exist or is disabled",
        ),
        (
            {"files": {"photo": photo}, "params": {"types": "video_md5"}},
            400,
            "signal type 'video_md5' doesn't exist or is disabled",
        ),
        (
            {"files": {"photo": photo}, "params": {"types": " , "}},
            400,
            "empty signal type selection",
        ),
    ]
    for kwargs, status, message in cases:
        response = hma.post("/h/hash", **kwargs)
        assert (response.status_code, response.json()) == (status, {"message": message}), kwargs


def test_get_hash_never_fetches(hma: TestClient) -> None:
    missing = hma.get("/h/hash")
    assert missing.status_code == 422
    assert [(e["type"], e["loc"]) for e in missing.json()] == [("missing", ["url"])]
    for route in ("/h/hash", "/m/lookup"):
        refused = hma.get(route, params={"url": "http://127.0.0.1:9/x.jpg"})
        assert refused.status_code == 400
        assert refused.json()["message"].startswith("Invalid or unsafe URL provided")
    hma.post("/c/banks", json={"name": "BANK_A"})
    added = hma.post("/c/bank/BANK_A/content", params={"url": "http://127.0.0.1:9/x.jpg"})
    assert added.status_code == 400
    assert added.json()["message"].startswith("Invalid or unsafe URL provided")


def test_add_content_by_upload(hma: TestClient) -> None:
    hma.post("/c/banks", json={"name": "BANK_B"})
    metadata = '{"content_id": "ext-1", "content_uri": "https://e.x/1", "json": {"a": [1, 2]}}'
    added = hma.post(
        "/c/bank/BANK_B/content",
        files={"photo": ("b.jpg", bridge(), "image/jpeg")},
        data={"metadata": metadata, "note": "hello"},
    )
    assert (added.status_code, added.json()) == (200, {"id": 1, "signals": {"pdq": PDQ_A}})
    item = hma.get("/c/bank/BANK_B/content/1", params={"include_signals": "true"})
    assert item.json() == {
        "bank": {"matching_enabled_ratio": 1.0, "name": "BANK_B"},
        "disable_until_ts": 1,
        "id": 1,
        "metadata": {
            "collab": None,
            "content_id": "ext-1",
            "content_uri": "https://e.x/1",
            "json": {"a": [1, 2]},
        },
        "note": "hello",
        "original_media_uri": None,
        "signals": {"pdq": PDQ_A},
    }
    hidden = hma.get("/c/bank/BANK_B/content/1", params={"include_metadata": "no"}).json()
    assert "metadata" not in hidden
    updated = hma.put("/c/bank/BANK_B/content/1", json={"note": "hello"}).json()
    assert updated["user_metadata"] == {
        "content_id": "ext-1",
        "content_uri": "https://e.x/1",
        "json": {"a": [1, 2]},
    }


def test_add_content_errors(hma: TestClient) -> None:
    photo = {"photo": ("b.jpg", bridge(), "image/jpeg")}
    missing_bank = hma.post("/c/bank/NOPE/content", files=photo)
    assert (missing_bank.status_code, missing_bank.json()) == (
        404,
        {"message": "bank 'NOPE' not found"},
    )
    hma.post("/c/banks", json={"name": "BANK_B"})
    path = "/c/bank/BANK_B/content"
    neither = hma.post(path)
    assert neither.json() == {"message": "Neither `url` nor multipart file upload was received"}
    low = hma.post(path, files={"photo": ("f.png", flat_png(), "image/png")})
    assert (low.status_code, low.json()) == (
        400,
        {"message": "Invalid pdq signal: invalid PDQ hash"},
    )
    for metadata, message in (
        ("{", "metadata form field must be valid JSON"),
        ("[1]", "metadata should be a json object"),
    ):
        response = hma.post(path, files=photo, data={"metadata": metadata})
        assert response.json() == {"message": message}
    for metadata in ('{"content_id": 5}', '{"other": 1}'):
        response = hma.post(path, files=photo, data={"metadata": metadata})
        assert response.status_code == 400
        assert response.json()["message"].startswith("Invalid metadata: ")
    long_note = hma.post(path, files=photo, data={"note": "x" * 256})
    assert long_note.json() == {"message": "note must be at most 255 characters"}
    assert hma.get("/c/bank/BANK_B/content/1").status_code == 404  # nothing stored


def test_status_routes(db: Database, tmp_path: Path) -> None:
    with hma_client(db, tmp_path) as client:
        for path in ("/status", "/status/live"):
            response = client.get(path, headers={"Authorization": ""})
            assert (response.status_code, response.text) == (200, "I-AM-ALIVE")
            assert response.headers["content-type"] == "text/html; charset=utf-8"

    def not_loaded(app: FastAPI, ctx: ServiceContext) -> None:
        ctx.add_readiness_check("index", lambda: (False, {"loaded": False}))

    def stale(app: FastAPI, ctx: ServiceContext) -> None:
        ctx.add_readiness_check("index", lambda: (False, {"stale": True}))

    for extend, text in ((not_loaded, "INDEX-NOT-LOADED"), (stale, "INDEX-STALE")):
        with TestClient(make_app(db, extend=extend), base_url=BASE) as client:
            response = client.get("/status")
            assert (response.status_code, response.text) == (503, text)
            assert client.get("/status/live").status_code == 200


def test_hma_clients_get_hma_shaped_errors(db: Database, tmp_path: Path) -> None:
    with TestClient(make_app(db, hma_max_upload_bytes=1000), base_url=BASE) as client:
        nobody = client.get("/c/banks")
        assert nobody.status_code == 401 and set(nobody.json()) == {"message"}
        auditor = bearer(make_token(db, "aud", Role.AUDITOR))
        denied = client.get("/m/lookup", params={"signal": PDQ_A}, headers=auditor)
        assert denied.status_code == 403 and set(denied.json()) == {"message"}
        unknown = client.get("/c/no_such_route", headers=auditor)
        assert unknown.status_code == 404 and set(unknown.json()) == {"message"}
        admin = bearer(make_token(db, "adm", Role.ADMIN))
        big = client.post(
            "/h/hash", files={"photo": ("b.jpg", bridge(), "image/jpeg")}, headers=admin
        )
        assert (big.status_code, big.json()) == (413, {"message": "Content too large"})
        # the native API keeps its own shape
        assert "error" in client.get("/api/v1/lists").json()
