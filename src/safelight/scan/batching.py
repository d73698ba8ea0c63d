"""Grouping work items into batches: full batches while the listing runs, smaller ones at the end.

A batch is one task (one pool submission, one Dask task, one store transaction), so batches
should be large: every task costs scheduling, serialisation and a commit whatever it holds.
But the last batches decide when a run ends: if one worker takes a full batch while the other
has nothing left, that worker's batch is the run's tail. So the batcher looks ahead of the
executor by the batches it keeps in flight (two per worker); once the listing has ended and
the remaining items are known, it cuts them into shrinking batches (guided self-scheduling:
each takes the remainder divided by twice the workers), down to ``max_items // 8``, so that
the workers finish together.

Listing stays streamed: the look-ahead is bounded in items and in inline bytes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from safelight.scan.model import WorkItem
from safelight.scan.runs import path_key

# The smallest tail batch, as a fraction of a full one: smaller tasks cost more overhead
# than the idle time they save.
TAIL_DIVISOR = 8


def tail_size(remaining: int, max_items: int, workers: int) -> int:
    if workers <= 1:
        return min(remaining, max_items)
    smallest = max(1, max_items // TAIL_DIVISOR)
    share = -(-remaining // (2 * workers))  # ceil
    return min(remaining, max_items, max(smallest, share))


class Batcher:
    """Groups work items into batches, leaving out those a resumed run already recorded."""

    def __init__(
        self, recorded: set[str], max_items: int, max_bytes: int, workers: int = 1
    ) -> None:
        self.recorded = recorded
        self.max_items = max(1, max_items)
        self.max_bytes = max_bytes
        self.workers = max(1, workers)
        self.skipped = 0

    def _fresh(self, items: Iterator[WorkItem]) -> Iterator[WorkItem]:
        """``items`` without those already recorded (and without a second listing of a path)."""
        for item in items:
            key = path_key(item.logical_path)
            if key in self.recorded:
                self.skipped += 1
                continue
            self.recorded.add(key)
            yield item

    def batches(self, items: Iterator[WorkItem]) -> Iterator[list[WorkItem]]:
        source = self._fresh(items)
        # What the executor keeps in flight (two batches per worker), known ahead.
        window = 2 * self.workers * self.max_items if self.workers > 1 else self.max_items
        ahead: deque[WorkItem] = deque()
        ahead_bytes = 0
        ended = False
        while True:
            while not ended and len(ahead) < window and ahead_bytes < self.max_bytes:
                item = next(source, None)
                if item is None:
                    ended = True
                    break
                ahead.append(item)
                ahead_bytes += item.payload_bytes
            if not ahead:
                return
            size = tail_size(len(ahead), self.max_items, self.workers) if ended else None
            batch: list[WorkItem] = []
            size_bytes = 0
            while ahead and len(batch) < (size or self.max_items) and size_bytes < self.max_bytes:
                item = ahead.popleft()
                batch.append(item)
                size_bytes += item.payload_bytes
            ahead_bytes -= size_bytes
            yield batch
