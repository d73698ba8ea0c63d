"""Native lookup routes: batches, one hash, uploads; per-item errors, list scope, provenance."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safelight.lists import HashListStore
from safelight.service.lookup import LookupEngine
from safelight.service.roles import Role
from safelight.signals.files import hash_bytes
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token
from tests.signals_media import jpeg_bytes
from tests.test_service_lookup import DEADLINE_SECONDS, wait_for, write_jsonl

PHOTO = jpeg_bytes(11, 160, 120)
OTHER_PDQ = "f" * 64


def started(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as client:
        engine: LookupEngine = app.state.service.extensions["lookup"]
        assert engine.wait_ready(DEADLINE_SECONDS)
        yield client


@pytest.fixture
def photo_hashes() -> dict[str, str]:
    record = hash_bytes(PHOTO, "photo.jpg")
    assert record.pdq is not None
    return {**record.digests, "pdq": record.pdq.hex}


@pytest.fixture
def lists(db: Database, tmp_path: Path, photo_hashes: dict[str, str]) -> None:
    store = HashListStore(db)
    store.create("KNOWN", source="hotline X", terms_of_use="members only")
    rows: list[dict[str, Any]] = [
        {"type": "pdq", "value": photo_hashes["pdq"], "labels": ["csam"], "note": "case 7"},
        {"type": "md5", "value": photo_hashes["md5"]},
    ]
    store.import_file("KNOWN", write_jsonl(tmp_path / "known.jsonl", rows), fmt="jsonl")
    store.create("OTHER", pdq_threshold=0)
    other = [{"type": "sha256", "value": OTHER_PDQ}, {"type": "pdq", "value": photo_hashes["pdq"]}]
    store.import_file("OTHER", write_jsonl(tmp_path / "other.jsonl", other), fmt="jsonl")


@pytest.fixture
def client(db: Database, lists: None) -> Iterator[TestClient]:
    yield from started(make_app(db))


@pytest.fixture
def token(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "platform", Role.API_CLIENT))


def test_a_batch_answers_each_query(
    client: TestClient, token: dict[str, str], photo_hashes: dict[str, str]
) -> None:
    queries = [
        {"signal_type": "pdq", "value": photo_hashes["pdq"].upper()},
        {"signal_type": "pdq", "value": "12"},
        {"signal_type": "colour", "value": "00"},
        {"signal_type": "video_md5", "value": photo_hashes["md5"]},
        {"signal_type": "sha256", "value": OTHER_PDQ},
        {"signal_type": "pdq", "value": OTHER_PDQ},
    ]
    response = client.post("/api/v1/lookup", json={"queries": queries}, headers=token)
    assert response.status_code == 200, response.text
    pdq, short, unknown, md5, sha256, declared_pdq = response.json()["results"]
    assert pdq["value"] == photo_hashes["pdq"] and pdq["error"] is None
    assert [(m["list"], m["distance"]) for m in pdq["matches"]] == [("KNOWN", 0), ("OTHER", 0)]
    known = pdq["matches"][0]
    assert known["labels"] == ["csam"] and known["note"] == "case 7"
    assert known["list_provenance"]["source"] == "hotline X"
    assert known["list_provenance"]["terms_of_use"] == "members only"
    assert known["metadata"]["import"]["source_path"].endswith("known.jsonl")
    assert short["error"]["code"] == "invalid_query" and short["matches"] == []
    assert "colour" in unknown["error"]["message"]
    assert md5["signal_type"] == "md5" and md5["matches"][0]["list"] == "KNOWN"
    # The same 64 hex characters: a SHA-256 where declared so, no PDQ match where not.
    assert [m["list"] for m in sha256["matches"]] == ["OTHER"]
    assert declared_pdq["matches"] == []


def test_one_hash_by_get_and_the_lists_asked_for(
    client: TestClient, token: dict[str, str], photo_hashes: dict[str, str]
) -> None:
    params: dict[str, Any] = {"signal_type": "pdq", "value": photo_hashes["pdq"]}
    answer = client.get("/api/v1/lookup", params=params, headers=token).json()
    assert {m["list"] for m in answer["matches"]} == {"KNOWN", "OTHER"}
    params["lists"] = ["OTHER"]
    answer = client.get("/api/v1/lookup", params=params, headers=token).json()
    assert [m["list"] for m in answer["matches"]] == ["OTHER"]


def test_a_scoped_token_matches_only_its_lists(
    db: Database, client: TestClient, photo_hashes: dict[str, str]
) -> None:
    scoped = bearer(make_token(db, "scoped", Role.API_CLIENT, lists=["OTHER"]))
    body = {"queries": [{"signal_type": "pdq", "value": photo_hashes["pdq"]}]}
    for asked in (None, ["KNOWN", "OTHER"]):
        found = client.post("/api/v1/lookup", json={**body, "lists": asked}, headers=scoped)
        assert [m["list"] for m in found.json()["results"][0]["matches"]] == ["OTHER"]


def test_an_upload_is_sniffed_hashed_and_never_kept(
    client: TestClient,
    token: dict[str, str],
    photo_hashes: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    files = {"file": ("notes.txt", PHOTO, "text/plain")}  # the name and type lie
    response = client.post("/api/v1/lookup/upload", files=files, headers=token)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["file"]["media"] == "photo" and answer["file"]["name"] == "notes.txt"
    by_type = {r["signal_type"]: r for r in answer["results"]}
    assert [m["list"] for m in by_type["md5"]["matches"]] == ["KNOWN"]
    assert {m["list"] for m in by_type["pdq"]["matches"]} == {"KNOWN", "OTHER"}
    assert answer["error"] is None
    assert list(spool.iterdir()) == []


def test_an_upload_over_the_limit_is_refused(
    db: Database, lists: None, token: dict[str, str], tmp_path: Path
) -> None:
    app = make_app(db, upload_max_bytes=1000)
    for client in started(app):
        files = {"file": ("big.jpg", PHOTO, "image/jpeg")}
        response = client.post("/api/v1/lookup/upload", files=files, headers=token)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        # under the framing allowance, the copy still stops at the limit
        small = make_app(db, upload_max_bytes=len(PHOTO) - 10)
        for other in started(small):
            response = other.post("/api/v1/lookup/upload", files=files, headers=token)
            assert response.status_code == 413


def test_readiness_and_metrics_report_the_index(client: TestClient) -> None:
    ready = client.get("/readyz").json()
    index = ready["checks"]["index"]
    assert index["ok"] is True and index["pdq"]["size"] == 2
    assert index["sha256"]["size"] == 1
    wait_for(
        lambda: 'safelight_index_entries{signal_type="pdq"} 2.0' in client.get("/metrics").text,
        "the index size in the metrics",
    )
