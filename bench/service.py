"""The service over HTTP on loopback: PDQ lookups against one large list, the load generator on
the same machine.

Builds (or reuses, under bench/.corpus/service-<entries>) a SQLite store holding one list of
``--entries`` random PDQ hashes with its index built, starts ``safelight serve --workers W``,
and measures:

- time to ready after a (re)start: from process start until every worker's ``/readyz`` says
  ready (each answer names its worker), the index already on disk;
- per route (the native ``GET /api/v1/lookup``; HMA's ``GET /m/lookup`` when the app has it)
  and per concurrency (1, 8, 64 keep-alive connections): lookups/s, p50 and p99 latency.
  Queries: 10% listed hashes with a few bits flipped (matches), 90% random (misses). Every
  route is first warmed alike (``WARM_SECONDS`` of other lookups each), so the index's pages
  that a restart left out of the page cache are not billed to the route measured first;
- RSS per worker (private ``RssAnon`` and page-cache-shared ``RssFile`` apart);
- freshness: an entry added through the API (``POST /api/v1/lists/BENCH/entries``), and one
  added by the CLI in another process (``safelight lists import``, the process started and
  its imports done beforehand), until a lookup in *each* worker finds it: one keep-alive
  connection per worker (a connection stays with the worker that accepted it; ``/readyz``
  names it), polled in turn. Timed from just before the change is sent (so the change's own
  request or command is included), ``--changes`` of each, median and max; the entries are
  deleted again afterwards so the corpus stays as built;
- the load generator's share of the CPU used (it runs here, on the same 2 cores): a lean
  asyncio HTTP/1.1 client, its CPU from getrusage, the server's from /proc.

    .venv/bin/python bench/service.py                 # run of record: 10M
    .venv/bin/python bench/service.py --entries 1000000 --seconds 5    # development
    .venv/bin/python bench/service.py --quick         # 100k smoke -> service-smoke.json

The store is built once per size under bench/.corpus/service-<entries> (imports in 1M
chunks, then the index and the saved lookup state, as a server's first start would make
them); every run first brings those up to date (``prepare_seconds``: quick when current).
Writes bench/results/service.json (other sizes: service-<entries>.json; ``--quick``:
service-smoke.json), ignored by git except the run of record.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / ".corpus"
RESULTS = ROOT / "bench" / "results"
LIST = "BENCH"
MATCH_SHARE = 0.10
WARM_SECONDS = 10.0  # per route, before any is measured
# Routes measured: name -> path template (value filled in). HMA's is measured when the app
# serves it (the HMA routes come from another branch): the hook is this table.
ROUTES = {
    "native": "/api/v1/lookup?signal_type=pdq&value={value}",
    "hma": "/m/lookup?signal_type=pdq&signal={value}",
}


def build_store(entries: int, workdir: Path) -> dict[str, Any]:
    """The store, its index and a token, made once per size and reused."""
    from safelight.lists import HashListStore
    from safelight.service.lookup import LookupEngine
    from safelight.service.roles import Role
    from safelight.service.tokens import TokenStore
    from safelight.store import Database

    info_path = workdir / "bench.json"
    if info_path.exists():
        return dict(json.loads(info_path.read_text()))
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'store.db'}"
    db = Database.open(url)
    store = HashListStore(db)
    store.create(LIST, source="bench", terms_of_use="synthetic")
    rng = np.random.default_rng(1)
    sample: list[str] = []
    started = time.perf_counter()
    chunk = 1_000_000
    for part, first in enumerate(range(0, entries, chunk)):
        raw = rng.integers(0, 256, (min(chunk, entries - first), 32), dtype=np.uint8)
        path = workdir / f"part{part}.txt"
        path.write_text("".join(f"pdq {bytes(row).hex()}\n" for row in raw))
        store.import_file(LIST, path)
        path.unlink()
        sample += [bytes(row).hex() for row in raw[:: max(1, len(raw) // 500)]]
    import_s = time.perf_counter() - started
    engine = LookupEngine(store, home=workdir / "home")
    started = time.perf_counter()
    engine.refresh()  # builds the on-disk index: the server's start is then a restart
    index_s = time.perf_counter() - started
    tokens = TokenStore(db)
    token = tokens.create("bench", frozenset({Role.API_CLIENT}), by="bench")[1]
    admin = tokens.create("bench-admin", frozenset({Role.ADMIN}), by="bench")[1]
    db.dispose()
    info = {
        "url": url,
        "home": str(workdir / "home"),
        "token": token,
        "admin_token": admin,
        "sample": sample,
        "import_seconds": round(import_s, 1),
        "index_build_seconds": round(index_s, 1),
    }
    info_path.write_text(json.dumps(info))
    return info


def prepare(info: dict[str, Any]) -> float:
    """Bring the index and the saved lookup state up to date (a corpus built by an older
    build, or changed since): what a server's start then maps. Seconds taken."""
    from safelight.lists import HashListStore
    from safelight.service.lookup import LookupEngine
    from safelight.store import Database

    db = Database.open(info["url"])
    started = time.perf_counter()
    LookupEngine(HashListStore(db), home=info["home"]).refresh()
    db.dispose()
    return time.perf_counter() - started


