"""Dask: a LocalCluster tuned for CPU-bound batches, or a running scheduler's workers.

``connect(workers)`` is the one way in, for scan and network alike. Imported on use only:
work that never touches Dask should not pay for importing it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from safelight.errors import UsageError
from safelight.workers.choice import LOCAL, Workers

# How long to wait for a Dask scheduler before giving up (Dask's own default is 30 s).
CONNECT_TIMEOUT = "20s"
# Dask settings for the LocalCluster we start ourselves (a remote cluster keeps its own):
# * Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (to hand freed memory back
#   to the OS). Setting any glibc malloc threshold turns off glibc's adaptive mmap threshold,
#   so every buffer over 128 KiB (a decoded photo's planes) is a fresh mmap, page-faulted in
#   and unmapped again: ~235 faults and ~0.4 ms of system CPU per 1024x768 photo, 10% of its
#   hashing. Unset (None) it, as in a process pool's workers.
# * The workers' statistical profiler samples running tasks every 10 ms for a dashboard that
#   our cluster does not serve.
# * Housekeeping timers, slower: memory checks every 1 s instead of 100 ms (our memory is
#   bounded by the tasks in flight), system metrics every 2 s instead of 0.5 s (for the
#   dashboard), event-loop health every 200 ms instead of 20 ms. An idle 2-worker cluster then
#   costs ~17 ms of CPU per second instead of ~50 (scheduler and nannies run in this process).
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",
}
_MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"


def distributed_module() -> Any:
    import distributed

    return distributed


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


def worker_settings() -> dict[str, Any]:
    """What a worker process runs with (tests check the LocalCluster's settings)."""
    import dask

    return {
        _MALLOC_TRIM: os.environ.get(_MALLOC_TRIM),
        "profile": dask.config.get("distributed.worker.profile.enabled"),
    }


def start_local_cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` single-threaded processes with ``LOCAL_CLUSTER_CONFIG``."""
    distributed = distributed_module()
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


class Cluster:
    """A client of the chosen cluster, and the LocalCluster behind it if we started one."""

    def __init__(self, workers: Workers) -> None:
        if workers.cluster is None:
            raise UsageError("no Dask cluster chosen")
        distributed = distributed_module()
        self.local: Any = None
        if workers.cluster == LOCAL:
            self.local = start_local_cluster(workers.local_cluster_size)
            try:
                # We can reach the workers we started: results come straight from them
                # rather than through the scheduler (which, here, is this process too).
                self.client: Any = distributed.Client(self.local, direct_to_workers=True)
            except BaseException:
                self.local.close()
                raise
        else:
            try:
                self.client = distributed.Client(workers.cluster, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                raise UsageError(f"cannot reach Dask scheduler {workers.cluster!r}: {exc}") from exc

    @property
    def size(self) -> int:
        """Workers the scheduler knows now (at least 1)."""
        return max(1, len(self.client.scheduler_info()["workers"]))

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            self.local.close()


@contextmanager
def connect(workers: Workers) -> Iterator[Cluster]:
    cluster = Cluster(workers)
    try:
        yield cluster
    finally:
        cluster.close()
