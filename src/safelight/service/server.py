"""Running the service on uvicorn: ``safelight serve`` calls ``serve(settings)``.

Workers are started from an import string, so each builds its own app with
``app_from_environment``: the resolved settings travel to them as JSON in
``SAFELIGHT_SERVICE_SETTINGS`` (an internal variable; set by ``serve``, not by users).
On SIGTERM or SIGINT each worker stops accepting connections and lets in-flight requests
finish (up to ``graceful_shutdown_seconds``) before it exits.

Several workers each listen on a socket of their own, bound to the same address with
``SO_REUSEPORT``, and the kernel spreads new connections across them (``Supervisor``).
uvicorn's own supervisor shares one socket, and the worker that wakes first accepts every
connection waiting: measured here, the 8 connections a client's pool opened together all went
to one worker in most trials, leaving the other core idle and halving lookups/s.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from functools import partial
from multiprocessing.context import SpawnProcess

import uvicorn
from fastapi import FastAPI
from uvicorn._subprocess import get_subprocess

from safelight.service.app import create_app, open_store
from safelight.service.logs import log_config
from safelight.service.settings import Settings

ENV_SETTINGS = "SAFELIGHT_SERVICE_SETTINGS"
APP_FACTORY = "safelight.service.server:app_from_environment"
# A worker that exits this soon after its start is failing to start (its app, the store):
# the supervisor stops rather than restarting it in a loop.
FAILED_START_SECONDS = 10.0
# How often a worker checks that its supervisor is still there.
SUPERVISOR_CHECK_SECONDS = 0.5
log = logging.getLogger("safelight.service")


def app_from_environment() -> FastAPI:
    """The app of one worker, from the settings ``serve`` handed down."""
    payload = os.environ.get(ENV_SETTINGS)
    settings = Settings.model_validate_json(payload) if payload else Settings()
    return create_app(settings)


def check_store(settings: Settings) -> None:
    """Fail before starting anything if the store is unreachable or not migrated."""
    open_store(settings).dispose()


def serve(settings: Settings, *, factory: str = APP_FACTORY) -> None:
    """Serve until SIGTERM/SIGINT. ``factory`` names the app factory (tests pass their
    own, to add a route); the store is checked first, in this process."""
    check_store(settings)
    os.environ[ENV_SETTINGS] = settings.model_dump_json()
    config = uvicorn.Config(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=log_config(settings.log_level),
        access_log=False,  # the request middleware logs each request, with its id
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    if settings.workers <= 1:
        uvicorn.Server(config).run()
    else:
        Supervisor(config, settings.workers).run()


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to one address with SO_REUSEPORT (port 0: the port the first
    one was given)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        port = sock.getsockname()[1]
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


class Supervisor:
    """Runs one uvicorn server per socket, each in a process of its own; restarts a worker
    that dies, stops when a worker fails to start, and on SIGTERM/SIGINT stops every worker
    gracefully (each finishes its in-flight requests) before it returns."""

    def __init__(self, config: uvicorn.Config, workers: int) -> None:
        self.config = config
        self.sockets = listening_sockets(config.host, config.port, workers)
        self.processes: list[tuple[SpawnProcess, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stopping.set())
        port = self.sockets[0].getsockname()[1]
        # The line uvicorn prints when it binds (scripts and tests wait for it).
        logging.getLogger("uvicorn.error").info(
            "Uvicorn running on http://%s:%d (Press CTRL+C to quit), %d workers",
            self.config.host,
            port,
            len(self.sockets),
        )
        self.processes = [self._start(sock) for sock in self.sockets]
        while not self.stopping.wait(0.5):
            self._keep_alive()
        for process, _ in self.processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process, _ in self.processes:
            process.join()

    def _start(self, sock: socket.socket) -> tuple[SpawnProcess, float]:
        server = uvicorn.Server(self.config)
        target = partial(run_worker, server, os.getpid())
        process = get_subprocess(self.config, target=target, sockets=[sock])
        process.start()
        return process, time.monotonic()

    def _keep_alive(self) -> None:
        for slot, (process, started) in enumerate(self.processes):
            if process.is_alive():
                continue
            process.join()
            if time.monotonic() - started < FAILED_START_SECONDS:
                log.error("worker %s failed to start (exit code %s)", process.pid, process.exitcode)
                self.stopping.set()
                return
            log.warning("worker %s died (exit code %s): restarted", process.pid, process.exitcode)
            self.processes[slot] = self._start(self.sockets[slot])


def run_worker(
    server: uvicorn.Server, supervisor: int, sockets: list[socket.socket] | None = None
) -> None:
    """One worker: serve on its socket, and stop gracefully (as on SIGTERM) if the supervisor
    goes away. A supervisor killed outright (SIGKILL, the OOM killer) cannot stop its workers,
    and orphans would go on serving the port unsupervised, beside the workers of the next
    ``serve``."""

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(SUPERVISOR_CHECK_SECONDS)
        log.warning("worker %s: supervisor %s is gone: stopping", os.getpid(), supervisor)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="safelight-supervisor-watch", daemon=True).start()
    server.run(sockets=sockets)
