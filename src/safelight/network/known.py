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

EXACT = ("md5", "sha1", "sha256")


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

    Exact entries sit in a hash index keyed ``algorithm:hex`` (one slot per distinct key, its
    entries listed beside it); a lookup is one vectorised probe per algorithm. A file that
    hits one key on one entry (the usual case) gets the match of that entry's (list, labels),
    built once and shared; only files hitting several keys or PDQ entries merge sets.
    ``lookup_reference`` is the oracle.
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
        keys = (exact["algorithm"].astype(str) + ":" + exact["value"].astype(str)).to_numpy()
        self._index = pd.Index(keys, dtype=object)
        if self._index.is_unique:  # the usual case; the hash table is kept for lookups
            codes, uniques = np.arange(len(keys)), keys
        else:
            codes, uniques = pd.factorize(keys)
            self._index = pd.Index(uniques, dtype=object)
        self._names = exact["list_name"].astype(str).to_numpy(dtype=object)
        self._raw_labels = exact["labels"].astype(str).to_numpy(dtype=object)
        # Entries of key k: _order[_start[k]:_start[k + 1]].
        self._order = np.argsort(codes, kind="stable")
        self._start = np.searchsorted(codes[self._order], np.arange(len(uniques) + 1))
        self._memo: dict[int, KnownMatch] = {}
        # A key with one entry matches as its (list, labels) pair: few distinct pairs, so
        # one shared KnownMatch per pair (-1: a key on several entries, merged by _match).
        name_codes, self._name_values = pd.factorize(self._names)
        label_codes, self._label_values = pd.factorize(self._raw_labels)
        pairs, self._pairs = pd.factorize(
            name_codes * max(len(self._label_values), 1) + label_codes
        )
        single = np.diff(self._start) == 1
        self._key_pair = np.full(len(uniques), -1, dtype=np.int64)
        self._key_pair[single] = pairs[self._order[self._start[:-1][single]]]
        self._pair_memo: dict[int, KnownMatch] = {}
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

    def _match(self, key: int) -> KnownMatch:
        """The lists and labels of one exact key (memoised: popular keys repeat)."""
        found = self._memo.get(key)
        if found is None:
            rows = self._order[self._start[key] : self._start[key + 1]]
            lists = {str(self._names[r]) for r in rows}
            labels = {x for r in rows for x in _split(str(self._raw_labels[r]))}
            found = KnownMatch(tuple(sorted(lists)), tuple(sorted(labels)))
            self._memo[key] = found
        return found

    def _pair_match(self, pair: int) -> KnownMatch:
        found = self._pair_memo.get(pair)
        if found is None:
            name, labels = divmod(int(self._pairs[pair]), max(len(self._label_values), 1))
            found = KnownMatch(
                (str(self._name_values[name]),),
                tuple(sorted(set(_split(str(self._label_values[labels]))))),
            )
            self._pair_memo[pair] = found
        return found

    def _matches(self, slots: np.ndarray) -> list[KnownMatch]:
        """The match of each index slot, one shared object per (list, labels) pair."""
        pairs = self._key_pair[slots]
        distinct, inverse = np.unique(pairs, return_inverse=True)
        shared = [self._pair_match(int(p)) if p >= 0 else None for p in distinct.tolist()]
        out = [shared[i] for i in inverse.tolist()]
        for row in np.flatnonzero(pairs < 0).tolist():
            out[row] = self._match(int(slots[row]))
        return [x for x in out if x is not None]

    def _exact_hits(self, columns: Sequence[Sequence[str]]) -> np.ndarray:
        """(files, 3) index slots hit by each file's md5, sha1, sha256 (-1: none)."""
        hits = np.full((len(columns[0]), 3), -1, dtype=np.int64)
        if not len(self._index):
            return hits
        for column, (algorithm, values) in enumerate(zip(EXACT, columns, strict=True)):
            probe = pd.Index([f"{algorithm}:{v}" for v in values], dtype=object)
            found = self._index.get_indexer(probe)
            found[np.array([not v for v in values], dtype=bool)] = -1
            hits[:, column] = found
        return hits

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        return self.lookup_columns(*file_columns(files))

    def lookup_columns(
        self,
        keys: Sequence[str],
        md5: Sequence[str],
        sha1: Sequence[str],
        sha256: Sequence[str],
        pdq: Sequence[str],
    ) -> dict[str, KnownMatch]:
        """``lookup`` for files given as columns (no FileDigests built per file)."""
        if not len(keys):
            return {}
        key_array = np.array(keys, dtype=object)
        hits = self._exact_hits([md5, sha1, sha256])
        top = hits.max(axis=1)
        single = (top >= 0) & ((hits == top[:, None]) | (hits < 0)).all(axis=1)
        out: dict[str, KnownMatch] = {}
        if len(set(keys)) == len(keys):
            out = dict(zip(key_array[single].tolist(), self._matches(top[single]), strict=True))
            rest = np.flatnonzero((top >= 0) & ~single)
        else:  # a key given twice: merge everything (never the case in the pipeline)
            rest = np.flatnonzero(top >= 0)
        pending: dict[str, tuple[set[str], set[str]]] = {}

        def add(key: str, lists: Iterable[str], labels: Iterable[str]) -> None:
            names, labs = pending.setdefault(key, (set(), set()))
            names.update(lists)
            labs.update(labels)

        for row in rest.tolist():
            for slot in set(hits[row].tolist()) - {-1}:
                match = self._match(slot)
                add(str(key_array[row]), match.lists, match.labels)
        pdq_queries = []
        if self._pdq_meta:
            pdq_queries = [(k, q) for k, q in zip(keys, pdq, strict=True) if q]
        if pdq_queries:
            bits = _pack_pdq([q for _, q in pdq_queries])
            for row, (key, _) in enumerate(pdq_queries):
                distance = np.bitwise_count(self._pdq_bits ^ bits[row]).sum(axis=1)
                for hit in np.flatnonzero(distance <= self._pdq_limits).tolist():
                    list_name, labels = self._pdq_meta[hit]
                    add(key, (list_name,), labels)
        for key, (names, labs) in pending.items():
            if key in out:
                names.update(out[key].lists)
                labs.update(out[key].labels)
            out[key] = KnownMatch(tuple(sorted(names)), tuple(sorted(labs)))
        return out


