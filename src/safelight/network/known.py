"""Known material: which sighted files are on the chosen hash lists, and with which labels.

Network analysis needs one question answered about each distinct file: is it known, on which
lists, with which labels. ``KnownMaterial`` is that question as a small typed protocol, so the
analysis does not depend on how lists are stored. ``DigestListMatcher`` answers it from list
entries held in memory (exact MD5/SHA-1/SHA-256, PDQ within a Hamming threshold); the adapter
over Safelight's hash-list store builds one from the store's entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from safelight.constants import PDQ_MATCH_THRESHOLD
from safelight.index.hashes import hex_to_array, words


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


class DigestListMatcher:
    """Exact digest matching and PDQ matching (Hamming <= threshold) over list entries.

    Exact entries sit in a hash index keyed ``algorithm:hex``; a lookup is one vectorised
    index probe per algorithm, then a loop over the hits only.
    """

    def __init__(
        self,
        entries: Iterable[ListEntry] | pd.DataFrame,
        description: str = "hash lists",
        pdq_threshold: int = PDQ_MATCH_THRESHOLD,
    ) -> None:
        self.description = description
        self.pdq_threshold = pdq_threshold
        frame = entries if isinstance(entries, pd.DataFrame) else _entries_frame(entries)
        exact = frame[frame["algorithm"] != "pdq"]
        keys = (exact["algorithm"] + ":" + exact["value"]).tolist()
        names = exact["list_name"].tolist()
        labels = exact["labels"].tolist()
        index = pd.Index(keys)
        self._lists: list[tuple[str, ...]]
        self._labels: list[tuple[str, ...]]
        if index.is_unique:  # the usual case: one entry per digest
            self._index = index
            self._lists = [(name,) for name in names]
            self._labels = [tuple(sorted(_split(lab))) if lab else () for lab in labels]
        else:
            merged: dict[str, tuple[set[str], set[str]]] = {}
            for key, name, lab in zip(keys, names, labels, strict=True):
                lists, labs = merged.setdefault(key, (set(), set()))
                lists.add(name)
                labs.update(_split(lab))
            self._index = pd.Index(list(merged))
            self._lists = [tuple(sorted(v[0])) for v in merged.values()]
            self._labels = [tuple(sorted(v[1])) for v in merged.values()]
        pdq = frame[frame["algorithm"] == "pdq"]
        self._pdq_bits = _pack_pdq(pdq["value"].tolist())
        # Each list may set its own PDQ threshold (a "threshold" column); else the default.
        if "threshold" in pdq.columns:
            self._pdq_limits = pdq["threshold"].fillna(pdq_threshold).to_numpy(dtype=np.int64)
        else:
            self._pdq_limits = np.full(len(pdq), pdq_threshold, dtype=np.int64)
        self._pdq_meta = [
            (str(name), _split(str(labels)))
            for name, labels in zip(pdq["list_name"].tolist(), pdq["labels"].tolist(), strict=True)
        ]

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        found: dict[str, tuple[set[str], set[str]]] = {}
        for algorithm in ("md5", "sha1", "sha256"):
            rows = [(f.key, getattr(f, algorithm)) for f in files if getattr(f, algorithm)]
            if not rows or not len(self._index):
                continue
            probe = pd.Index([f"{algorithm}:{value}" for _, value in rows])
            hits = self._index.get_indexer(probe)
            for (key, _), hit in zip(rows, hits.tolist(), strict=True):
                if hit >= 0:
                    lists, labs = found.setdefault(key, (set(), set()))
                    lists.update(self._lists[hit])
                    labs.update(self._labels[hit])
        pdq_queries = [(f.key, f.pdq) for f in files if f.pdq] if self._pdq_meta else []
        if pdq_queries:
            bits = _pack_pdq([q for _, q in pdq_queries])
            for row, (key, _) in enumerate(pdq_queries):
                distance = np.bitwise_count(self._pdq_bits ^ bits[row]).sum(axis=1)
                for hit in np.flatnonzero(distance <= self._pdq_limits).tolist():
                    list_name, labels = self._pdq_meta[hit]
                    lists, labs = found.setdefault(key, (set(), set()))
                    lists.add(list_name)
                    labs.update(labels)
        return {
            key: KnownMatch(tuple(sorted(lists)), tuple(sorted(labs)))
            for key, (lists, labs) in found.items()
        }


def _split(labels: str) -> tuple[str, ...]:
    return tuple(x for x in labels.split(";") if x)


def _entries_frame(entries: Iterable[ListEntry]) -> pd.DataFrame:
    rows = [(e.list_name, e.algorithm, e.value, ";".join(e.labels)) for e in entries]
    return pd.DataFrame(rows, columns=["list_name", "algorithm", "value", "labels"])


def _pack_pdq(hexes: Sequence[str]) -> np.ndarray:
    """64-hex PDQ hashes as (n, 4) uint64 words for XOR + popcount (the index's own helpers)."""
    return words(hex_to_array(hexes))
