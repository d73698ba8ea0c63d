"""Where a scan's batches run: this process, local worker processes or Dask.

Workers are started, sized and shut down by the shared layer (``safelight.workers``: the
forkserver pool, the tuned LocalCluster or a scheduler); what is a scan's own stays here.
Every executor runs ``pipeline.process_batch`` and keeps a bounded number of batches in flight
(twice the workers), so memory stays flat however large the source and a crash loses little.
Results come back in completion order; the runner records them as they arrive. On the scan's
own LocalCluster, batches carrying bytes go straight to the least-loaded worker (``_DaskRun``).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from concurrent.futures import CancelledError, ProcessPoolExecutor
from functools import partial
from typing import Any, Protocol

from safelight.scan.model import ItemResult, WorkItem
from safelight.scan.pipeline import PipelineConfig, pipeline_for, process_batch
from safelight.workers import Workers, processes

Batch = list[WorkItem]
# Batches in flight per worker: one running, one queued behind it.
IN_FLIGHT_PER_WORKER = 2
# Imported once into the forkserver, so scan workers fork with the hashing and matching code
# loaded and the PDQ kernels warm.
WORKER_PRELOAD = ("safelight.signals.worker", "safelight.scan.pipeline")


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


class ProcessExecutor:
    """Local worker processes (``safelight.workers.processes``), each with the run's lists
    open before it takes its first batch."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.config: PipelineConfig | None = None

    def prepare(self, config: PipelineConfig) -> None:
        if self.pool is not None and self.config == config:
            return
        self.close()
        self.pool = processes.new_pool(
            self.workers,
            preload=WORKER_PRELOAD,
            initializer=_start_worker,
            initargs=(config,),
        )
        self.config = config

    def run(self, config: PipelineConfig, batches: Iterator[Batch]) -> Iterator[list[ItemResult]]:
        self.prepare(config)
        assert self.pool is not None
        yield from processes.unordered(
            self.pool,
            partial(process_batch, config),
            batches,
            in_flight=IN_FLIGHT_PER_WORKER * self.workers,
        )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class DaskExecutor:
    """Batches as tasks on a Dask cluster (``safelight.workers.cluster``): ``local`` starts
    a LocalCluster of ``workers`` processes, an address uses that scheduler's workers.

    Tasks carry the small ``PipelineConfig`` (list paths and generations); each worker builds
    its matcher once from shared storage and caches it (``pipeline.pipeline_for``).
    """

    def __init__(self, address: str, workers: int) -> None:
        from safelight.workers.cluster import Cluster

        self.cluster = Cluster(Workers(workers, address))
        self.client: Any = self.cluster.client
        self.workers = self.cluster.size

    def prepare(self, config: PipelineConfig) -> None:
        # Runs on every worker at once: each opens the index from shared storage in parallel.
        self.client.run(_warm, config)

    def run(self, config: PipelineConfig, batches: Iterator[Batch]) -> Iterator[list[ItemResult]]:
        from safelight.workers.cluster import distributed_module

        # Only for the LocalCluster it started is the client sure to reach the workers.
        scatter = self.cluster.local is not None
        runner = _DaskRun(self.client, distributed_module().wait, config, scatter=scatter)
        for batch in batches:
            runner.submit(batch)
            while len(runner.pending) >= IN_FLIGHT_PER_WORKER * self.workers:
                yield from runner.collect()
        while runner.pending:
            yield from runner.collect()

    def close(self) -> None:
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


def make_executor(jobs: int | None, cluster: str | None) -> Executor:
    """The executor for ``safelight.workers.Workers(jobs, cluster)``."""
    workers = Workers(jobs, cluster)
    if workers.cluster is not None:
        return DaskExecutor(workers.cluster, workers.count)
    if workers.kind == "processes":
        return ProcessExecutor(workers.count)
    return InlineExecutor()
