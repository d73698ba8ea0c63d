"""The kill -9 matrix driver: run a command, SIGKILL it at a random moment, check, resume.

A child runs ``module:function`` (the CLI, or a test writer) after importing what it needs,
so the clock starts at the work, not at Python's start-up. When given a delay it starts a
thread that sends the process SIGKILL after that many seconds: ``kill -9`` from the inside,
at a point chosen by a seeded random generator, wherever the main thread then is.

Per target and store, ``run_matrix`` first runs the command uninterrupted (the expected
result, and how long the work takes), then plays rounds: a fresh store, then runs killed at
random moments within that duration, each kill followed by the target's checks (nothing
stored lost, duplicated or corrupt), until a run completes; the completed round must equal
the uninterrupted result exactly.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import create_engine, text

from safelight.store import Database

ROOT = Path(__file__).resolve().parent.parent
# Kills per target in the test suite; SAFELIGHT_KILLS=200 for a long run.
KILLS = int(os.environ.get("SAFELIGHT_KILLS", "12"))
SEED = int(os.environ.get("SAFELIGHT_KILL_SEED", "9"))
# A round whose resumed runs keep being killed finally runs to the end untouched.
MAX_KILLS_PER_ROUND = 4
# A hang guard for one child, never an assertion on speed.
CHILD_PATIENCE_SECONDS = 600

CHILD = """
import importlib, os, signal, sys, threading, time
delay, preload, timing, entry, *args = sys.argv[1:]
for name in filter(None, preload.split(",")):
    importlib.import_module(name)
module, function = entry.split(":")
main = getattr(importlib.import_module(module), function)
sys.argv = [entry, *args]
if float(delay) >= 0:
    def die():
        time.sleep(float(delay))
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=die, daemon=True).start()
start = time.monotonic()
try:
    main()
finally:
    with open(timing, "w") as out:
        out.write(str(time.monotonic() - start))
"""


@dataclass
class Work:
    """One round's private world: a folder, a store (SQLite file or PostgreSQL schema)."""

    folder: Path
    url: str
    schema: str | None
    app_name: str = field(default_factory=lambda: f"safelight-kill-{uuid.uuid4().hex[:10]}")

    @property
    def home(self) -> Path:
        return self.folder / "home"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "SAFELIGHT_HOME": str(self.home),
            "SAFELIGHT_DATABASE_URL": self.url,
            "PGAPPNAME": self.app_name,
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]
            ),
        }
        env.pop("SAFELIGHT_DATABASE_SCHEMA", None)
        if self.schema:
            env["SAFELIGHT_DATABASE_SCHEMA"] = self.schema
        return env

    @contextmanager
    def database(self) -> Iterator[Database]:
        db = Database.open(self.url, schema=self.schema)
        try:
            yield db
        finally:
            db.dispose()


class Target(Protocol):
    name: str
    entry: str  # module:function the child calls
    preload: tuple[str, ...]  # imported before the clock starts
    done_codes: tuple[int, ...]  # exit codes of a completed run

    def prepare(self, work: Work) -> None: ...
    def next_args(self, work: Work) -> list[str] | None: ...
    def check(self, work: Work) -> None: ...
    def result(self, work: Work) -> Any: ...


@dataclass
class MatrixReport:
    kills: int = 0
    rounds: int = 0
    completed_before_kill: int = 0
    seconds_uninterrupted: float = 0.0


def fresh(base: Path, label: str) -> Work:
    folder = base / label
    folder.mkdir(parents=True)
    url = os.environ.get("SAFELIGHT_DATABASE_URL")
    if not url:
        return Work(folder, f"sqlite:///{folder / 'store.db'}", None)
    return Work(folder, url, f"k_{uuid.uuid4().hex[:12]}")


