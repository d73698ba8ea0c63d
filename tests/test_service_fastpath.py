"""The lookup fast path (service/fastpath.py) against its oracle, the routes themselves.

Two apps over one store: one with the fast path, one without (``fast_path=False``). Every
request gets the same status, content type and body from both; the requests the fast path
takes are counted, so a fast path that never answers fails here too. Tokens are cached (the
fast path only takes requests whose token was checked recently).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.lists import HashListStore
from safelight.service import create_app
from safelight.service.roles import Role
from safelight.service.routes import hma_matching
from safelight.service.routes import lookup as lookup_routes
from safelight.store import Database
from tests.hma_support import PDQ_A, PDQ_B, flip_bits
from tests.service_support import BASE, CHEAP, bearer, make_token
from tests.service_support import settings as service_settings
from tests.test_service_lookup import DEADLINE_SECONDS, write_jsonl

MD5 = "0123456789abcdef0123456789abcdef"


class Counted:
    """A fast route's preparer that counts the requests it took."""

    def __init__(self, prepare: Callable[..., Any]) -> None:
        self.prepare = prepare
        self.taken = 0

    def __call__(self, *args: Any) -> Any:
        answer = self.prepare(*args)
        self.taken += answer is not None
        return answer


@pytest.fixture
def store(db: Database, tmp_path: Path) -> Database:
    lists = HashListStore(db)
    lists.create("KNOWN", source="hotline X", terms_of_use="members only")
    rows: list[dict[str, Any]] = [
        {"type": "pdq", "value": PDQ_A, "labels": ["csam"], "note": "case 7"},
        {"type": "md5", "value": MD5},
    ]
    lists.import_file("KNOWN", write_jsonl(tmp_path / "known.jsonl", rows), fmt="jsonl")
    lists.create("NEAR", pdq_threshold=10)
    near = [{"type": "pdq", "value": flip_bits(PDQ_A, 6)}]
    lists.import_file("NEAR", write_jsonl(tmp_path / "near.jsonl", near), fmt="jsonl")
    return db


@pytest.fixture
def counters(monkeypatch: pytest.MonkeyPatch) -> dict[str, Counted]:
    found = {
        "/api/v1/lookup": Counted(lookup_routes.fast_lookup_one),
        "/m/lookup": Counted(hma_matching.fast_lookup_get),
    }
    monkeypatch.setattr(lookup_routes, "fast_lookup_one", found["/api/v1/lookup"])
    monkeypatch.setattr(hma_matching, "fast_lookup_get", found["/m/lookup"])
    return found


@pytest.fixture
def clients(store: Database, counters: dict[str, Counted]) -> Iterator[tuple[TestClient, ...]]:
    config = service_settings(token_cache_seconds=600)
    fast = create_app(config, db=store, hasher=CHEAP)
    slow = create_app(config, db=store, hasher=CHEAP, fast_path=False)
    with TestClient(fast, base_url=BASE) as a, TestClient(slow, base_url=BASE) as b:
        for app in (fast, slow):
            assert app.state.service.extensions["lookup"].wait_ready(DEADLINE_SECONDS)
        yield a, b


@pytest.fixture
def tokens(store: Database) -> dict[str, dict[str, str]]:
    return {
        "client": bearer(make_token(store, "platform", Role.API_CLIENT)),
        "scoped": bearer(make_token(store, "near-only", Role.API_CLIENT, lists=["NEAR"])),
        "auditor": bearer(make_token(store, "auditor", Role.AUDITOR)),
    }


def same_answer(
    clients: tuple[TestClient, ...], url: str, headers: dict[str, str]
) -> tuple[int, Any]:
    fast, slow = (client.get(url, headers=headers) for client in clients)
    assert fast.status_code == slow.status_code, (url, fast.text, slow.text)
    assert fast.headers["content-type"] == slow.headers["content-type"], url
    assert fast.content == slow.content, url
    assert fast.headers["x-request-id"] and fast.headers["content-length"] == str(len(fast.content))
    return fast.status_code, json.loads(fast.content)


def warm(clients: tuple[TestClient, ...], tokens: dict[str, dict[str, str]]) -> None:
    """One request per token through the route: the token is then cached."""
    for headers in tokens.values():
        clients[0].get("/api/v1/me", headers=headers)


