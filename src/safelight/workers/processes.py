"""Local worker processes: one forkserver, warm pools, bounded feeding, crash isolation.

Workers fork from a clean single-threaded server (no parent threads or locks inherited) that
has the modules the work needs imported and warm, so a pool starts in milliseconds. Like any
non-fork start method, a script starting a pool needs the ``if __name__ == "__main__":``
guard (the CLI entry point has it).

Two ways to feed a pool, both keeping a bounded number of tasks in flight so memory stays
flat however long the input: ``ordered`` (results in input order; a worker that dies costs
only the item that killed it) and ``unordered`` (results as they complete).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

from safelight.workers import main_script

T = TypeVar("T")
R = TypeVar("R")

# Tasks in flight per worker: keeps workers fed without reading the whole input ahead.
IN_FLIGHT_PER_JOB = 4
# Preloaded into the forkserver after the modules callers ask for: runs the calling script.
_SERVER_MODULE = "safelight.workers.server"
# Modules asked for so far (the server is started once per process, with what is known then;
# a module asked for later is imported by each worker on first use instead).
_preload: list[str] = []


def new_pool(
    jobs: int,
    *,
    preload: Sequence[str] = (),
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A pool of ``jobs`` processes forked from the server, with ``preload`` imported there."""
    context = multiprocessing.get_context("forkserver")
    _preload.extend(module for module in preload if module not in _preload)
    context.set_forkserver_preload(["__main__", *_preload, _SERVER_MODULE])
    start_forkserver()
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=initializer, initargs=initargs)


def start_forkserver() -> None:
    """Start the server (once per process), telling it which main script to preload.

    Every worker runs the calling script as ``__mp_main__`` before its first task, unless the
    server already has: the "__main__" preload is meant for that, but CPython before 3.13.8
    never passes it the script's path (python/cpython#126631, #137996), and for the CLI that
    re-import cost 0.3 s per worker per pool. The path goes by environment variable to
    ``server.py``, which runs it in the server as a fixed CPython would.
    """
    from multiprocessing import forkserver, spawn

    main_path = spawn.get_preparation_data("ignore").get("init_main_from_path")
    if main_path is None:
        forkserver.ensure_running()
        return
    os.environ[main_script.MAIN_PATH_VARIABLE] = main_path
    try:
        forkserver.ensure_running()
    finally:
        os.environ.pop(main_script.MAIN_PATH_VARIABLE, None)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    return iter(lambda: list(itertools.islice(iterator, size)), [])


def ordered(
    task: Callable[[list[T]], list[R]],
    chunks: Iterable[list[T]],
    *,
    jobs: int,
    died: Callable[[T], R],
    preload: Sequence[str] = (),
    in_flight_per_job: int = IN_FLIGHT_PER_JOB,
) -> Iterator[list[R]]:
    """``task(chunk)`` for every chunk in ``jobs`` processes, yielded in input order.

    ``task`` must be picklable and give one result per item. A worker that dies (a decoder
    crash on hostile input, the OOM killer) breaks the pool: its chunk is re-run one item per
    process to find the culprit, which gets ``died(item)``, and the rest goes on in a fresh
    pool.
    """
    feeder = _Ordered(task, jobs, died, preload)
    try:
        for chunk in chunks:
            feeder.submit(chunk)
            while len(feeder.pending) >= jobs * in_flight_per_job:
                yield feeder.collect()
        while feeder.pending:
            yield feeder.collect()
    finally:
        feeder.pool.shutdown(wait=True, cancel_futures=True)


class _Ordered(Generic[T, R]):
    """One ordered feed: the pool, and the chunks in flight oldest first."""

    def __init__(
        self,
        task: Callable[[list[T]], list[R]],
        jobs: int,
        died: Callable[[T], R],
        preload: Sequence[str],
    ) -> None:
        self.task, self.jobs, self.died, self.preload = task, jobs, died, preload
        self.pool = new_pool(jobs, preload=preload)
        self.pending: deque[tuple[list[T], Future[list[R]]]] = deque()

    def submit(self, chunk: list[T]) -> None:
        self.pending.append((chunk, self.pool.submit(self.task, chunk)))

    def collect(self) -> list[R]:
        """The oldest chunk's results; after a worker death, isolate the culprit, re-pool."""
        chunk, future = self.pending.popleft()
        try:
            return future.result()
        except BrokenProcessPool:
            self.pool.shutdown(wait=True, cancel_futures=True)
            results = [self._isolated(item) for item in chunk]
            self.pool = new_pool(self.jobs, preload=self.preload)
            for index, (other, _) in enumerate(self.pending):
                self.pending[index] = (other, self.pool.submit(self.task, other))
            return results

    def _isolated(self, item: T) -> R:
        """Run one item in a process of its own; if that process dies, ``died(item)``."""
        with new_pool(1, preload=self.preload) as single:
            try:
                return single.submit(self.task, [item]).result()[0]
            except BrokenProcessPool:
                return self.died(item)


def unordered(
    pool: Executor,
    task: Callable[[T], R],
    items: Iterable[T],
    *,
    in_flight: int,
) -> Iterator[R]:
    """``task(item)`` for every item on ``pool``, yielded as each completes, with at most
    ``in_flight`` submitted and not yet yielded."""
    pending: set[Future[R]] = set()
    for item in items:
        pending.add(pool.submit(task, item))
        while len(pending) >= in_flight:
            done, pending = _wait_some(pending)
            yield from (future.result() for future in done)
    while pending:
        done, pending = _wait_some(pending)
        yield from (future.result() for future in done)


def _wait_some(pending: set[Future[R]]) -> tuple[set[Future[R]], set[Future[R]]]:
    done, rest = wait(pending, return_when=FIRST_COMPLETED)
    return set(done), set(rest)