def drop(work: Work) -> None:
    if work.schema is None:
        return
    engine = create_engine(work.url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{work.schema}" CASCADE'))
    finally:
        engine.dispose()


def end_orphans(work: Work) -> None:
    """PostgreSQL notices a dead client only when its running statement ends; end the killed
    client's sessions now (what the server would do then: roll back) so nothing waits."""
    if work.schema is None:
        return
    engine = create_engine(work.url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": work.app_name},
            )
    finally:
        engine.dispose()


def run_child(
    target: Target, work: Work, args: list[str], delay: float | None
) -> tuple[int, float]:
    """(exit code, seconds of work) of one run; -SIGKILL when the kill landed."""
    timing = work.folder / "timing.txt"
    timing.unlink(missing_ok=True)
    command = [sys.executable, "-c", CHILD, str(-1 if delay is None else delay)]
    command += [",".join(target.preload), str(timing), target.entry, *args]
    log = work.folder / "child.log"
    with log.open("ab") as out:
        code = subprocess.run(
            command, env=work.env(), stdout=out, stderr=out, timeout=CHILD_PATIENCE_SECONDS
        ).returncode
    seconds = float(timing.read_text()) if timing.exists() else 0.0
    return code, seconds


def child_log(work: Work) -> str:
    path = work.folder / "child.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _complete(target: Target, work: Work, delay: float | None) -> tuple[int, float]:
    args = target.next_args(work)
    assert args is not None, "nothing to run in a fresh store"
    code, seconds = run_child(target, work, args, delay)
    assert code in target.done_codes, f"exit {code}: {child_log(work)}"
    return code, seconds


def run_matrix(target: Target, base: Path, kills: int = KILLS) -> MatrixReport:
    """Kill ``target`` at least ``kills`` times; every round ends equal to the reference."""
    report = MatrixReport()
    reference = fresh(base, "reference")
    try:
        target.prepare(reference)
        _, report.seconds_uninterrupted = _complete(target, reference, None)
        expected = target.result(reference)
    finally:
        drop(reference)
    rng = random.Random(f"{SEED}-{target.name}")
    while report.kills < kills:
        work = fresh(base, f"round-{report.rounds}")
        try:
            target.prepare(work)
            _play_round(target, work, rng, report)
            assert target.result(work) == expected, f"round {report.rounds} differs"
        finally:
            drop(work)
        report.rounds += 1
    return report


def _play_round(target: Target, work: Work, rng: random.Random, report: MatrixReport) -> None:
    for attempt in range(MAX_KILLS_PER_ROUND + 1):
        args = target.next_args(work)
        if args is None:  # the last kill landed after the work was committed
            return
        last = attempt == MAX_KILLS_PER_ROUND
        delay = None if last else rng.uniform(0.0, report.seconds_uninterrupted)
        code, seconds = run_child(target, work, args, delay)
        if code == -signal.SIGKILL:
            report.kills += 1
            end_orphans(work)
            target.check(work)
            continue
        assert code in target.done_codes, f"exit {code}: {child_log(work)}"
        report.completed_before_kill += delay is not None
        if attempt == 0 and seconds > 0:
            # A whole run from a fresh store: the reference's first run may have been slowed
            # by cold caches, and kills drawn beyond the work would land on nothing.
            report.seconds_uninterrupted = min(report.seconds_uninterrupted, seconds)
        return
    raise AssertionError("unreachable: the last attempt runs without a kill")


def index_writer() -> None:
    """Child entry: add the index batches not yet recorded in its meta, compacting every
    fourth (``path seed batches batch_rows``); a rerun resumes where the meta says."""
    import numpy as np

    from safelight.index import HammingIndex

    path, seed, count, rows = sys.argv[1], *map(int, sys.argv[2:5])
    batches = index_batches(seed, count, rows)
    index = HammingIndex.open(path)
    for k in range(int(index.meta.get("batches", 0)), count):
        index.add(np.arange(rows) + 1_000_000 * (k + 1), batches[k], meta={"batches": k + 1})
        if k % 4 == 3:
            index.compact()


def index_batches(seed: int, count: int, rows: int) -> list[Any]:
    import numpy as np

    from safelight.index import synthetic

    rng = np.random.default_rng(seed)
    return [synthetic.uniform_hashes(rng, rows) for _ in range(count)]
