"""Matching hash records against hash lists, in a worker, from index directories.

``Matcher`` is the seam. ``IndexMatcher`` opens the directories ``indexes.prepare_indexes``
built from the store (memory-mapped ``HammingIndex`` for PDQ, ``DigestIndex`` for digests, the
list's vPDQ videos) and needs no database: workers on a cluster reach only shared storage.
A match names the list and the entry id; the scanning process adds the entry's labels from
the store (``HashListStore.entries_by_ids``) before recording it.

Rules: digests match exactly; PDQ within the list's threshold (31 unless the list says
otherwise) and only for quality >= 50, as HMA; a video matches a vPDQ entry by
``safelight.signals.vpdq.match_vpdq`` (frames within 31 bits, compared >= 80%).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from safelight.constants import PDQ_MIN_QUALITY
from safelight.index import DigestIndex, HammingIndex
from safelight.scan.indexes import DIGEST_TYPES, IndexSpec
from safelight.scan.model import HashRecord, Match
from safelight.signals.vpdq import VpdqFeature, match_vpdq


class Matcher(Protocol):
    def match(self, record: HashRecord) -> tuple[Match, ...]:
        """Every list entry ``record`` matches, in a stable order."""
        ...


def _list_features(features: list[str]) -> list[VpdqFeature]:
    out = []
    for frame, feature in enumerate(features):
        pdq, quality, timestamp = feature.split(",")
        out.append(VpdqFeature(frame, float(timestamp), pdq, int(quality)))
    return out


class _OpenList:
    def __init__(self, spec: IndexSpec) -> None:
        self.name = spec.list_name
        self.threshold = spec.pdq_threshold
        directory = Path(spec.directory)
        self.pdq = HammingIndex.open(directory / "pdq") if (directory / "pdq").exists() else None
        self.digests = {
            signal_type: DigestIndex.open(directory / signal_type)
            for signal_type in DIGEST_TYPES
            if (directory / signal_type).exists()
        }
        self.videos: list[tuple[int, list[VpdqFeature]]] = []
        videos = directory / "vpdq.jsonl"
        if videos.exists():
            with open(videos, encoding="utf-8") as handle:
                for line in handle:
                    item = json.loads(line)
                    self.videos.append((int(item["id"]), _list_features(item["features"])))


class IndexMatcher:
    def __init__(self, specs: Sequence[IndexSpec]) -> None:
        self.lists = [_OpenList(spec) for spec in specs if spec.enabled]

    def match(self, record: HashRecord) -> tuple[Match, ...]:
        found: list[Match] = []
        digests = {"md5": record.md5, "sha1": record.sha1, "sha256": record.sha256}
        pdq_usable = record.pdq is not None and (record.quality or 0) >= PDQ_MIN_QUALITY
        video = _scanned_features(record.vpdq) if record.vpdq else None
        for open_list in self.lists:
            for signal_type, index in open_list.digests.items():
                value = digests[signal_type]
                if value is not None:
                    for entry_id, _ in index.lookup([value])[0]:
                        found.append(Match(open_list.name, entry_id, signal_type, 0))
            if pdq_usable and open_list.pdq is not None:
                for entry_id, distance in open_list.pdq.search([record.pdq], open_list.threshold)[
                    0
                ]:
                    found.append(Match(open_list.name, entry_id, "pdq", distance))
            if video:
                for entry_id, compared in open_list.videos:
                    result = match_vpdq(video, compared)
                    if result.matched:
                        found.append(
                            Match(
                                open_list.name,
                                entry_id,
                                "vpdq",
                                0,
                                query_percent=round(result.query_percent, 2),
                                compared_percent=round(result.compared_percent, 2),
                            )
                        )
        found.sort(key=lambda m: (m.list_name, m.entry_id, m.signal_type))
        return tuple(found)


def _scanned_features(vpdq_json: str) -> list[VpdqFeature]:
    return [
        VpdqFeature(f["frame"], f["timestamp"], f["pdq"], f["quality"])
        for f in json.loads(vpdq_json)
    ]
