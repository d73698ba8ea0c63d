"""Webhooks on match against a local receiver on 127.0.0.1 that checks every signature and
fails the first attempts: backoff, the delivery log, replay, the CLI worker, the service's
background queue, and no secret in any output."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from safelight.cli import main
from safelight.errors import NotFoundError, UsageError
from safelight.lists.store import HashListStore, utc_now
from safelight.match import Matcher
from safelight.store import Database
from safelight.webhooks import DeliveryQueue, WebhookStore, deliver_due, sign, verify
from safelight.webhooks.delivery import backoff

from .test_match import add, random_pdq


@pytest.fixture
def store(db: Database) -> HashListStore:
    return HashListStore(db)


SECRET = "s3cret-for-tests-only-0123456789"


class Receiver:
    """Answers 500 to the first ``failures`` requests, then 204; records what it got."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                header = self.headers["Safelight-Signature"] or ""
                now = int(header.split(",")[0].removeprefix("t=") or 0)
                if not verify(SECRET, header, body, now=now):
                    receiver.bad_signatures += 1
                receiver.received.append(
                    {"body": json.loads(body), "delivery": self.headers["Safelight-Delivery"]}
                )
                failing = receiver.failures > 0
                receiver.failures -= 1
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=hidden-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=2)
    yield r
    r.close()


@pytest.fixture
def clock() -> list[Any]:
    return [utc_now()]


def hooked(db: Database, clock: list[Any]) -> WebhookStore:
    return WebhookStore(db, clock=lambda: clock[0])


