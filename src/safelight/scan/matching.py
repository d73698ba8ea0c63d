"""Matching hash records against lists.

``Matcher`` is the seam; ``HashFileMatcher`` is the interim real matcher (an exact digest
dictionary plus an exact Hamming index for PDQ) built from hash files, until ``safelight.lists``
and ``safelight.index`` land. PDQ search uses exact multi-index hashing (``mih.py``). A hash file
has one entry per line::

    # type,value[,label;label...]
    pdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,known;series-x
    md5,d41d8cd98f00b204e9800998ecf8427e
    vpdq,videos/known-clip.txt,series-b

A ``vpdq`` entry names a vPDQ hash file (relative to the hash file); a scanned video matches
it by the bag-of-frames rule of ``safelight.signals.vpdq.match_vpdq``. An entry's id is its
line number, so ids are stable while the file is unchanged. A list is described to workers by
a ``ListSpec`` (name, path, generation): small and picklable, so a worker opens the file
itself and caches what it built under that key.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from safelight.constants import (
    DIGEST_HEX_LENGTHS,
    PDQ_HEX_LENGTH,
    PDQ_MATCH_THRESHOLD,
    PDQ_MIN_QUALITY,
)
from safelight.errors import InputError, NotFoundError, ValidationError
from safelight.scan.hamming import hashes_to_matrix
from safelight.scan.mih import PdqMultiIndex
from safelight.scan.model import HashRecord, Match
from safelight.signals.vpdq import VpdqFeature, match_vpdq
from safelight.signals.vpdq_io import read_vpdq_file

SIGNAL_TYPES = ("pdq", "vpdq", *DIGEST_HEX_LENGTHS)
_HEX = re.compile(r"^[0-9a-f]+$")
_MAX_PROBLEMS = 20


class Matcher(Protocol):
    def match(self, record: HashRecord) -> tuple[Match, ...]:
        """Every list entry ``record`` matches, in a stable order."""
        ...


@dataclass(frozen=True, slots=True)
class ListSpec:
    name: str
    path: str
    generation: str

    @classmethod
    def of(cls, name: str, path: Path) -> ListSpec:
        stat = path.stat()
        return cls(name, str(path.resolve()), f"{stat.st_mtime_ns}:{stat.st_size}")


def resolve_list(name_or_path: str, home: Path) -> ListSpec:
    """A list given as a hash file path, or by name as ``$SAFELIGHT_HOME/hashlists/NAME.csv``."""
    path = Path(name_or_path)
    if path.is_file():
        return ListSpec.of(path.stem, path)
    named = home / "hashlists" / f"{name_or_path}.csv"
    if named.is_file():
        return ListSpec.of(name_or_path, named)
    raise NotFoundError(
        f"list {name_or_path!r} not found: neither a hash file nor {named}", code="list_not_found"
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    entry_id: int
    labels: tuple[str, ...]


class _ListIndex:
    def __init__(self, name: str) -> None:
        self.name = name
        self.digests: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
        self.pdq_entries: list[_Entry] = []
        self.pdq_hex: list[str] = []
        self.videos: list[tuple[_Entry, list[VpdqFeature]]] = []

    def add(self, signal_type: str, value: str, entry: _Entry) -> None:
        if signal_type == "pdq":
            self.pdq_entries.append(entry)
            self.pdq_hex.append(value)
        else:
            self.digests[(signal_type, value)].append(entry)


def _parse_line(line: str) -> tuple[str, str, tuple[str, ...]]:
    parts = [part.strip() for part in line.split(",", 2)]
    if len(parts) < 2:
        raise ValueError("expected 'type,value[,labels]'")
    signal_type, value = parts[0].lower(), parts[1].lower()
    if signal_type not in SIGNAL_TYPES:
        raise ValueError(f"unknown type {parts[0]!r} (expected one of {', '.join(SIGNAL_TYPES)})")
    raw_labels = parts[2].split(";") if len(parts) > 2 else []
    labels = tuple(sorted({label.strip() for label in raw_labels if label.strip()}))
    if signal_type == "vpdq":
        # The value names a vPDQ hash file (frame,quality,pdq,timestamp lines).
        if not parts[1]:
            raise ValueError("vpdq value must name a vPDQ hash file")
        return signal_type, parts[1], labels
    length = PDQ_HEX_LENGTH if signal_type == "pdq" else DIGEST_HEX_LENGTHS[signal_type]
    if len(value) != length or not _HEX.match(value):
        raise ValueError(f"{signal_type} value must be {length} hex characters, got {parts[1]!r}")
    return signal_type, value, labels


def load_hash_file(spec: ListSpec) -> _ListIndex:
    index = _ListIndex(spec.name)
    problems: list[tuple[str, str]] = []
    with open(spec.path, encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                signal_type, value, labels = _parse_line(line)
                if signal_type == "vpdq":
                    video = Path(spec.path).parent / value
                    index.videos.append((_Entry(number, labels), read_vpdq_file(video)))
                    continue
            except (ValueError, InputError) as exc:
                if len(problems) < _MAX_PROBLEMS:
                    reason = exc.message if isinstance(exc, InputError) else str(exc)
                    problems.append((f"{spec.path}:{number}", reason))
                continue
            index.add(signal_type, value, _Entry(number, labels))
    if problems:
        raise ValidationError(f"hash file {spec.path} has invalid lines", problems)
    return index


class HashFileMatcher:
    """Exact digest lookups and PDQ within ``threshold`` bits (only for quality >= 50)."""

    def __init__(self, specs: Sequence[ListSpec], *, threshold: int = PDQ_MATCH_THRESHOLD) -> None:
        self.threshold = threshold
        self.lists = [load_hash_file(spec) for spec in specs]
        self.indexes = [PdqMultiIndex(hashes_to_matrix(index.pdq_hex)) for index in self.lists]

    def match(self, record: HashRecord) -> tuple[Match, ...]:
        found: list[Match] = []
        values = (("md5", record.md5), ("sha1", record.sha1), ("sha256", record.sha256))
        pdq_usable = record.pdq is not None and (record.quality or 0) >= PDQ_MIN_QUALITY
        query = hashes_to_matrix([record.pdq])[0] if pdq_usable and record.pdq else None
        for index, pdq_index in zip(self.lists, self.indexes, strict=True):
            for signal_type, value in values:
                if value is None:
                    continue
                for entry in index.digests.get((signal_type, value), ()):
                    found.append(Match(index.name, entry.entry_id, signal_type, 0, entry.labels))
            if query is not None and len(pdq_index):
                rows, distances = pdq_index.within(query, self.threshold)
                for row, distance in zip(rows.tolist(), distances.tolist(), strict=True):
                    entry = index.pdq_entries[row]
                    found.append(Match(index.name, entry.entry_id, "pdq", distance, entry.labels))
            if record.vpdq and index.videos:
                found.extend(self._match_video(index, record.vpdq))
        found.sort(key=lambda m: (m.list_name, m.entry_id, m.signal_type))
        return tuple(found)

    def _match_video(self, index: _ListIndex, vpdq_json: str) -> list[Match]:
        # Bag-of-frames match of a scanned video against every vPDQ entry (interim: a scan
        # over the list's videos; the index work replaces it with a frame-hash index).
        query = [
            VpdqFeature(f["frame"], f["timestamp"], f["pdq"], f["quality"])
            for f in json.loads(vpdq_json)
        ]
        found = []
        for entry, compared in index.videos:
            result = match_vpdq(query, compared)
            if result.matched:
                found.append(
                    Match(
                        index.name,
                        entry.entry_id,
                        "vpdq",
                        0,
                        entry.labels,
                        query_percent=round(result.query_percent, 2),
                        compared_percent=round(result.compared_percent, 2),
                    )
                )
        return found


def write_hash_file(path: Path, entries: Sequence[tuple[str, str, Sequence[str]]]) -> None:
    """Write entries (type, value, labels) as a hash file the matcher reads."""
    lines = ["# type,value,labels"]
    for signal_type, value, labels in entries:
        lines.append(f"{signal_type},{value},{';'.join(labels)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


__all__ = [
    "HashFileMatcher",
    "ListSpec",
    "Matcher",
    "load_hash_file",
    "resolve_list",
    "write_hash_file",
]
