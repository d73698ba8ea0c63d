"""Scanning at scale: folders, archives, manifests and object storage, matched against hash
lists, on one machine (``--jobs``) or a Dask cluster, resumable after a crash.

The pieces, in the order data flows through them:

* ``sources`` and ``archives`` expand SOURCE arguments into ``WorkItem``s (never extracting
  anything to disk);
* ``pipeline`` hashes (``ItemHasher``) and matches (``Matcher``) a batch of items, in this
  process, a worker process or a Dask worker;
* ``runner`` drives a run: batches, executors, the store (``runs``), JSONL output, resume.
"""

from typing import TYPE_CHECKING, Any

from safelight.match.results import Match
from safelight.scan.model import ItemResult, WorkItem
from safelight.signals.records import HashRecord

if TYPE_CHECKING:
    from safelight.scan.runner import ScanOptions, ScanSummary, run_scan


def __getattr__(name: str) -> Any:
    # The runner pulls in the hashing pipeline (Pillow, numba): load it on first use only.
    if name in {"ScanOptions", "ScanSummary", "run_scan"}:
        from safelight.scan import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'safelight.scan' has no attribute {name!r}")


__all__ = [
    "HashRecord",
    "ItemResult",
    "Match",
    "ScanOptions",
    "ScanSummary",
    "WorkItem",
    "run_scan",
]