def test_the_fast_path_answers_lookups_as_the_routes_do(
    clients: tuple[TestClient, ...],
    tokens: dict[str, dict[str, str]],
    counters: dict[str, Counted],
) -> None:
    warm(clients, tokens)
    client = tokens["client"]
    status, body = same_answer(clients, f"/api/v1/lookup?signal_type=pdq&value={PDQ_A}", client)
    assert status == 200 and [m["list"] for m in body["matches"]] == ["KNOWN", "NEAR"]
    assert body["matches"][0]["note"] == "case 7"
    status, body = same_answer(clients, f"/m/lookup?signal_type=pdq&signal={PDQ_A}", client)
    assert status == 200 and set(body) == {"KNOWN", "NEAR"}
    same_answer(clients, f"/api/v1/lookup?signal_type=md5&value={MD5.upper()}", client)
    same_answer(clients, f"/api/v1/lookup?signal_type=pdq&value={PDQ_B}", client)
    same_answer(clients, f"/m/lookup?signal_type=pdq&signal={PDQ_B}", client)
    scoped = tokens["scoped"]
    status, body = same_answer(clients, f"/api/v1/lookup?signal_type=pdq&value={PDQ_A}", scoped)
    assert [m["list"] for m in body["matches"]] == ["NEAR"]
    assert counters["/api/v1/lookup"].taken == 4 and counters["/m/lookup"].taken == 2


@pytest.mark.parametrize(
    "url, token",
    [
        ("/api/v1/lookup?signal_type=pdq&value=12", "client"),  # a bad value: the query's error
        (f"/api/v1/lookup?signal_type=colour&value={PDQ_A}", "client"),
        (f"/api/v1/lookup?signal_type=pdq&value={PDQ_A}&lists=NOPE&lists=NEAR", "client"),
        (f"/api/v1/lookup?signal_type=pdq&value={PDQ_A}", "auditor"),  # 403: the route's
        (f"/api/v1/lookup?signal_type=pdq&value={PDQ_A}", "none"),  # 401: the route's
        ("/api/v1/lookup?signal_type=pdq", "client"),  # 422: the route's
        (f"/m/lookup?signal_type=pdq&signal={PDQ_A}&banks=NEAR&seed=3", "client"),
        (f"/m/lookup?signal_type=pdq&signal={PDQ_A}&bypass_coinflip=maybe", "client"),
        (f"/m/lookup?signal_type=colour&signal={PDQ_A}", "client"),
        ("/m/lookup?signal_type=pdq&signal=zz", "client"),
        (f"/m/lookup?signal={PDQ_A}", "client"),
        (f"/m/lookup?signal_type=pdq&signal={PDQ_A}", "auditor"),
    ],
)
def test_every_other_case_gets_the_routes_answer(
    clients: tuple[TestClient, ...], tokens: dict[str, dict[str, str]], url: str, token: str
) -> None:
    warm(clients, tokens)
    same_answer(clients, url, tokens.get(token, {}))


def test_requests_on_the_fast_path_are_audited_counted_and_logged_per_route(
    clients: tuple[TestClient, ...],
    tokens: dict[str, dict[str, str]],
    counters: dict[str, Counted],
) -> None:
    warm(clients, tokens)
    fast = clients[0]
    for _ in range(3):
        fast.get(f"/api/v1/lookup?signal_type=pdq&value={PDQ_A}", headers=tokens["client"])
    assert counters["/api/v1/lookup"].taken == 3
    service = fast.app.state.service  # type: ignore[attr-defined]
    service.lookup_audit.flush()
    entries = [e for e in service.audit.entries() if e.action == "lookup"]
    assert len(entries) == 3 and all(e.actor == "token:platform" for e in entries)
    metrics = fast.get("/metrics").text
    line = next(
        m
        for m in metrics.splitlines()
        if "safelight_http_requests_total" in m and '"/api/v1/lookup"' in m
    )
    assert line.endswith(" 3.0"), line


_PARAMS = st.sampled_from(
    ["signal_type", "value", "signal", "lists", "banks", "seed", "bypass_coinflip", "x"]
)
_VALUES = st.sampled_from(
    ["pdq", "md5", "PDQ", "vpdq", PDQ_A, PDQ_A.upper(), PDQ_B, MD5, "", "12", "KNOWN", "1", "no"]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/api/v1/lookup", "/m/lookup"]),
    params=st.lists(st.tuples(_PARAMS, _VALUES), max_size=6),
)
def test_any_query_string_gets_the_same_answer_on_both_paths(
    clients: tuple[TestClient, ...],
    tokens: dict[str, dict[str, str]],
    path: str,
    params: list[tuple[str, str]],
) -> None:
    warm(clients, tokens)
    same_answer(clients, f"{path}?{urlencode(params)}", tokens["client"])