def file_columns(files: Sequence[FileDigests]) -> list[list[str]]:
    """FileDigests as columns: key, md5, sha1, sha256, pdq (the order of ``lookup_columns``)."""
    return [[getattr(f, name) for f in files] for name in ("key", *EXACT, "pdq")]


def lookup_columns(known: KnownMaterial, columns: Sequence[Sequence[str]]) -> dict[str, KnownMatch]:
    """``known.lookup`` over files given as columns (key, md5, sha1, sha256, pdq): a source
    with its own ``lookup_columns`` (the in-memory matcher, a combination holding one) takes
    the columns as they are; other sources get FileDigests."""
    by_columns = getattr(known, "lookup_columns", None)
    if by_columns is not None:
        found: dict[str, KnownMatch] = by_columns(*columns)
        return found
    return known.lookup([FileDigests(*values) for values in zip(*columns, strict=True)])


def lookup_reference(
    entries: Iterable[ListEntry],
    files: Sequence[FileDigests],
    pdq_threshold: int = PDQ_MATCH_THRESHOLD,
) -> dict[str, KnownMatch]:
    """The oracle for ``DigestListMatcher.lookup``: every file against every entry."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    entries = list(entries)
    for item in files:
        for entry in entries:
            value = getattr(item, entry.algorithm)
            if not value:
                continue
            if entry.algorithm == "pdq":
                distance = bin(int(value, 16) ^ int(entry.value, 16)).count("1")
                hit = distance <= pdq_threshold
            else:
                hit = value == entry.value
            if hit:
                lists, labels = found.setdefault(item.key, (set(), set()))
                lists.add(entry.list_name)
                labels.update(entry.labels)
    return {k: KnownMatch(tuple(sorted(a)), tuple(sorted(b))) for k, (a, b) in found.items()}


def _split(labels: str) -> tuple[str, ...]:
    return tuple(x for x in labels.split(";") if x)


def _entries_frame(entries: Iterable[ListEntry]) -> pd.DataFrame:
    rows = [(e.list_name, e.algorithm, e.value, ";".join(e.labels)) for e in entries]
    return pd.DataFrame(rows, columns=["list_name", "algorithm", "value", "labels"])


def _pack_pdq(hexes: Sequence[str]) -> np.ndarray:
    """64-hex PDQ hashes as (n, 4) uint64 words for XOR + popcount (the index's own helpers)."""
    return words(hex_to_array(hexes))
