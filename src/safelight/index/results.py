"""Search results for a batch of queries, in compressed sparse row form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Matches of query ``i`` are ``ids[offsets[i]:offsets[i+1]]`` with their ``distances``,
    sorted by (distance, id). Digest lookups report distance 0."""

    offsets: npt.NDArray[np.int64]
    ids: npt.NDArray[np.int64]
    distances: npt.NDArray[np.int32]

    @classmethod
    def from_triples(
        cls, queries: int, qidx: np.ndarray, ids: np.ndarray, distances: np.ndarray
    ) -> SearchResult:
        """Build from unordered (query index, id, distance) triples."""
        order = np.lexsort((ids, distances, qidx))
        counts = np.bincount(qidx, minlength=queries) if qidx.size else np.zeros(queries, np.int64)
        offsets = np.zeros(queries + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(
            offsets,
            np.ascontiguousarray(ids[order], dtype=np.int64),
            np.ascontiguousarray(distances[order], dtype=np.int32),
        )

    def __len__(self) -> int:
        return self.offsets.size - 1

    def __getitem__(self, query: int) -> list[tuple[int, int]]:
        if not -len(self) <= query < len(self):
            raise IndexError(f"query {query} out of range for {len(self)} queries")
        query %= len(self)
        start, stop = int(self.offsets[query]), int(self.offsets[query + 1])
        return list(
            zip(self.ids[start:stop].tolist(), self.distances[start:stop].tolist(), strict=True)
        )

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for query in range(len(self)):
            yield self[query]

    def to_lists(self) -> list[list[tuple[int, int]]]:
        """One list of (id, distance) per query."""
        return list(self)

    @property
    def total(self) -> int:
        """Matches over all queries."""
        return int(self.ids.size)
