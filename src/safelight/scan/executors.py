"""Where batches run: this process, a local process pool (``--jobs N``) or Dask.

Every executor runs ``pipeline.process_batch`` and keeps a bounded number of batches in flight
(twice the workers), so memory stays flat however large the source and a crash loses little.
Results come back in completion order; the runner records them as they arrive. On the scan's
own LocalCluster, batches carrying bytes go straight to a worker (``_DaskRun``) and the
workers run with the settings in ``LOCAL_CLUSTER_CONFIG``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, Protocol

from safelight.errors import UsageError
from safelight.scan.model import ItemResult, WorkItem
from safelight.scan.pipeline import PipelineConfig, pipeline_for, process_batch

Batch = list[WorkItem]
# How long to wait for a Dask scheduler before giving up (Dask's own default is 30 s).
CONNECT_TIMEOUT = "20s"
# Dask settings for the LocalCluster a scan starts itself (a remote cluster keeps its own):
# * Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (to hand freed memory back
#   to the OS). Setting any glibc malloc threshold turns off glibc's adaptive mmap threshold,
#   so every buffer over 128 KiB (a decoded photo's planes) is a fresh mmap, page-faulted in
#   and unmapped again: ~235 faults and ~0.4 ms of system CPU per 1024x768 photo, 10% of its
#   hashing. Unset (None) it, as in a process pool's workers.
# * The workers' statistical profiler samples running tasks every 10 ms for a dashboard that
#   a scan's cluster does not serve.
# * Housekeeping timers, slower: memory checks every 1 s instead of 100 ms (a scan's memory
#   is bounded by its batches in flight), system metrics every 2 s instead of 0.5 s (for the
#   dashboard), event-loop health every 200 ms instead of 20 ms. An idle 2-worker cluster then
#   costs ~17 ms of CPU per second instead of ~50 (scheduler and nannies run in this process).
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",
}


class Executor(Protocol):
    workers: int

    def prepare(self, config: PipelineConfig) -> None:
        """Build every worker's hasher and matcher now (open the index once per worker)."""
        ...

    def run(
        self, config: PipelineConfig, batches: Iterator[Batch]
    ) -> Iterator[list[ItemResult]]: ...

    def close(self) -> None: ...


def _warm(config: PipelineConfig) -> None:
    pipeline_for(config)


def _start_worker(config: PipelineConfig) -> None:
    # Ctrl-C reaches the whole process group: the parent alone handles it (records the run
    # as interrupted, cancels what is queued); workers finish their batch quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _warm(config)


class InlineExecutor:
    workers = 1

    def prepare(self, config: PipelineConfig) -> None:
        pipeline_for(config)

    def run(self, config: PipelineConfig, batches: Iterator[Batch]) -> Iterator[list[ItemResult]]:
        for batch in batches:
            yield process_batch(config, batch)

    def close(self) -> None:
        pass


def _bounded(
    batches: Iterator[Batch],
    submit: Callable[[Batch], Any],
    wait_some: Callable[[set[Any]], tuple[set[Any], set[Any]]],
    in_flight: int,
) -> Iterator[list[ItemResult]]:
    pending: set[Any] = set()
    for batch in batches:
        pending.add(submit(batch))
        while len(pending) >= in_flight:
            done, pending = wait_some(pending)
            for future in done:
                yield future.result()
    while pending:
        done, pending = wait_some(pending)
        for future in done:
            yield future.result()


