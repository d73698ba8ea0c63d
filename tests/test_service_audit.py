"""The audit trail: appends chain, verification names the first tampered entry, exports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from safelight.cli import main
from safelight.service.audit import FIELDS, GENESIS, AuditLog, canonical_bytes
from safelight.store import Database
from safelight.store.service_tables import audit_head, audit_log


def fill(log: AuditLog, n: int) -> None:
    for i in range(1, n + 1):
        log.record(f"user:u{i}", "list.change", f"LIST_{i}", {"n": i, "note": "é"})


def rows(db: Database) -> list[dict[str, object]]:
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]


def execute(db: Database, statement: object) -> None:
    with db.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]


def test_entries_chain_from_genesis_and_verify(db: Database) -> None:
    log = AuditLog(db)
    fill(log, 5)
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_sha256 == GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_sha256 == before.sha256
    for entry in entries:  # the hash is SHA-256 of the canonical fields, recomputed here
        assert hashlib.sha256(entry.canonical_bytes()).hexdigest() == entry.sha256
    assert entries[2].details == {"n": 3, "note": "é"}
    report = log.verify()
    assert (
        report.ok
        and report.entries == 5
        and (report.head_seq, report.head_sha256)
        == (
            5,
            entries[-1].sha256,
        )
    )


def test_empty_log_verifies(db: Database) -> None:
    report = AuditLog(db).verify()
    assert report.ok and report.entries == 0 and report.head_sha256 == GENESIS


def test_canonical_form_is_stable() -> None:
    one = canonical_bytes(1, "t", "a", "x.y", "T", {"b": 1, "a": [2]}, GENESIS)
    two = canonical_bytes(1, "t", "a", "x.y", "T", {"a": [2], "b": 1}, GENESIS)
    assert one == two and b" " not in one


def test_record_joins_the_callers_transaction(db: Database) -> None:
    log = AuditLog(db)
    with pytest.raises(RuntimeError), db.begin() as conn:
        log.record("user:a", "list.delete", "X", conn=conn)
        raise RuntimeError("the change failed")
    assert rows(db) == [] and log.head() == (0, GENESIS)


@pytest.mark.parametrize(
    ("tamper", "first_bad", "words"),
    [
        ("edit_actor", 3, "edited"),
        ("edit_details", 3, "edited"),
        ("edit_and_rehash", 4, "does not follow entry 3"),
        ("delete_middle", 3, "missing"),
        ("delete_last", 5, "deleted from the end"),
        ("insert", 3, "edited"),
        ("insert_and_rehash", 4, "does not follow entry 3"),
        ("reorder", 3, "does not follow"),
        ("renumber_after_delete", 3, "does not follow"),
    ],
)
def test_verify_names_the_first_tampered_entry(
    db: Database, tamper: str, first_bad: int, words: str
) -> None:
    log = AuditLog(db)
    fill(log, 5)
    original = rows(db)
    by_seq = audit_log.c.seq
    if tamper == "edit_actor":
        execute(db, update(audit_log).where(by_seq == 3).values(actor="user:someone_else"))
    elif tamper == "edit_details":
        execute(db, update(audit_log).where(by_seq == 3).values(details='{"n":33}'))
    elif tamper == "edit_and_rehash":  # a careful forger recomputes the edited entry's hash
        e = list(log.entries())[2]
        forged = canonical_bytes(
            e.seq, e.occurred_at, "user:x", e.action, e.target, {}, e.prev_sha256
        )
        values = {"actor": "user:x", "details": "{}", "sha256": hashlib.sha256(forged).hexdigest()}
        execute(db, update(audit_log).where(by_seq == 3).values(**values))
    elif tamper == "delete_middle":
        execute(db, delete(audit_log).where(by_seq == 3))
    elif tamper == "delete_last":
        execute(db, delete(audit_log).where(by_seq == 5))
    elif tamper == "insert":  # shift 3.. up by one and slip an entry in at 3
        for seq in (5, 4, 3):
            execute(db, update(audit_log).where(by_seq == seq).values(seq=seq + 1))
        execute(db, audit_log.insert().values(**{**original[2], "seq": 3, "actor": "user:ghost"}))
    elif tamper == "insert_and_rehash":  # the inserted entry carries a correct hash
        for seq in (5, 4, 3):
            execute(db, update(audit_log).where(by_seq == seq).values(seq=seq + 1))
        e = original[1]
        body = canonical_bytes(
            3, str(e["occurred_at"]), "user:ghost", "login.ok", "x", {}, str(e["sha256"])
        )
        forged = {
            **original[2],
            "seq": 3,
            "occurred_at": e["occurred_at"],
            "actor": "user:ghost",
            "action": "login.ok",
            "target": "x",
            "details": "{}",
            "prev_sha256": e["sha256"],
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        execute(db, audit_log.insert().values(**forged))
    elif tamper == "reorder":  # swap entries 3 and 4
        execute(db, update(audit_log).where(by_seq == 3).values(seq=-3))
        execute(db, update(audit_log).where(by_seq == 4).values(seq=3))
        execute(db, update(audit_log).where(by_seq == -3).values(seq=4))
    elif tamper == "renumber_after_delete":  # delete 3 and close the gap
        execute(db, delete(audit_log).where(by_seq == 3))
        for seq in (4, 5):
            execute(db, update(audit_log).where(by_seq == seq).values(seq=seq - 1))
    report = log.verify()
    assert not report.ok
    assert report.first_bad == first_bad, report.problem
    assert words in (report.problem or "")


def test_an_edited_head_is_caught(db: Database) -> None:
    log = AuditLog(db)
    fill(log, 2)
    execute(db, update(audit_head).values(sha256="f" * 64))
    report = log.verify()
    assert not report.ok and "head" in (report.problem or "")


def test_concurrent_writers_do_not_fork_the_chain(db: Database) -> None:
    """Writers on separate connections (and engines: as separate processes would be)."""
    others = [Database(db.url, schema=db.schema) for _ in range(3)]
    errors: list[BaseException] = []

    def write(store: Database, who: int) -> None:
        try:
            log = AuditLog(store)
            for i in range(15):
                log.record(f"user:w{who}", "lookup", f"n{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate([db, *others])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.dispose()
    assert errors == []
    report = AuditLog(db).verify()
    assert report.ok and report.entries == 60 and report.head_seq == 60


def test_clock_is_recorded_in_utc(db: Database) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    entry = AuditLog(db, clock=lambda: moment).record("cli:root", "user.add", "a")
    assert entry.occurred_at == "2026-01-02T03:04:05.000600Z"


# --- the command line ------------------------------------------------------------------------


def test_cli_verify_and_export(db: Database, safelight_env: object) -> None:
    log = AuditLog(db)
    log.record("=cmd|' /C calc'!A0", "login.failed", "=evil", {"client": "1.2.3.4"})
    log.record("user:b", "token.create", "bot", {"roles": ["api_client"]})
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0 and "ok: 2 entries" in ok.output
    as_json = json.loads(runner.invoke(main, ["audit", "verify", "--format", "json"]).output)
    assert as_json["ok"] is True and as_json["head_seq"] == 2

    lines = runner.invoke(main, ["audit", "export"]).output.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert json.loads(lines[1])["details"] == {"roles": ["api_client"]}

    exported = runner.invoke(main, ["audit", "export", "--format", "csv"]).output
    table = list(csv.reader(io.StringIO(exported)))
    assert table[0][:3] == ["seq", "occurred_at", "actor"] and table[0][-1] == "sha256"
    assert table[1][2] == "'=cmd|' /C calc'!A0" and table[1][4] == "'=evil"  # guarded

    execute(db, update(audit_log).where(audit_log.c.seq == 2).values(target="other"))
    bad = runner.invoke(main, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "audit entry 2" in bad.output and "edited" in bad.output


def test_cli_export_to_a_file(db: Database, safelight_env: object, tmp_path: Path) -> None:
    AuditLog(db).record("user:a", "logout", "a")
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(main, ["audit", "export", "--out", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text())["action"] == "logout"
    missing = CliRunner().invoke(main, ["audit", "export", "--out", str(out.parent / "no" / "x")])
    assert missing.exit_code == 1 and "cannot write" in missing.output


def test_a_locked_transaction_holds_the_write_lock_from_its_start(db: Database) -> None:
    with db.begin(lock=True) as conn:
        if db.dialect == "sqlite":  # BEGIN IMMEDIATE: a write transaction before any write
            assert conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
        AuditLog(db).record("user:a", "x", conn=conn)
    with pytest.raises(RuntimeError), db.begin(lock=True) as conn:
        AuditLog(db).record("user:a", "y", conn=conn)
        raise RuntimeError("rolled back")
    assert [e.action for e in AuditLog(db).entries()] == ["x"]


# --- properties ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def shared_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditLog]:
    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('audit') / 'p.db'}")
    yield AuditLog(db)
    db.dispose()


@settings(max_examples=60, deadline=None)
@given(
    actor=st.text(max_size=40),
    target=st.text(max_size=40),
    details=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=5),
)
def test_any_entry_reads_back_and_verifies(
    shared_log: AuditLog, actor: str, target: str, details: dict[str, object]
) -> None:
    """Whatever the text and details, the stored entry hashes the same when read back."""
    written = shared_log.record(actor, "prop.test", target, details)
    [read] = list(shared_log.entries(after=written.seq - 1))
    assert read == written
    assert hashlib.sha256(read.canonical_bytes()).hexdigest() == read.sha256
    assert shared_log.verify().ok


@settings(max_examples=100, deadline=None)
@given(field=st.sampled_from(FIELDS), details=st.dictionaries(st.text(max_size=5), st.integers()))
def test_changing_any_field_changes_the_hash(field: str, details: dict[str, int]) -> None:
    base = {
        "seq": 7,
        "occurred_at": "t",
        "actor": "a",
        "action": "b",
        "target": "c",
        "details": details,
        "prev_sha256": GENESIS,
    }
    changed = dict(base)
    changed[field] = (
        {"x": 1}
        if field == "details" and details != {"x": 1}
        else (8 if field == "seq" else f"{base[field]}!")
    )
    before = canonical_bytes(**base)  # type: ignore[arg-type]
    after = canonical_bytes(**changed)  # type: ignore[arg-type]
    assert before != after


def test_two_processes_do_not_fork_the_chain(db: Database, tmp_path: Path) -> None:
    """Real separate processes appending at once (the threads test's stronger sibling)."""
    script = (
        "import sys; from safelight.store import Database; "
        "from safelight.service.audit import AuditLog; "
        "db = Database(sys.argv[1], schema=sys.argv[2] or None); log = AuditLog(db); "
        "[log.record('cli:p' + sys.argv[3], 'x', str(i)) for i in range(25)]; db.dispose()"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, db.url, db.schema or "", str(n)], env=env)
        for n in range(2)
    ]
    assert [proc.wait(timeout=300) for proc in procs] == [0, 0]
    report = AuditLog(db).verify()
    assert report.ok and report.entries == 50
