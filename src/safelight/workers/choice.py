"""The one way to choose where work runs: ``Workers(jobs, cluster)``.

* ``cluster`` given: Dask. ``"local"`` starts a LocalCluster on this machine with ``jobs``
  workers (at least ``LOCAL_CLUSTER_MIN_WORKERS``); an address (``tcp://host:8786``) uses that
  scheduler's workers as they are.
* else ``jobs`` above 1: that many local worker processes.
* else: this process (no workers to start, nothing to pickle).

``jobs=None`` is ``DEFAULT_JOBS``: every CPU this process may run on. Library calls take
``jobs=1`` unless told otherwise: a process pool needs the calling script to guard its
entry point (``if __name__ == "__main__":``), so a library never starts one unasked.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from safelight.errors import UsageError

# What the fronts use when no job count is given: None, resolved to ``usable_cpus()`` (the
# work is CPU-bound; one process per core the scheduler lets us use).
DEFAULT_JOBS: int | None = None
# A LocalCluster of one worker only adds Dask's overhead to running inline.
LOCAL_CLUSTER_MIN_WORKERS = 2
LOCAL = "local"
_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")

Kind = Literal["inline", "processes", "dask"]


def usable_cpus() -> int:
    """Cores this process may run on (respects CPU affinity and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Workers:
    """Where to run: ``jobs`` local workers (None: every usable CPU), or a Dask ``cluster``."""

    jobs: int | None = 1
    cluster: str | None = None

    def __post_init__(self) -> None:
        if self.jobs is not None and self.jobs < 1:
            raise UsageError(f"must be 1 or more, got {self.jobs}", field="jobs")
        if self.cluster is not None and not (self.cluster == LOCAL or _ADDRESS.match(self.cluster)):
            raise UsageError(
                f"{self.cluster!r}: use 'local' or a scheduler address such as tcp://host:8786",
                field="cluster",
            )

    @property
    def count(self) -> int:
        """The job count asked for, ``DEFAULT_JOBS`` resolved."""
        return self.jobs if self.jobs is not None else usable_cpus()

    @property
    def kind(self) -> Kind:
        if self.cluster is not None:
            return "dask"
        return "processes" if self.count > 1 else "inline"

    @property
    def local_cluster_size(self) -> int:
        """Workers of the LocalCluster that ``cluster="local"`` starts."""
        return max(self.count, LOCAL_CLUSTER_MIN_WORKERS)
