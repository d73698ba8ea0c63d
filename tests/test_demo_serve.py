"""``make demo`` ends by printing how to serve the demo store and a ``curl`` lookup that works
against it: this test runs exactly those two commands (on a free port instead of 8080)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SAFELIGHT = Path(sys.executable).parent / "safelight"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def printed(lines: list[str], marker: str) -> str:
    [line] = [x for x in lines if marker in x]
    return line.split(marker, 1)[1].strip()


def test_the_demo_ends_with_a_serve_command_and_a_lookup_that_works(
    tmp_path: Path, database_url: tuple[str, str | None]
) -> None:
    url, schema = database_url
    env = {**os.environ, "SAFELIGHT_HOME": str(tmp_path / "home"), "SAFELIGHT_DATABASE_URL": url}
    env.pop("SAFELIGHT_DATABASE_SCHEMA", None)
    if schema:
        env["SAFELIGHT_DATABASE_SCHEMA"] = schema
    demo = subprocess.run(
        [str(SAFELIGHT), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    lines = demo.stdout.splitlines()
    serve = printed(lines, "1. serve the demo store:")
    curl = printed(lines, "2. in another terminal:")
    assert "serve --port 8080" in serve and "http://127.0.0.1:8080/m/lookup" in curl
    port = free_port()
    server = subprocess.Popen(
        serve.replace("--port 8080", f"--port {port}"),
        shell=True,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo server did not start"
            time.sleep(0.2)
        looked_up = subprocess.run(
            curl.replace(":8080/", f":{port}/"), shell=True, capture_output=True, text=True
        )
        assert looked_up.returncode == 0, looked_up.stderr
        answer = json.loads(looked_up.stdout)
        assert "SCAN_DEMO" in answer, answer  # HMA's bank map: the demo list matched
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
