"""HMA's ``?url=`` routes with an allow-listed host: a local HTTP server on 127.0.0.1 only.

Expectations from hma-api.md 3 (GET /h/hash steps and texts) and 4 (GET /m/lookup ?url=).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safelight.service.roles import Role
from safelight.store import Database
from tests.conftest import conformance_dir
from tests.hma_support import PDQ_A
from tests.service_support import BASE, bearer, make_app, make_token

VIDEO = b"benign bytes standing in for a video"
LIMIT = 1_000_000  # above the 361 KB test image


class Media(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        status, headers, body = self.routes.get(self.path, (404, {}, b"no"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_response(self, code: int, message: str | None = None) -> None:
        # no Server/Date headers, and no default Content-Type: a route sets its own
        self.log_request(code)
        self.send_response_only(code, message)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    image = (conformance_dir("pdq", "images", "bridge-mods") / "aaa-orig.jpg").read_bytes()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Media)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    elsewhere = base.replace("127.0.0.1", "localhost")
    Media.routes = {
        "/bridge.jpg": (200, {"Content-Type": "image/jpeg"}, image),
        "/bridge.bin": (200, {"Content-Type": "application/octet-stream"}, image),
        "/untyped": (200, {}, image),
        "/video.mp4": (200, {"Content-Type": "video/mp4"}, VIDEO),
        "/big.jpg": (200, {"Content-Type": "image/jpeg"}, b"x" * (LIMIT + 1)),
        "/elsewhere": (302, {"Location": elsewhere + "/bridge.jpg"}, b""),
        "/here": (302, {"Location": base + "/bridge.jpg"}, b""),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield base
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def hma(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    app = make_app(
        db, home=tmp_path / "home", hma_fetch_allowed_hosts="127.0.0.1", hma_max_upload_bytes=LIMIT
    )
    with TestClient(app, base_url=BASE, headers=bearer(make_token(db, "a", Role.ADMIN))) as c:
        yield c


def get_hash(client: TestClient, url: str, **params: str) -> tuple[int, object]:
    response = client.get("/h/hash", params={"url": url, **params})
    return response.status_code, response.json()


def test_get_hash_from_an_allowed_host(hma: TestClient, server: str) -> None:
    assert get_hash(hma, server + "/bridge.jpg") == (200, {"pdq": PDQ_A})
    assert get_hash(hma, server + "/video.mp4") == (
        200,
        {"video_md5": hashlib.md5(VIDEO).hexdigest()},
    )
    assert get_hash(hma, server + "/bridge.bin", content_type="photo") == (200, {"pdq": PDQ_A})
    assert get_hash(hma, server + "/here") == (200, {"pdq": PDQ_A})  # redirect, same host


def test_get_hash_errors(hma: TestClient, server: str) -> None:
    unsafe = (400, {"message": "Invalid or unsafe URL provided"})
    for url in (
        "ftp://127.0.0.1/x",
        "http:///x",
        "http://127.0.0.1:port/x",
        "http://localhost/x",  # not on the allow-list
        "http://127.0.0.1.evil.example/x",
        server + "/elsewhere",  # a redirect to a host not on the list is checked too
    ):
        assert get_hash(hma, url) == unsafe, url
    status, body = get_hash(hma, server + "/missing")
    assert status == 400 and body["message"].startswith("Failed to fetch URL: ")  # type: ignore[index]
    assert get_hash(hma, server + "/big.jpg") == (413, {"message": "Content too large"})
    status, body = get_hash(hma, server + "/bridge.bin")
    assert (status, body) == (
        400,
        {
            "message": "unsupported url ContentType: 'application/octet-stream', if you know "
            "the expected type, provide it with the content_type query param"
        },
    )
    assert get_hash(hma, server + "/untyped")[0] == 400  # HMA: 500
    assert get_hash(hma, server + "/bridge.jpg", content_type="audio") == (
        400,
        {"message": "no such content_type: 'audio'"},
    )
    assert get_hash(hma, server + "/bridge.jpg", types="video_md5") == (
        400,
        {"message": "signal type 'video_md5' doesn't exist or is disabled"},
    )


def test_lookup_and_add_content_by_url(hma: TestClient, server: str) -> None:
    url = server + "/bridge.jpg"
    hma.post("/c/banks", json={"name": "BANK_A"})
    added = hma.post(
        "/c/bank/BANK_A/content",
        params={"url": url, "content_type": "photo"},
        json={"metadata": {"content_id": "ext-1"}, "note": "from a url"},
    )
    assert (added.status_code, added.json()) == (200, {"id": 1, "signals": {"pdq": PDQ_A}})
    item = hma.get("/c/bank/BANK_A/content/1").json()
    assert item["note"] == "from a url" and item["original_media_uri"] is None
    assert item["metadata"]["content_id"] == "ext-1"
    expected = {"BANK_A": [{"bank_content_id": 1, "distance": "0"}]}
    assert hma.get("/m/lookup", params={"url": url}).json() == {"pdq": expected}
    narrowed = hma.get("/m/lookup", params={"url": url, "signal_type": "pdq"})
    assert narrowed.json() == expected
    other = hma.get("/m/lookup", params={"url": url, "signal_type": "video_md5"})
    assert other.json() == {}


def test_unset_allow_list_refuses_even_loopback(db: Database, server: str) -> None:
    token = make_token(db, "a", Role.ADMIN)
    with TestClient(make_app(db), base_url=BASE, headers=bearer(token)) as client:
        status, body = get_hash(client, server + "/bridge.jpg")
        assert status == 400
        assert body["message"].startswith("Invalid or unsafe URL provided")  # type: ignore[index]