def admin_token(info: dict[str, Any]) -> str:
    from safelight.service.roles import Role
    from safelight.service.tokens import TokenStore
    from safelight.store import Database

    db = Database.open(info["url"])
    token = TokenStore(db).create("bench-admin", frozenset({Role.ADMIN}), by="bench")[1]
    db.dispose()
    return token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(port: int, path: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
    except OSError:
        return 0, None


def wait_all_ready(port: int, workers: int, timeout: float = 3600) -> tuple[float, dict[str, Any]]:
    """Seconds until every worker answered /readyz ready, and each worker's own figure:
    seconds from its app's start (imports done) until its first view served."""
    started = time.perf_counter()
    seen: dict[str, Any] = {}
    while len(seen) < workers:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"workers not ready in {timeout} s ({len(seen)} of {workers})")
        status, body = get_json(port, "/readyz")
        if status == 200:
            index = body["checks"]["index"]
            seen[str(index["worker"])] = index.get("startup_seconds")
        else:
            time.sleep(0.005)
    return time.perf_counter() - started, seen


def worker_pids(server: subprocess.Popen[bytes]) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(p) for p in children] or [server.pid]


def rss(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)  # MiB
    return fields


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(parts[11]) + int(parts[12])) / ticks
    return total


async def connection(
    port: int, requests: list[bytes], stop_at: float, latencies: list[float]
) -> None:
    """One keep-alive connection sending its requests in turn until ``stop_at``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"lookup failed: {head[:200]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


def load(port: int, requests: list[bytes], clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []

    async def run() -> None:
        stop_at = time.perf_counter() + seconds
        slices = [requests[i::clients] or requests for i in range(clients)]
        await asyncio.gather(*(connection(port, s, stop_at, latencies) for s in slices))

    asyncio.run(run())
    return latencies


def queries(sample: list[str], n: int, rng: np.random.Generator) -> list[str]:
    out = []
    for _ in range(n):
        if rng.random() < MATCH_SHARE:
            value = int(sample[int(rng.integers(len(sample)))], 16)
            for bit in rng.choice(256, 8, replace=False):
                value ^= 1 << int(bit)
            out.append(f"{value:064x}")
        else:
            out.append(bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex())
    return out


def request_bytes(path: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()


def warm(port: int, route: str, info: dict[str, Any], seconds: float) -> None:
    """Lookups not measured (other queries than the measured ones), 8 connections."""
    values = queries(info["sample"], 5_000, np.random.default_rng(7))
    load(port, [request_bytes(route.format(value=v), info["token"]) for v in values], 8, seconds)


def measure_route(
    port: int, route: str, info: dict[str, Any], server_pids: list[int], seconds: float
) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    values = queries(info["sample"], 5_000, rng)
    requests = [request_bytes(route.format(value=v), info["token"]) for v in values]
    out: dict[str, Any] = {}
    for clients in (1, 8, 64):
        load(port, requests, clients, min(1.0, seconds))  # warm: connections, caches
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        server_before = cpu_seconds(server_pids)
        started = time.perf_counter()
        latencies = load(port, requests, clients, seconds)
        wall = time.perf_counter() - started
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        own = own_after.ru_utime - own_before.ru_utime + own_after.ru_stime - own_before.ru_stime
        server = cpu_seconds(server_pids) - server_before
        cuts = statistics.quantiles(latencies, n=100)
        out[str(clients)] = {
            "lookups": len(latencies),
            "lookups_per_second": round(len(latencies) / wall, 1),
            "p50_ms": round(cuts[49] * 1000, 2),
            "p99_ms": round(cuts[98] * 1000, 2),
            "load_generator_cpu_share": round(own / max(own + server, 1e-9), 3),
            "server_cpu_seconds_per_lookup_ms": round(server / len(latencies) * 1000, 3),
        }
        print(f"  {clients:>2} connections: {out[str(clients)]}", flush=True)
    return out


class Worker:
    """One keep-alive connection that a given worker accepted."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.pid = int(self.get("/readyz")[1]["checks"]["index"]["worker"])

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn.request("GET", path, headers=headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read() or b"null")


