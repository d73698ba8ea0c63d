"""Run ingest parsing and aggregation on Dask (``--cluster local`` or ``tcp://host:port``).

The Dask path runs exactly the functions the single-process path runs: ``parse_file`` per
log file, and the two aggregation maps per Parquet part, with the combine in the caller.
Workers must see the same filesystem (the case folder) as the caller, as on one machine or
a shared volume. Results are therefore identical to the single-process path.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from safelight.errors import UsageError


@contextmanager
def dask_client(cluster: str, workers: int = 1) -> Iterator[Any]:
    """A client of ``cluster``: ``local`` starts scan's LocalCluster with ``workers``
    processes (``--jobs``); a ``tcp://`` scheduler keeps its own workers."""
    from distributed import Client

    from safelight.scan.executors import CONNECT_TIMEOUT, start_local_cluster

    if workers < 1:
        raise UsageError(f"must be 1 or more, got {workers}", field="jobs")
    if cluster == "local":
        local = start_local_cluster(workers)
        client = Client(local)  # type: ignore[no-untyped-call]
        try:
            yield client
        finally:
            client.close()  # type: ignore[no-untyped-call]
            local.close()
        return
    if not cluster.startswith("tcp://"):
        raise UsageError(
            f"{cluster!r}: use 'local' or a scheduler 'tcp://host:port'", field="cluster"
        )
    try:
        client = Client(cluster, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise UsageError(f"cannot reach Dask scheduler {cluster}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=4)
def _load_shared(path: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        loaded: dict[str, Any] = pickle.load(fh)
    return loaded


def _call_shared(item: Any, *, fn: Callable[..., Any], shared: str) -> Any:
    return fn(item, **_load_shared(shared))


@contextmanager
def dask_mapper(
    cluster: str, shared_dir: Path, workers: int = 1
) -> Iterator[Callable[..., list[Any]]]:
    """A mapper running on Dask. Arguments shared by every task (dictionaries, row hashes
    seen) travel as one file in ``shared_dir``, which workers must see like the parts: more
    robust than scattering them, and each worker process reads them once."""
    with dask_client(cluster, workers) as client:
        written: list[Path] = []

        def mapper(fn: Callable[..., Any], items: Sequence[Any], **kwargs: Any) -> list[Any]:
            path = shared_dir / f".shared-{uuid.uuid4().hex}.pkl"
            with open(path, "wb") as fh:
                pickle.dump(kwargs, fh, protocol=pickle.HIGHEST_PROTOCOL)
            written.append(path)
            futures = client.map(_call_shared, list(items), fn=fn, shared=str(path), pure=False)
            return list(client.gather(futures))

        try:
            yield mapper
        finally:
            for path in written:
                path.unlink(missing_ok=True)
