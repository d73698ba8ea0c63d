"""Where work runs: in this process, in local worker processes, or on a Dask cluster.

One layer for every front that spreads work (``hash``, ``match``, ``scan``, ``network``):
``Workers(jobs, cluster)`` is the one way to choose, and the modules below are the one place
that knows how to start, size, feed and shut down workers. What a domain does with them
(hash's chunks streamed in input order, scan's batches and its byte routing, network's maps)
stays in that domain, built on these pieces. Nothing here imports a domain package.

* ``choice``: ``Workers``, ``DEFAULT_JOBS``, ``usable_cpus``.
* ``processes``: the forkserver process pool (warm preloads, the calling script run once),
  bounded in-flight tasks, results in input or completion order, a crashing item isolated.
* ``cluster``: Dask, a tuned LocalCluster or a scheduler address.
* ``mapping``: ``map(fn, items, **shared)`` on any of the three (network's maps).
"""

from __future__ import annotations

from safelight.workers.choice import DEFAULT_JOBS, LOCAL_CLUSTER_MIN_WORKERS, Workers, usable_cpus

__all__ = ["DEFAULT_JOBS", "LOCAL_CLUSTER_MIN_WORKERS", "Workers", "usable_cpus"]