def one_per_worker(port: int, workers: int) -> list[Worker]:
    """A connection to each worker (new connections land on whichever worker accepts)."""
    found: dict[int, Worker] = {}
    for _ in range(200):
        worker = Worker(port)
        if worker.pid in found:
            worker.conn.close()
        else:
            found[worker.pid] = worker
        if len(found) == workers:
            return list(found.values())
    raise SystemExit(f"reached {len(found)} of {workers} workers in 200 connections")


CLI_HELPER = """
import contextlib, io, sys
from safelight.cli import main
print("ready", flush=True)
for line in sys.stdin:
    with contextlib.redirect_stdout(io.StringIO()):
        main(["lists", "import", "BENCH", line.strip()], standalone_mode=False)
    print("done", flush=True)
"""


def freshness(port: int, info: dict[str, Any], workers: int, changes: int) -> dict[str, Any]:
    """Seconds from sending a change (API add, CLI import in another process) until a
    lookup in each worker finds the new entry: median and max over ``changes`` each."""
    rng = np.random.default_rng(3)
    each = one_per_worker(port, workers)
    api = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    env = {**os.environ, "SAFELIGHT_DATABASE_URL": info["url"], "SAFELIGHT_HOME": info["home"]}
    helper = subprocess.Popen(
        [sys.executable, "-c", CLI_HELPER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert helper.stdin is not None and helper.stdout is not None
    assert helper.stdout.readline().strip() == "ready"
    seen: dict[str, list[float]] = {"api": [], "cli": []}
    added: list[int] = []
    folder = Path(tempfile.mkdtemp(prefix="bench-fresh-"))
    try:
        for trial in range(changes):
            for how in ("api", "cli"):
                value = bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()
                path = folder / f"{how}{trial}.txt"
                path.write_text(f"pdq {value}\n")
                started = time.perf_counter()
                if how == "api":
                    body = json.dumps({"value": value, "type": "pdq"})
                    headers = {
                        "Authorization": f"Bearer {info['admin_token']}",
                        "Content-Type": "application/json",
                    }
                    api.request("POST", f"/api/v1/lists/{LIST}/entries", body, headers)
                    answer = api.getresponse()
                    assert answer.status == 201, answer.read()
                    added.append(int(json.loads(answer.read())["id"]))
                else:
                    helper.stdin.write(f"{path}\n")
                    helper.stdin.flush()
                seen[how] += until_each_worker_finds(each, value, info["token"], started)
                if how == "cli":
                    assert helper.stdout.readline().strip() == "done"
                    lookup = f"/api/v1/lookup?signal_type=pdq&value={value}"
                    added.append(
                        int(each[0].get(lookup, info["token"])[1]["matches"][0]["entry_id"])
                    )
    finally:
        helper.stdin.close()
        helper.wait(timeout=60)
        for entry_id in added:  # the corpus stays as built
            headers = {"Authorization": f"Bearer {info['admin_token']}"}
            api.request("DELETE", f"/api/v1/lists/{LIST}/entries/{entry_id}", headers=headers)
            api.getresponse().read()
        for worker in each:
            worker.conn.close()
    return {
        how: {
            "changes": len(times) // workers,
            "median_seconds": round(statistics.median(times), 3),
            "max_seconds": round(max(times), 3),
        }
        for how, times in seen.items()
    } | {"measured": "from sending the change until a lookup in each worker finds it"}


def until_each_worker_finds(
    each: list[Worker], value: str, token: str, started: float, timeout: float = 60.0
) -> list[float]:
    """Poll every worker's connection in turn; the seconds at which each first matched."""
    path = f"/api/v1/lookup?signal_type=pdq&value={value}"
    found: dict[int, float] = {}
    while len(found) < len(each):
        for worker in each:
            if worker.pid not in found and worker.get(path, token)[1]["matches"]:
                found[worker.pid] = time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"a new entry not served by every worker in {timeout} s")
    return list(found.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="100k entries, short runs")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0, help="per concurrency level")
    parser.add_argument("--changes", type=int, default=5, help="freshness trials of each kind")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.seconds, args.changes = 100_000, 3.0, 3
    workdir = CORPUS / f"service-{args.entries}"
    load_start = os.getloadavg()
    info = build_store(args.entries, workdir)
    if "admin_token" not in info:  # a corpus from before the freshness figure
        info["admin_token"] = admin_token(info)
        (workdir / "bench.json").write_text(json.dumps(info))
    prepare_s = prepare(info)
    print(f"prepared in {prepare_s:.1f} s", flush=True)
    port = free_port()
    env = {
        **os.environ,
        "SAFELIGHT_HOME": info["home"],
        "SAFELIGHT_DATABASE_URL": info["url"],
        "SAFELIGHT_LOG_LEVEL": "warning",
        "SAFELIGHT_ANONYMOUS_PER_MINUTE": "100000",
    }
    command = [sys.executable, "-c", "from safelight.cli import main; main()", "serve"]
    command += ["--port", str(port), "--workers", str(args.workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        ready_s, engine_ready = wait_all_ready(port, args.workers)
        print(f"ready in {ready_s:.2f} s (engines: {engine_ready})", flush=True)
        pids = worker_pids(server)
        paths = {p for p in json.loads(urllib.request.urlopen(
            f"http://127.0.0.1:{port}/openapi.json").read())["paths"]}  # fmt: skip
        routes: dict[str, Any] = {}
        served = {n: t for n, t in ROUTES.items() if t.split("?")[0] in paths}
        # Every route warmed alike before any is measured: after a restart the index's pages
        # come into the page cache with the first lookups, which would bill the first route.
        for template in served.values():
            warm(port, template, info, WARM_SECONDS)
        for name, template in ROUTES.items():
            if name not in served:
                routes[name] = "not served by this build"
                continue
            print(f"{name}:", flush=True)
            routes[name] = measure_route(port, template, info, pids, args.seconds)
        memory = {str(pid): rss(pid) for pid in pids}
        fresh = freshness(port, info, args.workers, args.changes)
        print(f"freshness: {fresh}", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    report = {
        "name": "service",
        "entries": args.entries,
        "store": "sqlite",
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "seconds_per_level": args.seconds,
        "match_share": MATCH_SHARE,
        "import_seconds": info["import_seconds"],
        "index_build_seconds": info["index_build_seconds"],
        "prepare_seconds": round(prepare_s, 1),
        "ready_after_restart_seconds": round(ready_s, 3),
        # per worker, from its app's start (imports done) until its first view served
        "engine_ready_seconds": engine_ready,
        "routes": routes,
        "rss_mib_per_worker": memory,
        "freshness": fresh,
        "target": ">= 2000 lookups/s with p99 <= 25 ms at 10M",
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
    }
    name = "service.json" if args.entries == 10_000_000 else f"service-{args.entries}.json"
    out = RESULTS / ("service-smoke.json" if args.quick else name)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "routes"}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