class ProcessExecutor:
    """A pool of local worker processes (forkserver: no inherited threads or locks)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.config: PipelineConfig | None = None

    def prepare(self, config: PipelineConfig) -> None:
        if self.pool is not None and self.config == config:
            return
        self.close()
        # Each worker opens the lists as it starts, before taking its first batch.
        context = multiprocessing.get_context("forkserver")
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(config,),
        )
        self.config = config

    def run(self, config: PipelineConfig, batches: Iterator[Batch]) -> Iterator[list[ItemResult]]:
        self.prepare(config)
        pool = self.pool
        assert pool is not None

        def submit(batch: Batch) -> Future[list[ItemResult]]:
            return pool.submit(process_batch, config, batch)

        def wait_some(pending: set[Any]) -> tuple[set[Any], set[Any]]:
            done, rest = wait(pending, return_when=FIRST_COMPLETED)
            return set(done), set(rest)

        yield from _bounded(batches, submit, wait_some, 2 * self.workers)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _distributed() -> Any:
    # Imported on use: starting a scan without Dask should not pay for importing it.
    import distributed

    return distributed


_MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"


@contextmanager
def _environ_without(name: str) -> Iterator[None]:
    """``name`` unset in this process while workers are spawned: a LocalCluster started
    earlier with Dask's defaults leaves its nanny's setting in ``os.environ``."""
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


def _worker_settings() -> dict[str, Any]:
    """What a worker process runs with (tests check the LocalCluster's settings)."""
    import dask

    return {
        _MALLOC_TRIM: os.environ.get(_MALLOC_TRIM),
        "profile": dask.config.get("distributed.worker.profile.enabled"),
    }


def start_local_cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` single-threaded processes with the settings in
    ``LOCAL_CLUSTER_CONFIG``: what ``--cluster local`` starts, for scan and network alike."""
    distributed = _distributed()
    import dask

    with dask.config.set(LOCAL_CLUSTER_CONFIG), _environ_without(_MALLOC_TRIM):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # The scheduler's HTTP routes (/health, /metrics) still listen: on a free local
            # port, not on 0.0.0.0:8787 (which another cluster may hold).
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
        )


class DaskExecutor:
    """Batches as tasks on a Dask cluster: ``local`` starts a LocalCluster of processes.

    Tasks carry the small ``PipelineConfig`` (list paths and generations); each worker builds
    its matcher once from shared storage and caches it (``pipeline.pipeline_for``).
    """

    def __init__(self, address: str, workers: int) -> None:
        distributed = _distributed()
        self.cluster: Any = None
        if address == "local":
            self.cluster = start_local_cluster(workers)
            # The client can reach the workers it started: results come straight from them
            # rather than through the scheduler (which, here, is this process too).
            self.client = distributed.Client(self.cluster, direct_to_workers=True)
        else:
            try:
                self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                raise UsageError(f"cannot reach Dask scheduler {address!r}: {exc}") from exc
        self.workers = max(1, len(self.client.scheduler_info()["workers"]))

    def prepare(self, config: PipelineConfig) -> None:
        # Runs on every worker at once: each opens the index from shared storage in parallel.
        self.client.run(_warm, config)

    def run(self, config: PipelineConfig, batches: Iterator[Batch]) -> Iterator[list[ItemResult]]:
        # Only for the LocalCluster it started is the client sure to reach the workers.
        scatter = self.cluster is not None
        runner = _DaskRun(self.client, _distributed().wait, config, scatter=scatter)
        for batch in batches:
            runner.submit(batch)
            while len(runner.pending) >= 2 * self.workers:
                yield from runner.collect()
        while runner.pending:
            yield from runner.collect()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _payload(batch: Batch) -> int:
    return sum(item.payload_bytes for item in batch)


class _DaskRun:
    """One scan's batches on Dask, with the bytes of inline items sent straight to a worker.

    A task's arguments travel from the client to the scheduler and on to a worker; for a
    LocalCluster the scheduler runs in the scanning process, so a batch of archive members'
    bytes would cross it twice. With ``scatter`` such a batch goes directly to the worker with
    the fewest of this run's batches (the task follows its data there). If that worker is lost
    with the bytes, the batch is sent again the ordinary way.
    """

    def __init__(self, client: Any, wait: Any, config: PipelineConfig, *, scatter: bool) -> None:
        self.client = client
        self.wait = wait
        self.config = config
        self.scatter = scatter
        self.pending: dict[Any, tuple[Batch, str | None]] = {}
        # This run's batches on each worker (asking the scheduler per batch would cost a
        # round trip; the workers of a LocalCluster stay).
        self.load: dict[str, int] = {}

    def submit(self, batch: Batch, *, scatter: bool = True) -> None:
        if scatter and self.scatter and _payload(batch):
            if not self.load:
                self.load = dict.fromkeys(self.client.scheduler_info()["workers"], 0)
            worker = min(sorted(self.load), key=self.load.__getitem__)
            try:
                [data] = self.client.scatter([batch], direct=True, workers=[worker], hash=False)
            except (OSError, ValueError):
                self.load = {}  # that worker has gone: ask again next time
            else:
                future = self.client.submit(process_batch, self.config, data, pure=False)
                self.load[worker] += 1
                self.pending[future] = (batch, worker)
                return
        future = self.client.submit(process_batch, self.config, batch, pure=False)
        self.pending[future] = (batch, None)

    def collect(self) -> Iterator[list[ItemResult]]:
        """Results of the batches that finish next (at least one)."""
        done, _ = self.wait(list(self.pending), return_when="FIRST_COMPLETED")
        for future in done:
            batch, worker = self.pending.pop(future)
            if worker is None:
                yield future.result()
                continue
            if worker in self.load:
                self.load[worker] -= 1
            try:
                results = future.result()
            except (Exception, CancelledError, asyncio.CancelledError):
                # The worker holding the bytes left: they are still here.
                self.submit(batch, scatter=False)
                continue
            yield results


def make_executor(jobs: int, cluster: str | None) -> Executor:
    if jobs < 1:
        raise UsageError(f"must be at least 1, got {jobs}", field="jobs")
    if cluster:
        return DaskExecutor(cluster, workers=max(jobs, 2) if cluster == "local" else jobs)
    if jobs == 1:
        return InlineExecutor()
    return ProcessExecutor(jobs)
