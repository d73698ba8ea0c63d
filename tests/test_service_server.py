"""The real server: uvicorn in a subprocess on 127.0.0.1 (an ephemeral port)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx2 as httpx
import pytest
from click.testing import CliRunner

from safelight.cli import main
from safelight.service.roles import Role
from safelight.service.server import listening_sockets
from safelight.store import Database
from tests.service_support import make_token, wait_for

ROOT = Path(__file__).resolve().parents[1]
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
SERVE_SLOW = (
    "from safelight.service.server import serve;"
    "from safelight.service.settings import load_settings;"
    "serve(load_settings(port=0), factory='tests.service_slow_app:make_app')"
)
CLI = "from safelight.cli import main; main()"


@contextmanager
def server(args: list[str]) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """Start it, wait for its 'running' line; yield (process, base URL, stderr lines so far
    and later ones as they come)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-c", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the cleanup reaches its workers
    )
    assert proc.stderr is not None
    lines: list[str] = []
    port = None
    for line in proc.stderr:
        lines.append(line)
        found = RUNNING.search(line)
        if found:
            port = found.group(1)
            break
    assert port is not None, "".join(lines)
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        yield proc, f"http://127.0.0.1:{port}", lines
    finally:
        # The whole group: killing the supervisor alone leaves its workers holding the stderr
        # pipe (until they notice it is gone), and the reader blocked on it.
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        if not reader.is_alive():  # closing under a blocked reader would wait for its lock
            proc.stderr.close()


def wait_until_served(base: str) -> None:
    """With several workers the parent logs 'running' before the workers accept."""
    for _ in range(6000):
        try:
            httpx.get(f"{base}/healthz", timeout=60)
            return
        except httpx.ConnectError:
            threading.Event().wait(0.01)
    raise AssertionError(f"nothing answered at {base}")


def stopped_by_sigterm(status: int) -> bool:
    """uvicorn finishes, then re-raises the signal it caught (as supervisors expect)."""
    return status in (0, -signal.SIGTERM)


def migrate(safelight_env: Path) -> None:
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0


@pytest.mark.slow
def test_sigterm_lets_in_flight_requests_finish(safelight_env: Path, tmp_path: Path) -> None:
    migrate(safelight_env)
    with server([SERVE_SLOW]) as (proc, base, lines):
        outcome: dict[str, object] = {}

        def hold() -> None:
            response = httpx.get(f"{base}/test/hold", params={"folder": str(tmp_path)}, timeout=120)
            outcome["status"], outcome["body"] = response.status_code, response.json()

        client = threading.Thread(target=hold)
        client.start()
        while not (tmp_path / "started").exists():  # the request is being served
            client.join(timeout=0.01)
        proc.send_signal(signal.SIGTERM)
        client.join(timeout=0.5)
        assert proc.poll() is None and client.is_alive()  # waiting for the request
        (tmp_path / "release").touch()
        client.join(timeout=120)
        assert outcome == {"status": 200, "body": {"held": "released"}}
        assert stopped_by_sigterm(proc.wait(timeout=60))
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    access = [entry for entry in logged if entry["logger"] == "safelight.service.access"]
    assert access and access[-1]["route"] == "/test/hold" and access[-1]["request_id"]


