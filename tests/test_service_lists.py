"""The native API's lists, entries, imports and hashing, driven as a client would."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from safelight.lists import HashListStore
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token

PDQ = "f" * 64
PDQ2 = "0" * 63 + "1"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@pytest.fixture
def api(db: Database) -> Any:
    with TestClient(make_app(db), base_url=BASE) as client:
        yield client


@pytest.fixture
def analyst(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "curator", Role.ANALYST))


def actions(db: Database) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in AuditLog(db).entries()]


def new_list(api: TestClient, headers: dict[str, str], name: str = "KNOWN", **extra: Any) -> Any:
    response = api.post("/api/v1/lists", json={"name": name, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_list_lifecycle_is_audited(db: Database, api: TestClient, analyst: dict[str, str]) -> None:
    created = new_list(api, analyst, description="d", pdq_threshold=20)
    assert created["pdq_threshold"] == 20 and created["entries"] == 0
    assert api.post("/api/v1/lists", json={"name": "KNOWN"}, headers=analyst).status_code == 409
    bad = api.post("/api/v1/lists", json={"name": "lower"}, headers=analyst)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "usage"
    changed = api.patch(
        "/api/v1/lists/KNOWN",
        json={"pdq_threshold": 40, "source": "NCMEC", "default_signal_type": "sha256"},
        headers=analyst,
    ).json()
    assert (changed["pdq_threshold"], changed["source"]) == (40, "NCMEC")
    assert changed["default_signal_type"] == "sha256" and changed["generation"] == 1
    too_far = api.patch("/api/v1/lists/KNOWN", json={"pdq_threshold": 999}, headers=analyst)
    assert too_far.status_code == 400 and too_far.json()["error"]["details"]["field"] == (
        "pdq_threshold"
    )
    null = api.patch("/api/v1/lists/KNOWN", json={"enabled": None}, headers=analyst)
    assert null.status_code == 400 and null.json()["error"]["details"]["field"] == "enabled"
    off = api.patch("/api/v1/lists/KNOWN", json={"enabled": False}, headers=analyst).json()
    assert off["enabled"] is False
    read = api.get("/api/v1/lists/KNOWN", headers=analyst).json()
    assert read["description"] == "d" and read["enabled"] is False
    missing = api.get("/api/v1/lists/KNOWN_TYPO", headers=analyst)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "list_not_found"
    assert api.delete("/api/v1/lists/KNOWN", headers=analyst).status_code == 204
    assert api.get("/api/v1/lists/KNOWN", headers=analyst).status_code == 404
    assert [a for a in actions(db) if a[1].startswith("list.")] == [
        ("token:curator", "list.create", "KNOWN"),
        ("token:curator", "list.update", "KNOWN"),
        ("token:curator", "list.update", "KNOWN"),
        ("token:curator", "list.delete", "KNOWN"),
    ]
    assert AuditLog(db).verify().ok


def test_entries_add_read_update_disable_delete(
    db: Database, api: TestClient, analyst: dict[str, str]
) -> None:
    new_list(api, analyst)
    base = "/api/v1/lists/KNOWN/entries"
    untyped = api.post(base, json={"value": PDQ}, headers=analyst)
    assert untyped.status_code == 422
    error = untyped.json()["error"]
    assert error["code"] == "validation" and "type" in error["details"]["problems"][0]["reason"]
    added = api.post(
        base, json={"value": PDQ, "type": "pdq", "labels": ["csam"], "note": "n"}, headers=analyst
    )
    assert added.status_code == 201
    entry = added.json()
    assert (entry["type"], entry["value"], entry["labels"], entry["note"]) == (
        "pdq",
        PDQ,
        ["csam"],
        "n",
    )
    again = api.post(base, json={"value": PDQ, "type": "pdq", "labels": ["x"]}, headers=analyst)
    assert again.status_code == 200 and again.json()["id"] == entry["id"]
    assert again.json()["labels"] == ["csam", "x"]
    one = f"{base}/{entry['id']}"
    assert api.get(one, headers=analyst).json()["id"] == entry["id"]
    bad_label = api.patch(one, json={"labels": ["a|b"]}, headers=analyst)
    assert (
        bad_label.status_code == 400 and bad_label.json()["error"]["details"]["field"] == "labels"
    )
    patched = api.patch(one, json={"labels": ["y"], "note": ""}, headers=analyst).json()
    assert patched["labels"] == ["y"] and patched["note"] is None
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = api.post(f"{one}/disable", json={"until": past}, headers=analyst)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "past_time"
    future = datetime.now(UTC) + timedelta(days=2)
    disabled = api.post(f"{one}/disable", json={"until": future.isoformat()}, headers=analyst)
    assert datetime.fromisoformat(disabled.json()["disabled_until"]) == future
    assert api.post(f"{one}/enable", headers=analyst).json()["disabled_until"] is None
    assert api.delete(one, headers=analyst).status_code == 204
    assert api.get(one, headers=analyst).status_code == 404
    assert api.delete(one, headers=analyst).status_code == 404
    assert [a[1] for a in actions(db) if a[1].startswith("entry.")] == [
        "entry.add",
        "entry.add",
        "entry.update",
        "entry.disable",
        "entry.enable",
        "entry.delete",
    ]
    assert HashListStore(db).get("KNOWN").generation >= 6


def test_entries_are_paged_and_filtered(
    db: Database, api: TestClient, analyst: dict[str, str]
) -> None:
    new_list(api, analyst, default_signal_type="md5")
    values = [f"{i:032x}" for i in range(7)]
    ids = []
    for i, value in enumerate(values):
        labels = ["even"] if i % 2 == 0 else []
        body = {"value": value, "labels": labels}
        ids.append(api.post("/api/v1/lists/KNOWN/entries", json=body, headers=analyst).json()["id"])
    api.post(f"/api/v1/lists/KNOWN/entries/{ids[1]}/disable", json={}, headers=analyst)
    for limit in range(1, 9):  # every page size, the last page full or not
        seen: list[int] = []
        after = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": limit}
            if after is not None:
                params["after"] = after
            page = api.get("/api/v1/lists/KNOWN/entries", params=params, headers=analyst).json()
            assert len(page["entries"]) <= limit
            seen += [e["id"] for e in page["entries"]]
            pages += 1
            after = page["next_after"]
            if after is None:
                break
        assert seen == ids and pages == max(1, -(-len(ids) // limit)), limit

    def query(**params: Any) -> list[int]:
        got = api.get("/api/v1/lists/KNOWN/entries", params=params, headers=analyst)
        assert got.status_code == 200, got.text
        return [e["id"] for e in got.json()["entries"]]

    assert query(label="even") == ids[0::2]
    assert query(state="disabled") == [ids[1]]
    assert query(state="enabled") == [i for i in ids if i != ids[1]]
    assert query(prefix="0" * 31 + "6") == [ids[6]]
    assert query(type="md5") == ids and query(type="pdq") == []
    bad = api.get("/api/v1/lists/KNOWN/entries", params={"prefix": "xyz"}, headers=analyst)
    assert bad.status_code == 400


def test_scoped_tokens_see_and_touch_only_their_lists(db: Database, api: TestClient) -> None:
    lists = HashListStore(db)
    lists.create("KNOWN")
    lists.create("OTHER")
    scoped = bearer(make_token(db, "scoped", Role.ANALYST, lists=["KNOWN"]))
    assert api.get("/api/v1/lists/KNOWN", headers=scoped).status_code == 200
    hidden = api.get("/api/v1/lists/OTHER", headers=scoped)
    assert hidden.status_code == 404 and "OTHER" in hidden.json()["error"]["message"]
    for method, path, body in [
        ("PATCH", "/api/v1/lists/OTHER", {"description": "x"}),
        ("DELETE", "/api/v1/lists/OTHER", None),
        ("GET", "/api/v1/lists/OTHER/entries", None),
        ("POST", "/api/v1/lists/OTHER/entries", {"value": MD5}),
    ]:
        assert api.request(method, path, json=body, headers=scoped).status_code == 404, path
    outside = api.post("/api/v1/lists", json={"name": "NEW"}, headers=scoped)
    assert outside.status_code == 403
    added = api.post("/api/v1/lists/KNOWN/entries", json={"value": MD5}, headers=scoped)
    assert added.status_code == 201
    files = {"file": ("x.txt", MD5.encode())}
    assert api.post("/api/v1/lists/OTHER/import", files=files, headers=scoped).status_code == 404
    reader = bearer(make_token(db, "reader", Role.API_CLIENT))
    assert api.get("/api/v1/lists/OTHER", headers=reader).status_code == 200
    assert (
        api.post("/api/v1/lists/OTHER/entries", json={"value": MD5}, headers=reader).status_code
        == 403
    )


def test_import_reports_and_line_errors(
    db: Database, api: TestClient, analyst: dict[str, str]
) -> None:
    new_list(api, analyst)
    good = f"type,value,labels\nmd5,{MD5},a|b\npdq,{PDQ},\n".encode()
    response = api.post(
        "/api/v1/lists/KNOWN/import",
        files={"file": ("hotline.csv", good)},
        data={"labels": "batch1"},
        headers=analyst,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["format"], report["records"], report["added"]) == ("csv", 2, 2)
    assert report["source_path"] == "hotline.csv"
    entries = HashListStore(db).find_entries("KNOWN")
    assert sorted(entries[0].labels) == ["a", "b", "batch1"]
    bad = f"{MD5}\nnot-a-hash\n{PDQ}\n".encode()
    refused = api.post(
        "/api/v1/lists/KNOWN/import",
        files={"file": ("bad.csv", bad)},
        data={"format": "lines"},
        headers=analyst,
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "validation"
    locations = [p["location"] for p in error["details"]["problems"]]
    assert locations == ["bad.csv:2", "bad.csv:3"]
    assert HashListStore(db).summary("KNOWN").entries == 2  # all or nothing
    skipped = api.post(
        "/api/v1/lists/KNOWN/import",
        files={"file": ("bad.txt", bad)},
        data={"skip_invalid": "true", "type": "md5"},
        headers=analyst,
    ).json()
    assert (skipped["records"], skipped["invalid"]) == (1, 2)
    unknown = api.post(
        "/api/v1/lists/KNOWN/import",
        files={"file": ("x", b"")},
        data={"format": "xml"},
        headers=analyst,
    )
    assert unknown.status_code == 400
    imports = [a for a in actions(db) if a[1] == "list.import"]
    assert len(imports) == 2
    metric = api.get("/metrics").text
    assert 'safelight_import_rows_total{list="KNOWN"} 5.0' in metric


def test_upload_limits(db: Database, analyst: dict[str, str]) -> None:
    HashListStore(db).create("KNOWN")
    app = make_app(db, upload_max_bytes=1000, import_max_bytes=100)
    with TestClient(app, base_url=BASE) as api:
        big = {"file": ("big.bin", b"x" * 1001)}
        response = api.post("/api/v1/hash", files=big, headers=analyst)
        assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
        ok = api.post("/api/v1/hash", files={"file": ("ok.bin", b"x" * 1000)}, headers=analyst)
        assert ok.status_code == 200
        lines = ("\n".join([MD5] * 10)).encode()
        refused = api.post(
            "/api/v1/lists/KNOWN/import", files={"file": ("l.txt", lines)}, headers=analyst
        )
        assert refused.status_code == 413
        declared = api.post(
            "/api/v1/hash",
            content=b"x" * 10,
            headers={
                **analyst,
                "content-length": str(10**9),
                "content-type": "multipart/form-data; boundary=b",
            },
        )
        assert declared.status_code == 413
        no_file = api.post("/api/v1/hash", data={"name": "x"}, headers=analyst)
        assert no_file.status_code == 400 and no_file.json()["error"]["details"]["field"] == "file"


def png_bytes() -> bytes:
    pixels = (np.indices((64, 64)).sum(axis=0) * 2 % 256).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def test_hash_sniffs_content_not_the_name(db: Database, api: TestClient) -> None:
    client_token = bearer(make_token(db, "platform", Role.API_CLIENT))
    text = api.post(
        "/api/v1/hash", files={"file": ("photo.jpg", b"just some text\n")}, headers=client_token
    ).json()
    assert text["media"] == "other" and text["error"] is None and text["pdq"] is None
    assert text["path"] == "photo.jpg"
    assert text["md5"] == hashlib.md5(b"just some text\n").hexdigest()
    image = api.post(
        "/api/v1/hash", files={"file": ("notes.txt", png_bytes())}, headers=client_token
    ).json()
    assert image["media"] == "photo" and image["format"] == "png" and len(image["pdq"]) == 64
    auditor = bearer(make_token(db, "aud", Role.AUDITOR))
    assert api.post("/api/v1/hash", files={"file": ("a", b"a")}, headers=auditor).status_code == 403


def test_uploads_leave_no_temporary_file(
    db: Database,
    api: TestClient,
    analyst: dict[str, str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    HashListStore(db).create("KNOWN")
    api.post("/api/v1/hash", files={"file": ("a.png", png_bytes())}, headers=analyst)
    failed = api.post(
        "/api/v1/lists/KNOWN/import", files={"file": ("l.txt", b"zz\n")}, headers=analyst
    )
    assert failed.status_code == 422
    api.post("/api/v1/lists/KNOWN/import", files={"file": ("l.txt", MD5.encode())}, headers=analyst)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("safelight-upload")] == []


def test_a_failed_audit_undoes_the_list_change(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safelight.service.audit import AuditLog as Log

    HashListStore(db).create("KNOWN", description="before")
    admin = bearer(make_token(db, "a", Role.ADMIN))

    attempted: list[str] = []

    def broken(_self: Any, actor: str, action: str, *_: Any, **__: Any) -> None:
        attempted.append(action)
        raise RuntimeError("audit store full")

    with TestClient(make_app(db), base_url=BASE, raise_server_exceptions=False) as api:
        assert api.get("/api/v1/me", headers=admin).status_code == 200  # token use audited
        monkeypatch.setattr(Log, "record", broken)
        failed = api.patch("/api/v1/lists/KNOWN", json={"description": "after"}, headers=admin)
        assert failed.status_code == 500
        failed = api.post("/api/v1/lists", json={"name": "NEW"}, headers=admin)
        assert failed.status_code == 500
    assert attempted == ["list.update", "list.create"]  # the route got as far as its audit
    assert HashListStore(db).get("KNOWN").description == "before"
    assert [hl.name for hl in HashListStore(db).list()] == ["KNOWN"]


def test_an_upload_without_a_length_is_cut_at_the_limit() -> None:
    """read_form stops reading at the limit: the rest of the body is never received."""
    import asyncio

    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    from safelight.service.uploads import read_form

    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    chunks = [head, *([b"x" * 65536] * 200), f"\r\n--{boundary}--\r\n".encode()]
    received: list[int] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        body = chunks[len(received) - 1]
        return {"type": "http.request", "body": body, "more_body": len(received) < len(chunks)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/hash",
        "headers": [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())],
    }
    with pytest.raises(HTTPException) as info:
        asyncio.run(read_form(Request(scope, receive), 1000))
    assert info.value.status_code == 413
    assert len(received) == 3  # the head and two blocks: the second passes limit + framing


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    digest=st.binary(min_size=16, max_size=16).map(bytes.hex),
    labels=st.lists(st.sampled_from(["a", "b", "series-1"]), max_size=3),
    note=st.one_of(st.none(), st.sampled_from(["n", " spaced "])),
)
def test_adding_an_entry_equals_importing_it(
    db: Database, digest: str, labels: list[str], note: str | None
) -> None:
    """The oracle: ListEditor.add_entry stores what a one-line import stores."""
    import json
    import tempfile

    from safelight.lists.editing import ListEditor

    store = HashListStore(db)
    for name in ("BY_API", "BY_FILE"):
        if name in {hl.name for hl in store.list()}:
            store.delete(name)
        store.create(name)
    with db.begin() as conn:
        added, new = ListEditor(store).add_entry(
            conn, "BY_API", digest, signal_type="md5", labels=labels, note=note, by="t"
        )
    assert new
    line = {"type": "md5", "value": digest, "labels": "|".join(labels), "note": note}
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.write(json.dumps(line) + "\n")
    try:
        store.import_file("BY_FILE", handle.name)
    finally:
        Path(handle.name).unlink()
    (imported,) = store.find_entries("BY_FILE")
    assert (added.signal_type, added.value, added.labels, added.note) == (
        imported.signal_type,
        imported.value,
        imported.labels,
        imported.note,
    )
