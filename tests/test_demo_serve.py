"""``make demo`` ends by printing how to serve the demo store, a ``curl`` lookup that works
against it, and where to sign in to the demo workspace: this test runs exactly those commands
(on a free port instead of 8080) and signs in with the printed accounts and password."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from safelight.demo import hotline_story as story
from safelight.hotline.urls import parse_url

SAFELIGHT = Path(sys.executable).parent / "safelight"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def printed(lines: list[str], marker: str) -> str:
    [line] = [x for x in lines if marker in x]
    return line.split(marker, 1)[1].strip()


def sign_in(client: httpx.Client, username: str, password: str) -> None:
    """Through the sign-in form, as a browser would (its login-CSRF token and cookie)."""
    form = client.get("/workspace/login")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token is not None, form.text
    fields = {"username": username, "password": password, "next": "/workspace"}
    signed = client.post("/workspace/login", data={**fields, "form_token": token.group(1)})
    assert (signed.status_code, signed.headers.get("location")) == (303, "/workspace"), signed.text


def queue_items(client: httpx.Client, query: str = "") -> list[tuple[str, str]]:
    """(item id, URL) of every item the queue page lists (one page of up to 200)."""
    page = client.get(f"/workspace/queue?page_size=200{query}")
    assert page.status_code == 200, page.text
    return re.findall(r'href="/workspace/items/(\d+)">([^<]+)</a>', page.text)


def total_row(metrics: str) -> dict[str, str]:
    """The metrics page's "All" table as heading -> cell."""
    table = re.search(r'<table id="numbers-total">(.*?)</table>', metrics, re.S)
    assert table is not None, metrics
    headings = re.findall(r"<th[^>]*>([^<]+)</th>", table.group(1))
    return dict(zip(headings, re.findall(r"<td[^>]*>([^<]+)</td>", table.group(1)), strict=True))


def check_workspace(base: str, line: str) -> None:
    """The printed sign-in works: each account signs in, the queue lists every seeded item,
    the metrics show the removals, routing has the printed settings, four eyes works."""
    printed_sign_in = re.fullmatch(
        r"http://127\.0\.0\.1:8080/workspace  sign in as (\S+) or (\S+) \(analysts\) "
        r"or (\S+), password (\S+)",
        line,
    )
    assert printed_sign_in is not None, line
    first, second, admin, password = printed_sign_in.groups()
    seeded = {parse_url(url.url).url for report in story.REPORTS for url in report.urls}
    with httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, first, password)
        listed = queue_items(client)
        assert len(listed) == 15 and {url for _, url in listed} == seeded  # one URL: two items
        items = {url: item for item, url in listed}
        totals = total_row(client.get("/workspace/metrics").text)
        assert (totals["Items"], totals["Removed"]) == ("15", "5"), totals
        assert totals["Median days to removal"] != "\u2014", totals
        jp = client.get(f"/workspace/items/{items['http://203.0.113.77/album/']}").text
        assert f'id="routing-suggestion"><strong>{story.FALLBACK_PARTNER}</strong>' in jp
        blog = items["https://blog.example.org/2024/05/post"]  # the first analyst classified it
        assert blog not in dict(queue_items(client, "&status=illegal"))  # awaiting four eyes
    with httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, second, password)
        page = client.get(f"/workspace/items/{blog}").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        version = re.search(
            rf'action="/workspace/items/{blog}/confirm".*?name="version" value="(\d+)"', page, re.S
        )
        assert csrf is not None and version is not None, page
        form = {"csrf_token": csrf.group(1), "version": version.group(1), "back": ""}
        confirmed = client.post(f"/workspace/items/{blog}/confirm", data=form)
        assert confirmed.status_code == 303, confirmed.text
        assert blog in dict(queue_items(client, "&status=illegal"))
    with httpx.Client(base_url=base, timeout=30) as client:
        sign_in(client, admin, password)
        partners = client.get("/workspace/partners")
        assert partners.status_code == 200 and story.FALLBACK_PARTNER in partners.text


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
    workspace = printed(lines, "3. in a browser:")
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
        check_workspace(f"http://127.0.0.1:{port}", workspace)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