@pytest.mark.slow
def test_safelight_serve_with_workers(safelight_env: Path, db: Database) -> None:
    migrate(safelight_env)
    token = make_token(db, "bot", Role.AUDITOR)
    with server([CLI, "serve", "--port", "0", "--workers", "2"]) as (proc, base, _):
        wait_until_served(base)
        for _ in range(4):  # either worker answers the same
            assert httpx.get(f"{base}/healthz", timeout=60).json() == {"status": "ok"}
        lists = httpx.get(
            f"{base}/api/v1/lists", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        assert lists.status_code == 200 and lists.json() == []
        assert lists.headers["X-Request-ID"]
        assert httpx.get(f"{base}/api/v1/lists", timeout=60).status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert stopped_by_sigterm(proc.wait(timeout=60))


def test_serve_refuses_an_unmigrated_store(safelight_env: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert result.exit_code == 6
    assert "never migrated" in result.output
    assert "hint: migrate it first: safelight db upgrade" in result.output


def test_serve_refuses_bad_settings(safelight_env: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "99999"])
    assert result.exit_code == 2 and "--port" in result.output
    missing = CliRunner().invoke(main, ["serve", "--config", str(tmp_path / "none.toml")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_db_upgrade_says_what_it_did(safelight_env: Path) -> None:
    first = CliRunner().invoke(main, ["db", "upgrade"])
    assert first.exit_code == 0 and "migrated database" in first.output
    again = CliRunner().invoke(main, ["db", "upgrade"])
    assert again.exit_code == 0 and "up to date" in again.output


def test_listening_sockets_share_one_port_each_with_reuseport() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(ports) == 1 and len({sock.fileno() for sock in sockets}) == 3
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in sockets)
    finally:
        for sock in sockets:
            sock.close()


async def _worker_of(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    body = json.loads(await reader.readexactly(length))
    writer.close()
    # A worker names itself in its readiness report (200 or 503 alike); an answer that is no
    # such report (a 429 once the anonymous rate limit is spent) is "": ask again.
    worker = body.get("checks", {}).get("index", {}).get("worker")
    return "" if worker is None else str(worker)


@pytest.mark.slow
def test_connections_opened_together_are_spread_over_the_workers(
    safelight_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client pool opening 64 connections at once: each worker gets its share (with one
    shared socket, the first worker awake took most or all of them)."""
    # Rounds of 64 anonymous /readyz requests until both workers answer: past the default
    # 120 per minute a worker answers 429 (no readiness report), as it did on slow starts.
    monkeypatch.setenv("SAFELIGHT_ANONYMOUS_PER_MINUTE", "1000000")
    migrate(safelight_env)
    with server([CLI, "serve", "--port", "0", "--workers", "2"]) as (proc, base, _):
        wait_until_served(base)
        port = int(base.rsplit(":", 1)[1])

        async def together() -> list[str]:
            return await asyncio.gather(*(_worker_of(port) for _ in range(64)))

        for _ in range(200):  # until both workers are up and ready
            shares = Counter(asyncio.run(together()))
            if (len(shares) == 2 and "" not in shares) or proc.poll() is not None:
                break
        # Binomial(64, 1/2) under SO_REUSEPORT: fewer than 12 on a side ~ 1e-7.
        assert len(shares) == 2 and min(shares.values()) >= 12, shares
        proc.send_signal(signal.SIGTERM)
        assert stopped_by_sigterm(proc.wait(timeout=60))


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie waiting for init to reap it counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


@pytest.mark.slow
def test_workers_stop_when_the_supervisor_is_killed(
    safelight_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL (the OOM killer, say) gives the supervisor no chance to stop its workers: they
    notice it is gone and stop by themselves instead of serving the port unsupervised."""
    monkeypatch.setenv("SAFELIGHT_ANONYMOUS_PER_MINUTE", "1000000")  # /readyz until both answer
    migrate(safelight_env)
    with server([CLI, "serve", "--port", "0", "--workers", "2"]) as (proc, base, lines):
        wait_until_served(base)
        port = int(base.rsplit(":", 1)[1])
        workers: set[str] = set()
        for _ in range(400):
            workers.update(asyncio.run(_worker_of(port)) for _ in range(4))
            workers.discard("")
            if len(workers) == 2:
                break
        assert len(workers) == 2, workers
        proc.kill()  # the supervisor only; its workers are left to themselves
        proc.wait(timeout=60)
        wait_for(lambda: all(_gone(int(pid)) for pid in workers), "both workers exit", 30)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", timeout=5)
        # Their last lines may still be on their way through the pipe.
        said = "each worker logs that its supervisor is gone"
        wait_for(lambda: "".join(lines).count("is gone: stopping") == 2, said, 5)
