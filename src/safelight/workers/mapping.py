"""``map(fn, items, **shared)`` in this process, in local processes or on Dask.

For work shaped as a map over a few large items (network's log files and Parquet parts) with
arguments every call shares (dictionaries, row hashes seen). Results come back in input
order and are the same wherever the map ran: the same functions run everywhere.

Shared arguments travel as one pickle file in ``shared_dir`` that each worker process reads
once, rather than with every task: Dask workers must therefore see that folder, as on one
machine or a shared volume (they read the items' files from it too).
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from safelight.workers import processes
from safelight.workers.choice import Workers

Mapper = Callable[..., list[Any]]


def local_map(fn: Callable[..., Any], items: Sequence[Any], **shared: Any) -> list[Any]:
    return [fn(item, **shared) for item in items]


@lru_cache(maxsize=4)
def _load_shared(path: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        loaded: dict[str, Any] = pickle.load(fh)
    return loaded


def _call_shared(item: Any, *, fn: Callable[..., Any], shared: str) -> Any:
    return fn(item, **_load_shared(shared))


class _SharedFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def write(self, shared: dict[str, Any]) -> str:
        path = self.folder / f".shared-{uuid.uuid4().hex}.pkl"
        with open(path, "wb") as fh:
            pickle.dump(shared, fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.written.append(path)
        return str(path)

    def remove(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)


@contextmanager
def mapper(workers: Workers, shared_dir: Path, *, preload: Sequence[str] = ()) -> Iterator[Mapper]:
    """A mapper running where ``workers`` says; ``preload`` names the modules the mapped
    functions live in, imported once into the process pool's server."""
    if workers.kind == "inline":
        yield local_map
        return
    files = _SharedFiles(shared_dir)
    try:
        if workers.kind == "processes":
            with _process_mapper(workers.count, files, preload) as mapped:
                yield mapped
        else:
            with _dask_mapper(workers, files) as mapped:
                yield mapped
    finally:
        files.remove()


@contextmanager
def _process_mapper(jobs: int, files: _SharedFiles, preload: Sequence[str]) -> Iterator[Mapper]:
    pool: ProcessPoolExecutor | None = None

    def mapped(fn: Callable[..., Any], items: Sequence[Any], **shared: Any) -> list[Any]:
        nonlocal pool
        if len(items) <= 1:  # a pool would only add its start-up time
            return local_map(fn, items, **shared)
        pool = pool or processes.new_pool(jobs, preload=preload)
        call = partial(_call_shared, fn=fn, shared=files.write(shared))
        return list(pool.map(call, items))

    try:
        yield mapped
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _dask_mapper(workers: Workers, files: _SharedFiles) -> Iterator[Mapper]:
    from safelight.workers.cluster import connect

    with connect(workers) as cluster:
        client = cluster.client

        def mapped(fn: Callable[..., Any], items: Sequence[Any], **shared: Any) -> list[Any]:
            path = files.write(shared)
            futures = client.map(_call_shared, list(items), fn=fn, shared=path, pure=False)
            return list(client.gather(futures))

        yield mapped
