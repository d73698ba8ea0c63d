"""Scanning at scale: folders, archives, manifests and object storage, matched against hash
lists, on one machine (``--jobs``) or a Dask cluster, resumable after a crash.

The pieces, in the order data flows through them:

* ``sources`` and ``archives`` expand SOURCE arguments into ``WorkItem``s (never extracting
  anything to disk);
* ``pipeline`` hashes (``ItemHasher``) and matches (``Matcher``) a batch of items, in this
  process, a worker process or a Dask worker;
* ``runner`` drives a run: batches, executors, the store (``runs``), JSONL output, resume.
"""

from safelight.scan.model import HashRecord, ItemResult, Match, WorkItem
from safelight.scan.runner import ScanOptions, ScanSummary, run_scan

__all__ = [
    "HashRecord",
    "ItemResult",
    "Match",
    "ScanOptions",
    "ScanSummary",
    "WorkItem",
    "run_scan",
]
