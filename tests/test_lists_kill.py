"""kill -9 during an import leaves the list exactly as before and the store healthy."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from safelight.lists import HashListStore, ParseOptions
from safelight.store import Database

pytestmark = pytest.mark.slow

CLI = "import sys; from safelight.cli import main; sys.argv[0] = 'safelight'; main()"
# Generous bound on waiting for the child to reach a state; never an assertion on speed.
PATIENCE_SECONDS = 300


def hashes(start: int, count: int) -> Iterator[bytes]:
    for i in range(start, start + count):
        yield b"sha256 " + hashlib.sha256(i.to_bytes(8, "big")).hexdigest().encode() + b"\n"


def snapshot(store: HashListStore) -> tuple[object, ...]:
    hl = store.get("KILL")
    entries = [(e.id, e.signal_type, e.value, e.labels, e.note) for e in store.find_entries("KILL")]
    return hl.generation, hl.updated_at, entries, [i.id for i in store.summary("KILL").imports]


def wait_for(condition: Callable[[], bool], child: subprocess.Popen[bytes], what: str) -> bool:
    """Poll until condition holds; False if the child exited first."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if child.poll() is not None:
            return False
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.005)
    return True


@pytest.fixture
def prepared(safelight_env: Path, tmp_path: Path) -> Iterator[tuple[Database, HashListStore]]:
    db = Database.open()
    store = HashListStore(db)
    store.create("KILL")
    first = tmp_path / "first.txt"
    first.write_bytes(b"".join(hashes(0, 100)))
    store.import_file("KILL", first, options=ParseOptions(extra_labels=frozenset({"before"})))
    yield db, store
    db.dispose()


def spawn(path: Path, app_name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PGAPPNAME": app_name}
    args = [sys.executable, "-c", CLI, "lists", "import", "KILL", str(path), "--label", "after"]
    with (path.parent / "child-stderr.txt").open("wb") as stderr:
        return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def child_output(path: Path) -> str:
    return (path.parent / "child-stderr.txt").read_text(errors="replace")


def check_untouched(
    db: Database, store: HashListStore, before: tuple[object, ...], tmp_path: Path
) -> None:
    db.dispose()  # a fresh connection, as the next command would open
    reopened = Database.open()
    try:
        again = HashListStore(reopened)
        assert snapshot(again) == before
        if reopened.dialect == "sqlite":
            with reopened.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        retry = tmp_path / "retry.txt"
        retry.write_bytes(b"".join(hashes(0, 150)))
        assert again.import_file("KILL", retry).added == 50
    finally:
        reopened.dispose()


def pg_backend_state(app_name: str) -> list[tuple[str, str | None, str]]:
    engine = create_engine(os.environ["SAFELIGHT_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT state, backend_xid::text, query FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": app_name},
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        engine.dispose()


def kill(child: subprocess.Popen[bytes], db: Database, app_name: str) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    if db.dialect == "postgresql":
        # The server notices a dead client only when its running statement ends; end the
        # orphaned session now (what it would do then: roll back) to keep the test short.
        engine = create_engine(os.environ["SAFELIGHT_DATABASE_URL"])
        try:
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": app_name},
                )
        finally:
            engine.dispose()


def test_kill_while_reading_and_staging(
    prepared: tuple[Database, HashListStore], tmp_path: Path
) -> None:
    """The child reads a FIFO: once it has taken 12 MB it has parsed and staged ~190k rows
    inside its open transaction, and is blocked on the next read when it is killed."""
    db, store = prepared
    before = snapshot(store)
    fifo = tmp_path / "big.txt"
    os.mkfifo(fifo)
    app_name = f"safelight-kill-{uuid.uuid4().hex[:8]}"
    child = spawn(fifo, app_name)
    writer: int | None = None

    def reader_opened() -> bool:
        nonlocal writer
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no reader yet
                return False
            raise
        return True

    assert wait_for(reader_opened, child, "the import to open its input"), child_output(fifo)
    assert writer is not None
    os.set_blocking(writer, True)
    for block in range(12):  # 12 x ~1 MB; the pipe holds 64 KB, so the child consumed the rest
        os.write(writer, b"".join(hashes(100 + block * 15_400, 15_400)))
    if db.dialect == "postgresql":
        assert any(xid for _, xid, _ in pg_backend_state(app_name)), "no write transaction open"
    kill(child, db, app_name)
    os.close(writer)
    check_untouched(db, store, before, tmp_path)


def test_kill_while_merging_into_the_list(
    prepared: tuple[Database, HashListStore], tmp_path: Path
) -> None:
    """Killed while the staged rows are being merged into the list (SQLite: the WAL grows;
    PostgreSQL: the merge statement is running)."""
    db, store = prepared
    before = snapshot(store)
    big = tmp_path / "big.txt"
    with big.open("wb") as out:
        out.writelines(hashes(100, 400_000))
    app_name = f"safelight-kill-{uuid.uuid4().hex[:8]}"
    if db.dialect == "sqlite":
        wal = Path(db.url.split("///", 1)[1] + "-wal")
        baseline = wal.stat().st_size if wal.exists() else 0

        def merging() -> bool:
            return wal.exists() and wal.stat().st_size > baseline + (1 << 20)

    else:

        def merging() -> bool:
            return any(
                state == "active" and query.startswith("INSERT INTO hash_entries")
                for state, _, query in pg_backend_state(app_name)
            )

    child = spawn(big, app_name)
    if not wait_for(merging, child, "the merge to start"):
        pytest.skip(f"the import finished before it could be killed: {child_output(big)}")
    kill(child, db, app_name)
    check_untouched(db, store, before, tmp_path)
