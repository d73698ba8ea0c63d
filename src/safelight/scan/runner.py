"""Driving one scan run: list, batch, execute, record, stream JSONL, summarise, resume.

Order of writes is what makes a run crash-safe: a batch's rows are committed in one
transaction first, and only then appended to the JSONL file. After a kill -9 the store holds
every committed item and the JSONL holds a prefix of them (perhaps with a torn last line);
``--resume`` rewrites the JSONL from the store (to the run's own output file unless another
is given), skips every recorded item without reading its bytes again into a hasher, and
carries on. An interrupt (Ctrl-C) leaves the run resumable and raises ``ScanInterrupted``
with the run's summary so far.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from safelight.constants import (
    SCAN_BATCH_BYTES,
    SCAN_BATCH_ITEMS,
)
from safelight.errors import ConflictError, UsageError
from safelight.lists import HashListStore
from safelight.outputs import prepare_file
from safelight.scan.archives import ArchiveLimits
from safelight.scan.batching import Batcher
from safelight.scan.executors import Executor, make_executor
from safelight.scan.matching import MatchConfig, StoreMatcher
from safelight.scan.model import ItemResult
from safelight.scan.pipeline import PipelineConfig
from safelight.scan.progress import NullProgress, Progress
from safelight.scan.runs import FAILED, FINISHED, INTERRUPTED, RUNNING, RunStore, Tally
from safelight.scan.sources import SourceWalker, check_sources, is_uri
from safelight.signals.options import Mode
from safelight.store import Database
from safelight.store.database import default_home


@dataclass(slots=True)
class ScanOptions:
    sources: list[str] = field(default_factory=list)
    # None: every enabled list in the store (as ``match`` does); [] hashes only.
    lists: list[str] | None = None
    jobs: int | None = 1  # None: every usable CPU (safelight.workers.DEFAULT_JOBS)
    cluster: str | None = None
    out: Path | None = None
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    batch_items: int = SCAN_BATCH_ITEMS
    batch_bytes: int = SCAN_BATCH_BYTES
    mode: Mode = "default"
    follow_links: bool = False  # links leaving a folder (see safelight.signals.walk)


@dataclass(slots=True)
class ScanSummary:
    run_id: int
    status: str
    total: Tally  # the whole run, from the store
    this_session: Tally  # what this invocation hashed
    skipped: int  # items already recorded before a resume
    seconds: float
    lists: tuple[str, ...] = ()  # the lists matched against (none: hashed only)

    def to_dict(self) -> dict[str, Any]:
        rate = self.this_session.items / self.seconds if self.seconds > 0 else 0.0
        byte_rate = self.this_session.bytes / self.seconds if self.seconds > 0 else 0.0
        return {
            "run": self.run_id,
            "status": self.status,
            "lists": list(self.lists),
            **self.total.to_dict(),
            "skipped_already_recorded": self.skipped,
            "seconds": round(self.seconds, 3),
            "items_per_second": round(rate, 2),
            "bytes_per_second": round(byte_rate, 1),
        }


class ScanInterrupted(KeyboardInterrupt):
    """A run stopped by an interrupt: it is recorded as interrupted and can be resumed.

    A ``KeyboardInterrupt``, so code that does not know it still stops; ``summary`` is the
    run's state at the interrupt.
    """

    def __init__(self, summary: ScanSummary) -> None:
        super().__init__(f"scan run {summary.run_id} interrupted")
        self.summary = summary


def _limits_to_dict(limits: ArchiveLimits) -> dict[str, Any]:
    return dataclasses.asdict(limits)


class _JsonlOut:
    """The output file (``ScanOptions.out``), appended to after each committed batch."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def open_fresh(self) -> None:
        if self.path is not None:
            self.handle = open(self.path, "w", encoding="utf-8")

    def rebuild(self, results: Iterator[ItemResult]) -> None:
        """Rewrite the file from the store (after a crash it may be torn or behind)."""
        if self.path is None:
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            for result in results:
                handle.write(_line(result))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        self.handle = open(self.path, "a", encoding="utf-8")

    def write(self, results: list[ItemResult]) -> None:
        if self.handle is not None:
            self.handle.write("".join(_line(result) for result in results))
            self.handle.flush()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _line(result: ItemResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"


def _start(
    db: Database, store: RunStore, options: ScanOptions, resume: int | None
) -> tuple[int, ScanOptions, MatchConfig]:
    home = default_home()
    if resume is None:
        if not options.sources:
            raise UsageError("no sources to scan, and no run to resume", field="sources")
        check_sources(options.sources)
        options.sources = [_absolute(source) for source in options.sources]
        # Unknown lists stop the scan here, before a run exists; indexes are synced here once
        # (not by every worker at the same time).
        match = _match_config(db, home, _lists_to_match(db, options.lists))
        stored = {
            "limits": _limits_to_dict(options.limits),
            "batch_items": options.batch_items,
            "mode": options.mode,
            "out": str(options.out.resolve()) if options.out is not None else None,
            "follow_links": options.follow_links,
        }
        lists = [
            {"name": name, "generation": generation}
            for name, generation in zip(match.lists, match.generations, strict=True)
        ]
        return store.create(options.sources, lists, stored), options, match
    run = store.get(resume)
    if run.status == FINISHED:
        raise ConflictError(f"scan run {resume} already finished; nothing to resume")
    if options.lists is not None:
        raise UsageError(
            f"scan run {resume} keeps the lists it started with: choose none to resume it",
            field="lists",
        )
    if options.sources and options.sources != run.sources:
        raise UsageError(
            f"scan run {resume} scanned {run.sources}: give none to resume it", field="sources"
        )
    options.sources = run.sources
    options.lists = [str(entry["name"]) for entry in run.lists]
    options.limits = ArchiveLimits(**run.options["limits"])
    options.mode = run.options.get("mode", "default")
    if options.out is None and run.options.get("out"):
        # The run's own output file is rewritten whole, so it ends complete.
        options.out = Path(run.options["out"])
        _check_out(options.out)
    options.follow_links = bool(run.options.get("follow_links", False))
    # A resumed run matches against each list as it is now (its current generation).
    match = _match_config(db, home, options.lists)
    store.set_status(resume, RUNNING)
    return resume, options, match


def _lists_to_match(db: Database, names: list[str] | None) -> list[str]:
    if names is not None:
        return names
    return [hash_list.name for hash_list in HashListStore(db).list() if hash_list.enabled]


def _check_out(out: Path | None) -> None:
    if out is not None:
        prepare_file(out, field="out")  # the one rule for outputs (safelight.outputs)


def _match_config(db: Database, home: Path, names: list[str]) -> MatchConfig:
    if not names:
        return MatchConfig()
    generations = HashListStore(db).generations(names)  # NotFoundError names unknown lists
    url = db.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # Workers may run elsewhere: give them the store's absolute path.
        url = "sqlite:///" + os.path.abspath(url[len("sqlite:///") :])
    config = MatchConfig(
        tuple(names),
        tuple(generations[name] for name in names),
        url,
        db.schema,
        str(home.resolve()),
    )
    # Sync every index with the store once, here, rather than in every worker at once.
    matcher = StoreMatcher(config)
    try:
        matcher.sync()
    finally:
        matcher.release()
    return config


def _absolute(source: str) -> str:
    # Stored sources must still mean the same files when resumed from another folder.
    if is_uri(source):
        return source
    if source.startswith("@"):
        return "@" + os.path.abspath(source[1:])
    return os.path.abspath(source)


def run_scan(
    db: Database,
    options: ScanOptions,
    *,
    resume: int | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> ScanSummary:
    """Scan ``options.sources`` (or finish run ``resume``) and return the run's summary.

    ``executor`` lets a caller keep one pool or cluster across runs (a service, a benchmark);
    by default one is made from ``options.jobs`` / ``options.cluster`` and closed at the end.
    """
    store = RunStore(db)
    _check_out(options.out)
    # Connect to the cluster first: an unreachable scheduler must not leave a run behind.
    own_executor = executor is None
    executor = executor or make_executor(options.jobs, options.cluster)
    try:
        run_id, options, match = _start(db, store, options, resume)
    except BaseException:
        if own_executor:
            executor.close()
        raise
    config = PipelineConfig(
        match=match, max_file_bytes=options.limits.max_member_bytes, mode=options.mode
    )
    progress = progress or NullProgress()
    out = _JsonlOut(options.out)
    recorded: set[str] = set()
    batcher = Batcher(recorded, options.batch_items, options.batch_bytes, executor.workers)
    walker = SourceWalker(options.limits, follow_links=options.follow_links)
    session = Tally()
    started = time.monotonic()
    status = FAILED
    interrupted: KeyboardInterrupt | None = None
    # From here on the run exists: whatever stops it, it is left resumable (finally below).
    try:
        if resume is not None:
            recorded |= store.recorded_keys(run_id)  # the batcher's set: skipped, not hashed
            out.rebuild(store.iter_results(run_id))
        else:
            out.open_fresh()
        executor.prepare(config)
        progress.start(run_id, options.sources, already=len(recorded))
        batches = batcher.batches(walker.items(options.sources))
        for results in executor.run(config, batches):
            store.record(run_id, results)
            out.write(results)
            for result in results:
                session.add(result)
            progress.update(session)
        status = FINISHED
    except KeyboardInterrupt as exc:
        status = INTERRUPTED
        interrupted = exc
    finally:
        if own_executor:
            executor.close()
        out.close()
        progress.stop()
        total = store.tally(run_id)
        # Not finished: resumable, --resume picks it up.
        store.finish(run_id, status, total)
    seconds = time.monotonic() - started
    summary = ScanSummary(run_id, status, total, session, batcher.skipped, seconds, match.lists)
    if interrupted is not None:
        raise ScanInterrupted(summary) from interrupted
    return summary