def planted(store: HashListStore, tmp_path: Path) -> str:
    value = random_pdq()
    store.create("KNOWN")
    add(store, tmp_path, "KNOWN", [{"type": "pdq", "value": value, "labels": ["x"]}])
    return value


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"a":1}'
    header = sign(SECRET, 1_000, body)
    assert header.startswith("t=1000,v1=") and verify(SECRET, header, body, now=1_100)
    assert not verify(SECRET, header, body + b" ", now=1_100)
    assert not verify("other-secret-0123456789", header, body, now=1_100)
    assert not verify(SECRET, header, body, now=2_000)  # too old: a replayed capture
    assert not verify(SECRET, "v1=abc", body, now=1_000)
    assert [backoff(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0] and backoff(40) == 3600.0


def test_retries_with_backoff_then_delivered(
    db: Database, store: HashListStore, tmp_path: Path, receiver: Receiver, clock: list[Any]
) -> None:
    value = planted(store, tmp_path)
    hooks = hooked(db, clock)
    endpoint, secret = hooks.add("KNOWN", receiver.url, secret=SECRET)
    assert secret == SECRET
    [served] = Matcher(store, home=tmp_path / "home").match_hashes([("pdq", value)])
    assert hooks.enqueue({"signal_type": "pdq", "value": value}, served, {"source": "t"}) == 1
    [first] = deliver_due(hooks)
    assert (first.status, first.status_code, first.error) == ("pending", 500, "HTTP 500")
    assert deliver_due(hooks) == []  # not due before its backoff
    clock[0] += timedelta(seconds=5)
    assert deliver_due(hooks)[0].status == "pending"
    clock[0] += timedelta(seconds=9)
    assert deliver_due(hooks) == []  # the second retry waits 10 s
    clock[0] += timedelta(seconds=1)
    assert deliver_due(hooks)[0].status == "delivered"
    [logged] = hooks.deliveries()
    assert (logged.status, logged.attempts, logged.last_status_code) == ("delivered", 3, 204)
    assert receiver.bad_signatures == 0 and len(receiver.received) == 3
    body = receiver.received[-1]["body"]
    assert body["match"] == served[0].to_dict() and body["query"]["value"] == value
    assert {r["body"]["event_id"] for r in receiver.received} == {body["event_id"]}
    assert body["context"] == {"source": "t"} and body["event"] == "match"
    assert hooks.endpoints()[0] == endpoint and "secret" not in endpoint.to_dict()


def test_failed_after_the_last_attempt_then_replayed(
    db: Database, store: HashListStore, tmp_path: Path, clock: list[Any]
) -> None:
    value = planted(store, tmp_path)
    r = Receiver(failures=3)
    try:
        hooks = hooked(db, clock)
        hooks.add("KNOWN", r.url, secret=SECRET)
        served = Matcher(store, home=tmp_path / "home").match_hashes([("pdq", value)])[0]
        hooks.enqueue({"signal_type": "pdq", "value": value}, served)
        statuses = []
        for _ in range(3):
            statuses += [a.status for a in deliver_due(hooks, max_attempts=3)]
            clock[0] += timedelta(hours=1)
        assert statuses == ["pending", "pending", "failed"]
        [failed] = hooks.deliveries(status="failed")
        assert hooks.replay([failed.id]) == 1
        assert [a.status for a in deliver_due(hooks)] == ["delivered"]
        assert r.bad_signatures == 0
        with pytest.raises(NotFoundError):
            hooks.replay([failed.id + 100])
    finally:
        r.close()


def test_transport_errors_name_no_url_and_no_secret(
    db: Database, store: HashListStore, tmp_path: Path, clock: list[Any]
) -> None:
    value = planted(store, tmp_path)
    r = Receiver()
    url = r.url
    r.close()  # nothing listens there now: connection refused
    hooks = hooked(db, clock)
    hooks.add("KNOWN", url, secret=SECRET)
    served = Matcher(store, home=tmp_path / "home").match_hashes([("pdq", value)])[0]
    hooks.enqueue({"signal_type": "pdq", "value": value}, served)
    [attempt] = deliver_due(hooks, timeout=2.0)
    assert attempt.status == "pending" and attempt.error
    text = json.dumps([d.to_dict() for d in hooks.deliveries()])
    for secret in (SECRET, "hidden-token", "127.0.0.1"):
        assert secret not in text and secret not in attempt.error


def test_bad_endpoints_refused(db: Database, store: HashListStore) -> None:
    store.create("KNOWN")
    store.create("FP", allow=True)
    hooks = WebhookStore(db)
    with pytest.raises(UsageError, match="http"):
        hooks.add("KNOWN", "ftp://example.org/x")
    with pytest.raises(UsageError, match="allow list"):
        hooks.add("FP", "https://example.org/x")
    with pytest.raises(UsageError, match="16 to 128"):
        hooks.add("KNOWN", "https://example.org/x", secret="short")
    with pytest.raises(NotFoundError):
        hooks.remove(42)


def test_background_queue_survives_a_restart(
    db: Database, store: HashListStore, tmp_path: Path, clock: list[Any]
) -> None:
    value = planted(store, tmp_path)
    r = Receiver()
    try:
        hooks = hooked(db, clock)
        hooks.add("KNOWN", r.url, secret=SECRET)
        served = Matcher(store, home=tmp_path / "home").match_hashes([("pdq", value)])[0]
        first = DeliveryQueue(hooks)
        first.submit({"signal_type": "pdq", "value": value}, served)
        first.submit({"signal_type": "pdq", "value": value}, [])  # nothing to send
        first.stop()  # never started: what was submitted is stored, pending
        assert [d.status for d in hooks.deliveries()] == ["pending"]
        second = DeliveryQueue(hooked(db, clock), interval=0.05)
        assert [a.status for a in second.run_once()] == ["delivered"]
        second.start()
        second.submit({"signal_type": "pdq", "value": value}, served)
        second.stop()
        assert len(hooks.deliveries()) == 2 and r.bad_signatures == 0
    finally:
        r.close()


def test_cli_flow_sends_nothing_for_allow_listed_matches(
    safelight_env: Path, tmp_path: Path, store: HashListStore
) -> None:
    md5, other = "ab" * 16, "cd" * 16
    r = Receiver(failures=0)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    runner = CliRunner()
    try:
        for args in (["KNOWN"], ["FP", "--allow"]):
            assert runner.invoke(main, ["lists", "create", *args]).exit_code == 0
        (tmp_path / "k.txt").write_text(f"md5 {md5}\nmd5 {other}\n")
        (tmp_path / "fp.txt").write_text(f"md5 {other}\n")
        runner.invoke(main, ["lists", "import", "KNOWN", str(tmp_path / "k.txt")])
        runner.invoke(main, ["lists", "import", "FP", str(tmp_path / "fp.txt")])
        added = runner.invoke(
            main,
            ["webhooks", "add", "KNOWN", r.url, "--secret-file", str(secret_file)]
            + ["--format", "json"],
        )
        assert added.exit_code == 0, added.output
        assert json.loads(added.stdout)["secret"] == SECRET
        listing = runner.invoke(main, ["webhooks", "ls", "--format", "json"])
        assert SECRET not in listing.output and json.loads(listing.stdout)[0]["list"] == "KNOWN"
        matched = runner.invoke(main, ["match", "--hash", md5, "--hash", other])
        assert matched.exit_code == 0, matched.output
        sent = runner.invoke(main, ["webhooks", "deliver"])
        assert sent.stdout.startswith("delivered 1;"), sent.output
        [got] = r.received  # the allow-listed one was never queued
        assert got["body"]["match"]["value"] == md5
        log = runner.invoke(main, ["webhooks", "deliveries", "--format", "json"])
        [delivery] = json.loads(log.stdout)
        assert delivery["status"] == "delivered" and SECRET not in log.output
        table = runner.invoke(main, ["webhooks", "deliveries"])
        assert "delivered" in table.stdout
        replay = runner.invoke(main, ["webhooks", "replay", str(delivery["id"])])
        assert replay.stdout.startswith("queued 1")
        assert runner.invoke(main, ["webhooks", "deliver"]).stdout.startswith("delivered 1;")
        assert len(r.received) == 2 and r.bad_signatures == 0
        assert runner.invoke(main, ["webhooks", "rm", str(delivery["endpoint_id"])]).exit_code == 0
        assert "no webhooks" in runner.invoke(main, ["webhooks", "ls"]).stdout
        assert runner.invoke(main, ["webhooks", "deliveries"]).stdout == "no deliveries\n"
    finally:
        r.close()
