"""vPDQ matching through one frame index instead of a bag-of-frames comparison per entry.

A vPDQ match needs at least one query frame within ``VPDQ_MATCH_THRESHOLD`` of a frame of
the compared video (``_decide`` in ``safelight.signals.vpdq`` requires a query percentage
above 0). So the entries worth comparing are exactly those owning a frame that a search of
all their reliable, distinct frames finds near some query frame. The frame index answers
that with one multi-index search per query video; the full bag-of-frames rule then runs only
on those candidates, so results are the same as comparing every entry (a property test holds
the two against each other), while the cost no longer grows with every entry in the lists.

Small sets (under ``VPDQ_FRAME_INDEX_MIN_FRAMES``) skip the index: comparing them all costs
less than loading the index kernels. The index is rebuilt on the Matcher's ``refresh``, in a
private temporary folder that is removed when the matcher goes away.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from safelight.constants import VPDQ_MATCH_THRESHOLD, VPDQ_QUALITY_THRESHOLD
from safelight.index import HammingIndex
from safelight.index.hashes import hex_to_array
from safelight.signals.vpdq import VpdqFeature, match_vpdq, reliable_unique_hashes

# Measured (CPU, 300-frame query): 14 entries x 300 frames compared one by one take 50 ms,
# the index 4 ms to build + 3 ms to search, but its first use in a process also loads the
# index kernels (~0.3 s). Under this many frames comparing all costs a few ms: skip the index.
VPDQ_FRAME_INDEX_MIN_FRAMES = 512


class VpdqCandidates:
    """The vPDQ entries of a matcher, searchable by frame."""

    def __init__(
        self,
        entries: Sequence[tuple[int, list[VpdqFeature]]],
        *,
        min_frames: int = VPDQ_FRAME_INDEX_MIN_FRAMES,
    ) -> None:
        self.entries = list(entries)
        self._by_id = dict(self.entries)
        owners: list[int] = []
        hashes: list[str] = []
        for entry_id, features in self.entries:
            frames = reliable_unique_hashes(features, VPDQ_QUALITY_THRESHOLD)
            owners.extend([entry_id] * len(frames))
            hashes.extend(frames)
        self.frames = len(hashes)
        self._owners = np.asarray(owners, dtype=np.int64)
        self._index: HammingIndex | None = None
        if self.frames and self.frames >= min_frames:
            folder = tempfile.mkdtemp(prefix="safelight-vpdq-frames-")
            # The folder goes with this object, however it is dropped.
            weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            self._index = HammingIndex.build(
                Path(folder) / "frames",
                np.arange(self.frames, dtype=np.int64),
                hex_to_array(hashes),
                signal_type="pdq",
            )

    @property
    def indexed(self) -> bool:
        return self._index is not None

    def candidates(self, query: Sequence[VpdqFeature]) -> list[int]:
        """Entry ids that own a frame near a reliable query frame, in entry order."""
        if self._index is None:
            return [entry_id for entry_id, _ in self.entries]
        frames = reliable_unique_hashes(query, VPDQ_QUALITY_THRESHOLD)
        if not frames:
            return []
        found = self._index.search(frames, VPDQ_MATCH_THRESHOLD)
        rows = {row for hits in found for row, _ in hits}
        owners = set(self._owners[sorted(rows)].tolist()) if rows else set()
        return [entry_id for entry_id, _ in self.entries if entry_id in owners]

    def match(self, query: Sequence[VpdqFeature]) -> dict[int, tuple[float, float]]:
        """Entry id -> (query %, compared %) for every entry the bag-of-frames rule matches."""
        hits: dict[int, tuple[float, float]] = {}
        for entry_id in self.candidates(query):
            result = match_vpdq(query, self._by_id[entry_id])
            if result.matched:
                hits[entry_id] = (result.query_percent, result.compared_percent)
        return hits
