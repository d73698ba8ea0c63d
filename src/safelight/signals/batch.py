"""Hash many paths: expand folders, spread files over processes, stream records in order.

Workers are processes (decoding and PDQ are CPU-bound). Chunks of paths go out with a bounded
number in flight, so memory stays flat for millions of files, and records come back in input
order. A worker that dies (a decoder crash on hostile input, the OOM killer) costs only the
file that killed it: its chunk is re-run one file per process to find the culprit, which gets
an ``internal`` error record, and the batch goes on with a fresh pool.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from safelight.errors import ItemError
from safelight.signals import worker_env
from safelight.signals.files import hash_file
from safelight.signals.options import HashOptions
from safelight.signals.records import HashRecord
from safelight.signals.sniff import media_from_name
from safelight.signals.walk import Walker

Hasher = Callable[[str, HashOptions], HashRecord]
Item = str | HashRecord  # a path to hash, or a record already decided (an expansion error)

# Paths per task: small enough to balance uneven files, big enough to amortise the pool's
# per-task cost in the parent (about 0.4 ms CPU: queue threads waking, pipes, futures; measured
# 0.13 ms per 2 MP JPEG at 4 paths a task, 0.065 at 8).
CHUNK_SIZE = 8
# Tasks in flight per worker: keeps workers fed without reading the whole input ahead.
IN_FLIGHT_PER_JOB = 4


def default_jobs() -> int:
    """Cores this process may run on (respects CPU affinity and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _unreadable(path: str, reason: str) -> HashRecord:
    error = ItemError("unreadable", f"{path}: {reason}")
    return HashRecord(path, media_from_name(path), error=error)


def expand_paths(
    paths: Iterable[str | os.PathLike[str]], recursive: bool, *, follow_links: bool = False
) -> Iterator[Item]:
    """Files to hash in a stable order; folders only with ``recursive`` (else an error record).

    Folders are walked by ``safelight.signals.walk`` (the walker ``scan`` uses), with its rule
    for links: each file once per call, links leaving a folder followed only with
    ``follow_links``. A file named directly is always hashed.
    """
    walker = Walker(follow_links=follow_links)
    for given in paths:
        path = os.fspath(given)
        if not os.path.isdir(path):
            yield path
        elif not recursive:
            # Neutral words: the library names no flag (the CLI adds its -r hint).
            yield _unreadable(path, "is a directory (its files are read only recursively)")
        else:
            for found in walker.walk(path):
                if found.error is not None:
                    media = media_from_name(found.path)
                    yield HashRecord(found.path, media, error=found.error)
                else:
                    yield found.path


def _hash_chunk(items: list[Item], options: HashOptions, hasher: Hasher) -> list[HashRecord]:
    return [item if isinstance(item, HashRecord) else hasher(item, options) for item in items]


def hash_paths(
    paths: Iterable[str | os.PathLike[str]],
    options: HashOptions | None = None,
    *,
    jobs: int = 1,
    recursive: bool = False,
    follow_links: bool = False,
    hasher: Hasher = hash_file,
) -> Iterator[HashRecord]:
    """A record per input file, in input order; ``jobs`` > 1 hashes in that many processes."""
    options = options or HashOptions()
    items = expand_paths(paths, recursive, follow_links=follow_links)
    head = list(itertools.islice(items, CHUNK_SIZE + 1))
    if jobs <= 1 or len(head) <= CHUNK_SIZE:
        # One chunk or less: a process pool would only add its start-up time.
        for item in itertools.chain(head, items):
            yield item if isinstance(item, HashRecord) else hasher(item, options)
        return
    yield from _parallel(itertools.chain(head, items), options, jobs, hasher)


def _new_pool(jobs: int) -> ProcessPoolExecutor:
    # forkserver: workers fork from a clean single-threaded server that has the hashing code
    # imported and warm (safelight.signals.worker), so no parent threads or locks are inherited
    # and start-up stays cheap. Like any non-fork start method, a script calling this needs the
    # ``if __name__ == "__main__":`` guard (the CLI entry point has it).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "safelight.signals.worker"])
    _start_forkserver()
    return ProcessPoolExecutor(jobs, mp_context=context)


def _start_forkserver() -> None:
    """Start the server (once per process), telling it which main script to preload.

    Every worker runs the calling script as ``__mp_main__`` before its first task, unless the
    server already has: the "__main__" preload is meant for that, but CPython before 3.13.8
    never passes it the script's path (python/cpython#126631, #137996), and for the CLI that
    re-import cost 0.3 s per worker per pool. The path goes by environment variable to
    ``worker.py``, which runs it in the server as a fixed CPython would.
    """
    from multiprocessing import forkserver, spawn

    main_path = spawn.get_preparation_data("ignore").get("init_main_from_path")
    if main_path is None:
        forkserver.ensure_running()
        return
    os.environ[worker_env.MAIN_PATH_VARIABLE] = main_path
    try:
        forkserver.ensure_running()
    finally:
        os.environ.pop(worker_env.MAIN_PATH_VARIABLE, None)


def _parallel(
    items: Iterator[Item], options: HashOptions, jobs: int, hasher: Hasher
) -> Iterator[HashRecord]:
    pool = _new_pool(jobs)
    pending: deque[tuple[list[Item], Future[list[HashRecord]]]] = deque()
    chunks = iter(lambda: list(itertools.islice(items, CHUNK_SIZE)), [])
    try:
        for chunk in chunks:
            pending.append((chunk, pool.submit(_hash_chunk, chunk, options, hasher)))
            while len(pending) >= jobs * IN_FLIGHT_PER_JOB:
                records, pool = _collect(pending, pool, jobs, options, hasher)
                yield from records
        while pending:
            records, pool = _collect(pending, pool, jobs, options, hasher)
            yield from records
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    pending: deque[tuple[list[Item], Future[list[HashRecord]]]],
    pool: ProcessPoolExecutor,
    jobs: int,
    options: HashOptions,
    hasher: Hasher,
) -> tuple[list[HashRecord], ProcessPoolExecutor]:
    """The oldest chunk's records; after a worker death, isolate the culprit and re-pool."""
    chunk, future = pending.popleft()
    try:
        return future.result(), pool
    except BrokenProcessPool:
        pool.shutdown(wait=True, cancel_futures=True)
        records = [_isolated(item, options, hasher) for item in chunk]
        pool = _new_pool(jobs)
        for index, (other, _) in enumerate(pending):
            pending[index] = (other, pool.submit(_hash_chunk, other, options, hasher))
        return records, pool


def _isolated(item: Item, options: HashOptions, hasher: Hasher) -> HashRecord:
    """Hash one item in a process of its own; if that process dies, record why."""
    if isinstance(item, HashRecord):
        return item
    with _new_pool(1) as single:
        try:
            return single.submit(_hash_chunk, [item], options, hasher).result()[0]
        except BrokenProcessPool:
            message = f"{item}: the hashing process died on this file (a decoder crash?)"
            return HashRecord(item, media_from_name(item), error=ItemError("internal", message))
