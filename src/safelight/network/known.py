"""Known material: which sighted files are on the chosen hash lists, and with which labels.

Network analysis needs one question answered about each distinct file: is it known, on which
lists, with which labels. ``KnownMaterial`` is that question as a small typed protocol, so the
analysis does not depend on how lists are stored. ``DigestListMatcher`` answers it from list
entries held in memory (exact MD5/SHA-1/SHA-256, PDQ within a Hamming threshold); the adapter
over Safelight's hash-list store builds one from the store's entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from safelight.constants import PDQ_MATCH_THRESHOLD


@dataclass(frozen=True, slots=True)
class FileDigests:
    """Every digest seen for one file; ``key`` is the file's id in the analysis."""

    key: str
    md5: str = ""
    sha1: str = ""
    sha256: str = ""
    pdq: str = ""


@dataclass(frozen=True, slots=True)
class KnownMatch:
    lists: tuple[str, ...]
    labels: tuple[str, ...]


class KnownMaterial(Protocol):
    """Looks files up on hash lists. ``description`` says which lists, for reports."""

    description: str

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        """file key -> match, for the files that are known; unknown files are absent."""
        ...


class NoKnownMaterial:
    """No lists chosen or none exist: nothing is known, and reports say so."""

    description = "no hash lists: every file counts as unknown"

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        return {}


@dataclass(frozen=True, slots=True)
class ListEntry:
    list_name: str
    algorithm: str  # md5 | sha1 | sha256 | pdq
    value: str  # lower-case hex
    labels: tuple[str, ...] = ()


@dataclass
class DigestListMatcher:
    """Exact digest matching and PDQ matching (Hamming <= threshold) over list entries."""

    entries: Iterable[ListEntry]
    description: str = "hash lists"
    pdq_threshold: int = PDQ_MATCH_THRESHOLD
    _exact: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = field(
        init=False, default_factory=dict
    )
    _pdq_bits: np.ndarray = field(init=False)
    _pdq_meta: list[tuple[str, tuple[str, ...]]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        pdq_hex: list[str] = []
        for entry in self.entries:
            if entry.algorithm == "pdq":
                pdq_hex.append(entry.value)
                self._pdq_meta.append((entry.list_name, entry.labels))
            else:
                key = (entry.algorithm, entry.value)
                self._exact.setdefault(key, []).append((entry.list_name, entry.labels))
        self._pdq_bits = _pack_pdq(pdq_hex)

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        found: dict[str, tuple[set[str], set[str]]] = {}
        pdq_queries: list[tuple[str, str]] = []
        for f in files:
            for algorithm in ("md5", "sha1", "sha256"):
                value = getattr(f, algorithm)
                for list_name, labels in self._exact.get((algorithm, value), ()) if value else ():
                    lists, labs = found.setdefault(f.key, (set(), set()))
                    lists.add(list_name)
                    labs.update(labels)
            if f.pdq and len(self._pdq_meta):
                pdq_queries.append((f.key, f.pdq))
        if pdq_queries:
            bits = _pack_pdq([q for _, q in pdq_queries])
            for row, (key, _) in enumerate(pdq_queries):
                distance = np.bitwise_count(self._pdq_bits ^ bits[row]).sum(axis=1)
                for hit in np.flatnonzero(distance <= self.pdq_threshold).tolist():
                    list_name, labels = self._pdq_meta[hit]
                    lists, labs = found.setdefault(key, (set(), set()))
                    lists.add(list_name)
                    labs.update(labels)
        return {
            key: KnownMatch(tuple(sorted(lists)), tuple(sorted(labs)))
            for key, (lists, labs) in found.items()
        }


def _pack_pdq(hexes: Sequence[str]) -> np.ndarray:
    """64-hex PDQ hashes as an (n, 4) uint64 array for XOR + popcount distances."""
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").reshape(len(hexes), 4)
    return raw.astype(np.uint64)
