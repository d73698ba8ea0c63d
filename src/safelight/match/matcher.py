"""``Matcher``: hashes and hashed files against the hash lists, through indexes kept in step.

    matcher = Matcher.open(db)                          # every enabled list, list thresholds
    matcher.match_hashes([("pdq", hex), ("md5", hex)])  # -> [[Match, ...], ...]
    matcher.match_record(record)                        # a HashRecord from safelight.signals

The store is the authority on what may match: every index hit is checked against
``entries_by_ids`` (list selected and enabled, entry enabled now, within its list's
threshold) before it is reported, so a hit from an index a moment behind is never served.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from safelight.constants import MATCH_MIN_QUALITY
from safelight.errors import IndexCorruptError, ItemError, UsageError
from safelight.index import SearchResult, check_threshold, parse_hex
from safelight.lists.models import Entry, HashList
from safelight.lists.store import HashListStore
from safelight.match.indexes import Index, IndexSync, Warn, indexed_types
from safelight.match.results import Match, sort_matches
from safelight.match.rules import Ruled, apply_rules
from safelight.signals.hashes import features_of_value
from safelight.signals.types import registry
from safelight.store import Database

if TYPE_CHECKING:
    # Imported where used: the photo/video signal modules pull in Pillow and the PDQ kernels
    # (about half a second), which a ``match --hash`` run never needs.
    from safelight.match.flood import FloodCounter
    from safelight.match.vpdq_frames import VpdqCandidates
    from safelight.signals.hashes import VpdqFeature
    from safelight.signals.records import HashRecord


@dataclass(frozen=True, slots=True)
class QueryResult:
    """What ``match`` reports for one query (a file or a hash); see docs/match.md."""

    query: str
    signal_type: str | None
    matches: list[Match]
    record: HashRecord | None = None
    low_quality: bool = False
    error: ItemError | None = None
    # What the allow-list and flood rules set aside (safelight.match.rules); ``matches``
    # holds only the served ones.
    ruled: Ruled | None = None

    def to_dict(self) -> dict[str, Any]:
        """For a file: its hash record (the JSON ``hash`` writes, as in a scan's items) with
        the query, the matches and the error beside it (docs/model.md)."""
        out: dict[str, Any] = {"query": self.query, "signal_type": self.signal_type}
        if self.record is not None:
            out.update(self.record.to_dict())
        out["low_quality"] = self.low_quality
        out["matches"] = [m.to_dict() for m in self.matches]
        out.update((self.ruled or Ruled()).to_dict())
        out["error"] = self.error.to_dict() if self.error else None
        return out


_sort = sort_matches


class Matcher:
    """Matches against selected, enabled lists; open one per run (or ``refresh`` it)."""

    def __init__(
        self,
        store: HashListStore,
        lists: Sequence[str] | None = None,
        threshold: int | None = None,
        *,
        min_quality: int = MATCH_MIN_QUALITY,
        home: str | os.PathLike[str] | None = None,
        warn: Warn | None = None,
        flood: FloodCounter | None = None,
    ) -> None:
        self.store = store
        self.flood = flood
        self.threshold = None if threshold is None else check_threshold(threshold)
        if not 0 <= min_quality <= 100:
            raise UsageError(f"min quality must be 0-100, got {min_quality}")
        self.min_quality = min_quality
        self.selected = None if lists is None else list(dict.fromkeys(lists))
        self.home = home
        self.warn = warn
        self._syncs = {t: IndexSync(store, t, home=home, warn=warn) for t in indexed_types()}
        self._indexes: dict[str, Index] = {}
        self._vpdq: VpdqCandidates | None = None
        self.refresh()

    @classmethod
    def open(
        cls,
        db: Database,
        lists: Sequence[str] | None = None,
        threshold: int | None = None,
        **options: Any,
    ) -> Matcher:
        return cls(HashListStore(db), lists, threshold, **options)

    def refresh(self) -> None:
        """Re-read the lists; indexes catch up with the store on their next use.

        Lists named explicitly must exist and be enabled (ListNotFoundError,
        ListDisabledError): a disabled one would silently match nothing. Without names,
        every enabled list is used.
        """
        if self.selected is not None:
            chosen = self.store.require(self.selected)
        else:
            chosen = [hl for hl in self.store.list() if hl.enabled]
        self.lists: dict[str, HashList] = {hl.name: hl for hl in chosen}
        self.kinds = {hl.name: hl.kind for hl in chosen}
        self._paused: set[int] = set()
        self._indexes.clear()
        self._vpdq = None

    def threshold_of(self, list_name: str, signal_type: str = "pdq") -> int:
        """The distance within which a value of ``signal_type`` matches an entry of a list:
        0 for exact types; for PDQ the list's own threshold; for other Hamming types the
        type's default; ``threshold`` given to the matcher overrides both."""
        kind = registry.get(signal_type)
        if kind.distance == "exact":
            return 0
        if self.threshold is not None:
            return self.threshold
        if kind.name == "pdq":
            return self.lists[list_name].pdq_threshold
        return kind.default_threshold

    def index(self, signal_type: str) -> Index:
        """The index of a type, synced with the store on first use after ``refresh``."""
        if signal_type not in self._indexes:
            self._indexes[signal_type] = self._syncs[signal_type].open()
        return self._indexes[signal_type]

    def _search(self, signal_type: str, keys: np.ndarray, threshold: int) -> SearchResult:
        for attempt in (1, 2):
            index = self.index(signal_type)
            try:
                return index.search(keys, threshold)
            except IndexCorruptError as exc:
                if attempt == 2:
                    raise
                if self.warn:
                    self.warn(f"index {index.path} is damaged ({exc.message}); rebuilding")
                self._indexes[signal_type] = self._syncs[signal_type].rebuild()
        raise AssertionError("unreachable")  # pragma: no cover

    def match_hashes(
        self, queries: Sequence[tuple[str, str]], variants: Sequence[str | None] | None = None
    ) -> list[list[Match]]:
        """Served matches of each (signal type, hex) query, by (distance, list, entry id):
        after the allow-list and flood rules (``match_hashes_ruled`` tells what they set
        aside). ``variants`` (optional) names each query's orientation, copied into its
        matches. Bad hex raises UsageError naming the query.
        """
        return [r.matches for r in self.match_hashes_ruled(queries, variants)]

    def match_hashes_ruled(
        self, queries: Sequence[tuple[str, str]], variants: Sequence[str | None] | None = None
    ) -> list[Ruled]:
        """Each query's matches through ``safelight.match.rules``; served ones are counted
        by flood protection when the matcher has a counter."""
        ruled = [self.rule(found) for found in self.raw_matches(queries, variants)]
        self._count([f"{t}:{v}" for t, v in queries], ruled)
        return ruled

    def rule(self, matches: Sequence[Match]) -> Ruled:
        """The rules over one query's matches, with this matcher's lists and paused entries."""
        return apply_rules(matches, self.kinds, self._paused)

    def _count(self, queries: Sequence[str], ruled: Sequence[Ruled]) -> None:
        if self.flood is None:
            return
        for query, result in zip(queries, ruled, strict=True):
            self.flood.observe(query, result.matches)
        for pause in self.flood.flush_due():
            if self.warn:
                self.warn(f"entry {pause.entry_id} of {pause.list_name} paused: {pause.reason}")

    def raw_matches(
        self, queries: Sequence[tuple[str, str]], variants: Sequence[str | None] | None = None
    ) -> list[list[Match]]:
        """Every match of each query before the rules (allow and block, paused or not)."""
        results: list[list[Match]] = [[] for _ in queries]
        if not self.lists:
            return results
        unknown = {t for t, _ in queries} - set(self._syncs)
        if unknown:
            raise UsageError(f"no index holds {', '.join(sorted(unknown))} values")
        for signal_type in self._syncs:
            positions = [i for i, (t, _) in enumerate(queries) if t == signal_type]
            if not positions:
                continue
            width = registry.get(signal_type).key_bytes
            keys, _, bad = parse_hex([queries[i][1] for i in positions], width)
            if bad:
                where, why = bad[0]
                raise UsageError(f"{signal_type} {where}: {why}")
            top = max(self.threshold_of(n, signal_type) for n in self.lists)
            found = self._search(signal_type, keys, top)
            hits = [found[q] for q in range(len(positions))]
            entries = self.store.entries_by_ids({i for h in hits for i, _ in h})
            now = self.store.clock()
            for q, pos in enumerate(positions):
                variant = variants[pos] if variants else None
                for entry_id, distance in hits[q]:
                    entry = entries.get(entry_id)
                    if entry is None or not self._servable(entry, now):
                        continue
                    if entry.paused_at is not None:
                        self._paused.add(entry.id)
                    if distance > self.threshold_of(entry.list_name, signal_type):
                        continue
                    results[pos].append(_match(entry, distance, variant))
        return [_sort(r) for r in results]

    def _servable(self, entry: Entry, now: Any) -> bool:
        return entry.list_name in self.lists and entry.is_enabled(now)

    def match_pdq_variants(self, hashes: Sequence[str], names: Sequence[str]) -> list[Match]:
        """One PDQ query in several orientations: each entry once, at its best variant."""
        found = self.raw_matches([("pdq", h) for h in hashes], list(names))
        best: dict[int, Match] = {}
        for matches in found:
            for m in matches:
                if m.entry_id not in best or m.distance < best[m.entry_id].distance:
                    best[m.entry_id] = m
        return self.rule(list(best.values())).matches

    def match_vpdq(self, features: Sequence[VpdqFeature]) -> list[Match]:
        """Bag-of-frames match against every enabled vPDQ entry; a frame index picks the
        entries worth comparing (``safelight.match.vpdq_frames``), with the same results.
        Served matches only (after the rules)."""
        return self.match_vpdq_ruled(features).matches

    def match_vpdq_ruled(self, features: Sequence[VpdqFeature]) -> Ruled:
        """``match_vpdq`` with what the rules set aside (allowed, suppressed, paused)."""
        return self.rule(self._vpdq_raw(features))

    def _vpdq_raw(self, features: Sequence[VpdqFeature]) -> list[Match]:
        from safelight.match.vpdq_frames import VpdqCandidates

        if self._vpdq is None:
            now = self.store.clock()
            self._vpdq = VpdqCandidates(
                [
                    (row.id, features_of_value(row.value))
                    for row in self.store.index_rows("vpdq", list_names=list(self.lists))
                    if row.disabled_until is None or row.disabled_until <= now
                ]
            )
        hits = self._vpdq.match(features)
        entries = self.store.entries_by_ids(hits)
        now = self.store.clock()
        self._paused.update(e.id for e in entries.values() if e.paused_at is not None)
        out = [
            _match(entry, 0, None, *hits[entry.id])
            for entry in entries.values()
            if self._servable(entry, now)
        ]
        return _sort(out)

    def match_record(self, record: HashRecord, *, rotations: bool = False) -> QueryResult:
        """Every match of a hashed file: its digests, its PDQ (or its 8 orientations with
        ``rotations`` when the record has them), its vPDQ. Low-quality PDQ is not matched."""
        return self.match_records([record], rotations=rotations)[0]

    def match_records(
        self, records: Sequence[HashRecord], *, rotations: bool = False
    ) -> list[QueryResult]:
        """``match_record`` for a batch, with one index search per signal type for all of
        them (what scan and network call): the rules are the same, one place for both."""
        from safelight.signals.hashes import DIHEDRAL_NAMES

        queries: list[tuple[str, str]] = []
        variants: list[str | None] = []
        owners: list[int] = []
        low = [r.pdq is not None and r.pdq.quality < self.min_quality for r in records]
        for position, record in enumerate(records):
            pairs: list[tuple[str, str, str | None]] = [
                (t, h, None) for t, h in record.digests.items()
            ]
            if record.pdq is not None and not low[position]:
                if rotations and record.pdq8 is not None:
                    pairs += [
                        ("pdq", h.hex, n) for h, n in zip(record.pdq8, DIHEDRAL_NAMES, strict=True)
                    ]
                else:
                    pairs.append(("pdq", record.pdq.hex, None))
            queries += [(t, h) for t, h, _ in pairs]
            variants += [v for _, _, v in pairs]
            owners += [position] * len(pairs)
        found: list[dict[tuple[int, str], Match]] = [{} for _ in records]
        for owner, hits in zip(owners, self.raw_matches(queries, variants), strict=True):
            best = found[owner]
            for m in hits:  # an entry once per file, at its nearest orientation
                key = (m.entry_id, m.signal_type)
                if key not in best or m.distance < best[key].distance:
                    best[key] = m
        results = [
            self._result(record, list(found[i].values()), low[i])
            for i, record in enumerate(records)
        ]
        self._count([_file_key(r) for r in records], [r.ruled or Ruled() for r in results])
        return results

    def _result(self, record: HashRecord, found: list[Match], low: bool) -> QueryResult:

        if record.error is not None and not record.digests:
            return QueryResult(record.path, "file", [], record, error=record.error, ruled=Ruled())
        if record.vpdq:
            query = list(record.vpdq)
            found = found + self._vpdq_raw(query)
        ruled = self.rule(found)
        return QueryResult(record.path, "file", ruled.matches, record, low, record.error, ruled)


def _match(
    entry: Entry,
    distance: int,
    variant: str | None,
    query_percent: float | None = None,
    compared_percent: float | None = None,
) -> Match:
    return Match(
        entry.list_name,
        entry.id,
        entry.value,
        distance,
        entry.labels,
        entry.signal_type,
        variant,
        query_percent,
        compared_percent,
    )


def _file_key(record: HashRecord) -> str:
    """What makes two uploads distinct for flood counting: the file's strongest digest."""
    for name in ("sha256", "sha1", "md5"):
        if record.digests.get(name):
            return f"{name}:{record.digests[name]}"
    return f"path:{record.path}"
