"""Entries the match index does not serve yet, searched beside it.

A change reaches a worker's state (the ``LookupState`` overlay) within a poll; the shared
index files catch up a moment later, in the engine's maintenance thread (after a deleted
list, a rebuild that takes minutes at 10M). Until then the overlay rows the index lacks (or
hides: an entry enabled again) are searched here, by brute force: they are few (compaction
folds the overlay away), so a new entry matches as soon as the state holds it, whatever the
index is doing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from safelight.index import HammingIndex
from safelight.index.results import SearchResult
from safelight.match.indexes import Index
from safelight.service.lookup_state import I64, EntryTable, no_ids

# Query x pending-row pairs compared per step: bounds the temporary arrays (~8 MB).
_PAIRS_PER_STEP = 1 << 18
Triples = tuple[I64, I64, npt.NDArray[np.int32]]


@dataclass(frozen=True, slots=True)
class Pending:
    """Rows of one signal type the index lacks: ids and keys, searched by brute force."""

    ids: I64
    keys: npt.NDArray[np.uint8]
    exact: bool

    @classmethod
    def of(cls, overlay: EntryTable | None, index: Index) -> Pending:
        exact = not isinstance(index, HammingIndex)
        if overlay is None or not len(overlay):
            return cls(no_ids(), np.zeros((0, index.key_width), np.uint8), exact)
        # Not held, or held but hidden (disabled or removed there, enabled again here).
        missing = ~index.contains(overlay.ids)
        keys = np.ascontiguousarray(overlay.keys[missing])
        return cls(np.ascontiguousarray(overlay.ids[missing]), keys, exact)

    def __len__(self) -> int:
        return int(self.ids.size)

    def search(self, queries: npt.NDArray[np.uint8], threshold: int) -> Triples:
        """(query index, id, distance) of every pending row within ``threshold`` of a
        query (0 for exact types)."""
        if not len(self) or not len(queries):
            return no_ids(), no_ids(), np.zeros(0, np.int32)
        mine = self.keys.view(np.uint8)
        theirs = np.ascontiguousarray(queries)
        if not self.exact:
            mine, theirs = mine.view(np.uint64), theirs.view(np.uint64)
        step = max(1, _PAIRS_PER_STEP // len(self))
        found_q, found_r, found_d = [], [], []
        for start in range(0, len(theirs), step):
            block = theirs[start : start + step, None, :]
            if self.exact:
                distance = np.where((block == mine[None]).all(axis=2), 0, 1)
                near = distance == 0
            else:
                distance = np.bitwise_count(block ^ mine[None]).sum(axis=2, dtype=np.int32)
                near = distance <= threshold
            q, r = np.nonzero(near)
            found_q.append(q + start)
            found_r.append(r)
            found_d.append(distance[q, r].astype(np.int32))
        rows = np.concatenate(found_r)
        return np.concatenate(found_q).astype(np.int64), self.ids[rows], np.concatenate(found_d)


def combined(found: SearchResult, extra: Triples) -> SearchResult:
    """The index's result with the pending rows' matches added (an id the index has come to
    hold meanwhile is reported once)."""
    if not extra[0].size:
        return found
    queries = len(found)
    counts = np.diff(found.offsets)
    qidx = np.concatenate([np.repeat(np.arange(queries), counts), extra[0]])
    ids = np.concatenate([found.ids, extra[1]])
    distances = np.concatenate([found.distances, extra[2]])
    _, first = np.unique(np.stack([qidx, ids]), axis=1, return_index=True)
    return SearchResult.from_triples(queries, qidx[first], ids[first], distances[first])
