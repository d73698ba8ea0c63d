"""Lookup audit entries in batches (``AuditBuffer``): a lookup pays no write of its own,
entries keep the time of the act, nothing is lost on a graceful shutdown or a failed
write, and the chain verifies after a burst of concurrent lookups."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from safelight.lists import HashListStore
from safelight.lists.editing import ListEditor
from safelight.service.audit import AuditLog
from safelight.service.audit_buffer import AuditBuffer
from safelight.service.lookup import LookupEngine
from safelight.service.roles import Role
from safelight.store import Database
from tests.service_support import BASE, bearer, make_app, make_token
from tests.test_service_lookup import DEADLINE_SECONDS, wait_for

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def lookups_in(db: Database) -> list[Any]:
    return [e for e in AuditLog(db).entries() if e.action == "lookup"]


@pytest.fixture
def listed(db: Database) -> int:
    store = HashListStore(db)
    store.create("KNOWN")
    with db.begin() as conn:
        entry, _ = ListEditor(store).add_entry(conn, "KNOWN", PDQ, signal_type="pdq", by="t")
    return entry.id


def started(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE) as client:
        engine: LookupEngine = app.state.service.extensions["lookup"]
        assert engine.wait_ready(DEADLINE_SECONDS)
        yield client


def test_a_burst_of_concurrent_lookups_is_all_audited_and_the_chain_holds(
    db: Database, tmp_path: Any, listed: int
) -> None:
    headers = bearer(make_token(db, "platform", Role.API_CLIENT))
    app = make_app(db, home=tmp_path / "home", audit_flush_entries=25, audit_flush_ms=50)
    clients = started(app)
    client = next(clients)
    errors: list[BaseException] = []

    def burst(who: int) -> None:
        try:
            for i in range(30):
                value = PDQ if i % 3 == 0 else f"{who:02x}{i:062x}"
                params = {"signal_type": "pdq", "value": value}
                answer = client.get("/api/v1/lookup", params=params, headers=headers)
                assert answer.status_code == 200, answer.text
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=burst, args=(who,)) for who in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buffer: AuditBuffer = app.state.service.lookup_audit
    wait_for(lambda: buffer.written > 0, "a batch written while the service runs")
    clients.close()  # graceful shutdown: what waits is written
    assert errors == []
    found = lookups_in(db)
    assert len(found) == 8 * 30
    assert {e.actor for e in found} == {"token:platform"}
    hits = [e for e in found if e.details["matches"] != [[]]]
    assert len(hits) == 8 * 10
    assert hits[0].details == {
        "queries": [{"signal_type": "pdq", "value": PDQ}],
        "matches": [[["KNOWN", listed, 0]]],
    }
    report = AuditLog(db).verify()
    assert report.ok, report.problem
    assert report.entries == report.head_seq


def test_a_lookup_writes_nothing_itself(db: Database, tmp_path: Any, listed: int) -> None:
    headers = bearer(make_token(db, "platform", Role.API_CLIENT))
    app = make_app(db, home=tmp_path / "home", audit_flush_entries=10_000, audit_flush_ms=60_000)
    clients = started(app)
    client = next(clients)
    client.get("/api/v1/lookup", params={"signal_type": "pdq", "value": PDQ}, headers=headers)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for _ in range(5):
            params = {"signal_type": "pdq", "value": PDQ}
            assert client.get("/api/v1/lookup", params=params, headers=headers).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "audit" in s.lower()], statements
    assert len(lookups_in(db)) == 0 and len(app.state.service.lookup_audit) == 6
    clients.close()
    assert len(lookups_in(db)) == 6


def test_entries_keep_the_time_and_order_of_the_acts(db: Database) -> None:
    log = AuditLog(db)
    buffer = AuditBuffer(log, flush_entries=1_000, flush_seconds=60)
    buffer.record("token:a", "lookup", "/m/lookup", {"n": 1})
    buffer.record("token:a", "lookup", "/m/lookup", {"n": 2})
    log.record("user:admin", "list.delete", "KNOWN")  # a direct write goes after them
    trail = [(e.action, e.details) for e in log.entries()]
    assert trail == [("lookup", {"n": 1}), ("lookup", {"n": 2}), ("list.delete", {})]
    first, second, third = log.entries()
    assert first.occurred_at <= second.occurred_at <= third.occurred_at
    buffer.close()
    assert log.verify().ok


def test_a_failed_write_loses_nothing(db: Database) -> None:
    log = AuditLog(db)
    buffer = AuditBuffer(log, flush_entries=1_000, flush_seconds=60)
    buffer.record("token:a", "lookup", "/api/v1/lookup", {"n": 1})
    with pytest.raises(RuntimeError), db.begin() as conn:
        log.record("user:admin", "list.update", "KNOWN", conn=conn)  # takes the waiting act
        raise RuntimeError("the change fails: its transaction rolls back")
    assert len(buffer) == 1 and list(log.entries()) == []
    buffer.record("token:a", "lookup", "/api/v1/lookup", {"n": 2})

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO audit_log"):
            raise RuntimeError("the store refuses the write")

    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        with pytest.raises(RuntimeError):
            buffer.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)
    assert len(buffer) == 2  # put back, in order
    assert buffer.flush() == 2
    assert [e.details for e in log.entries()] == [{"n": 1}, {"n": 2}]
    assert log.verify().ok
