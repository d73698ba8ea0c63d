"""The list and entry state lookups need, held in memory: one immutable state at a time.

A ``LookupState`` answers, without SQL, what ``Matcher`` asks the store for each hit: which
lists exist and are enabled, their thresholds and provenance, and for each indexed entry its
list, value, labels, note, import, ``disabled_until`` and whether flood protection paused
it. Entries live in compact numpy columns sorted by id (``EntryTable``), about 64 bytes per
PDQ entry, rather than one Python object per entry; labels are interned, notes kept sparse.

A state is a *base* (a table per signal type, usually memory-mapped from the saved state, so
workers share its pages) and a small *overlay*: the rows of the entries changed since the
base (added, relabelled, disabled...), looked at first. ``hidden`` holds the base ids
superseded or deleted since (tombstones) and ``dropped`` the lists whose base rows are all
gone. Following a change (``with_lists``, safelight.service.lookup_catchup) re-reads the
entries it touched and builds a new small overlay: its cost is the change's, never the
list's. ``folded`` merges everything into a new base (compaction, which the engine runs off
the lookup path). States are never changed in place: readers keep theirs until the engine
swaps in the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from safelight.index import array_to_hex
from safelight.lists.models import HashList, ImportInfo
from safelight.signals.types import registry

if TYPE_CHECKING:
    from safelight.lists.store import HashListStore

I64 = npt.NDArray[np.int64]
NEVER = 0.0  # ``until`` of an entry that is not disabled
_FOREVER_EPOCH = datetime(9999, 1, 1, tzinfo=UTC).timestamp()
COLUMNS = ("ids", "list_codes", "label_codes", "import_ids", "until", "keys")


def epoch(moment: datetime | None) -> float:
    return NEVER if moment is None else moment.timestamp()


def no_ids() -> I64:
    return np.zeros(0, np.int64)


def in_sorted(sorted_ids: npt.NDArray[Any], ids: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which of ``ids`` are in the ascending ``sorted_ids`` (a binary search each)."""
    if not sorted_ids.size:
        return np.zeros(ids.size, np.bool_)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
    found: npt.NDArray[np.bool_] = sorted_ids[pos] == ids
    return found


@dataclass(frozen=True, slots=True)
class EntryTable:
    """The entries of one signal type, by ascending id, as parallel columns."""

    signal_type: str
    ids: I64
    list_codes: npt.NDArray[np.int32]  # list id
    label_codes: npt.NDArray[np.int32]  # position in LookupState.label_sets
    import_ids: I64  # -1: none
    until: npt.NDArray[np.float64]  # disabled until (epoch seconds); 0: enabled
    keys: npt.NDArray[np.uint8]  # (rows, key bytes)
    notes: dict[int, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, signal_type: str) -> EntryTable:
        width = registry.get(signal_type).key_bytes
        return cls(
            signal_type,
            no_ids(),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            no_ids(),
            np.zeros(0, np.float64),
            np.zeros((0, width), np.uint8),
        )

    def __len__(self) -> int:
        return int(self.ids.size)

    def rows_of(self, ids: I64) -> I64:
        """Row of each id, -1 where the table does not hold it."""
        if not len(self):
            return np.full(ids.size, -1, np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self) - 1)
        return np.where(self.ids[pos] == ids, pos, -1).astype(np.int64)

    def kept(self, keep: npt.NDArray[np.bool_]) -> EntryTable:
        """The rows where ``keep`` holds (notes of the others dropped)."""
        if keep.all():
            return self
        notes = self.notes
        if notes:
            kept_ids = self.ids[keep]
            noted = np.fromiter(notes, np.int64, len(notes))
            notes = {i: notes[i] for i in noted[in_sorted(kept_ids, noted)].tolist()}
        return EntryTable(
            self.signal_type,
            np.asarray(self.ids)[keep],
            np.asarray(self.list_codes)[keep],
            np.asarray(self.label_codes)[keep],
            np.asarray(self.import_ids)[keep],
            np.asarray(self.until)[keep],
            np.asarray(self.keys)[keep],
            notes,
        )

    def updated(
        self,
        until: Sequence[tuple[I64, npt.NDArray[np.float64]]],
        drop_ids: I64,
        drop_lists: set[int],
    ) -> EntryTable:
        """A copy with new ``disabled_until`` for some ids, without some ids and lists."""
        column = self.until
        if any(ids.size for ids, _ in until):
            column = np.array(column)
            for ids, values in until:
                rows = self.rows_of(ids)
                column[rows[rows >= 0]] = values[rows >= 0]
        table = replace(self, until=column)
        lists = np.fromiter(drop_lists, np.int32, len(drop_lists))
        keep = ~np.isin(self.list_codes, lists) & ~np.isin(self.ids, drop_ids)
        return table.kept(keep)

    def merged(self, other: EntryTable) -> EntryTable:
        """Both tables' rows, by id (their ids never repeat): ``other`` is inserted into
        this one in one pass, both being sorted already."""
        if not len(other):
            return self
        if not len(self):
            return other
        at = np.searchsorted(self.ids, other.ids)

        def insert(column: str) -> Any:
            return np.insert(getattr(self, column), at, getattr(other, column), axis=0)

        return EntryTable(
            self.signal_type,
            insert("ids"),
            insert("list_codes"),
            insert("label_codes"),
            insert("import_ids"),
            insert("until"),
            insert("keys"),
            {**self.notes, **other.notes},
        )

    def lapses(self) -> npt.NDArray[np.float64]:
        """The ends of the table's timed disables, ascending (disables "for good" left out)."""
        until = np.asarray(self.until)
        return np.sort(until[(until > NEVER) & (until < _FOREVER_EPOCH)])


@dataclass(frozen=True, slots=True)
class Located:
    """Where each id of a search result is held: overlay row, base row, or nowhere."""

    base: EntryTable
    overlay: EntryTable
    known: npt.NDArray[np.bool_]
    in_overlay: npt.NDArray[np.bool_]
    rows: I64  # row in the overlay or in the base (0 where unknown)

    def column(self, name: str) -> npt.NDArray[Any]:
        """One column's value for each id (meaningless where not ``known``)."""
        out = np.zeros(self.rows.size, getattr(self.base, name).dtype)
        for table, mine in ((self.base, ~self.in_overlay), (self.overlay, self.in_overlay)):
            if len(table) and mine.any():
                out[mine] = getattr(table, name)[self.rows[mine]]
        return out

    def table(self, hit: int) -> EntryTable:
        return self.overlay if self.in_overlay[hit] else self.base


@dataclass(frozen=True, slots=True)
class LookupState:
    """One consistent view of the lists: what a lookup reads, never changed once built."""

    lists: dict[int, HashList]  # by list id
    base: dict[str, EntryTable]  # by signal type
    label_sets: tuple[frozenset[str], ...]
    imports: dict[int, ImportInfo]
    built_at: float  # epoch seconds when the store was read
    # Per list id, the highest import id seen (the imports whose provenance hits carry).
    import_high: dict[int, int] = field(default_factory=dict)
    overlay: dict[str, EntryTable] = field(default_factory=dict)
    hidden: I64 = field(default_factory=no_ids)  # sorted base ids not to serve
    dropped: frozenset[int] = frozenset()  # lists whose base rows are not to serve
    paused: frozenset[int] = frozenset()  # entries flood protection paused
    source: str | None = None  # the saved state the base is mapped from, if any
    # Per type, how many base rows ``hidden`` and ``dropped`` take out of service: kept up
    # as the state follows changes (counting them afresh would read the whole base).
    dead_rows: dict[str, int] = field(default_factory=dict)
    # Figures of the base computed once and shared by every state on it (its lapses).
    base_cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, store: HashListStore, signal_types: Sequence[str]) -> LookupState:
        """Every list read from the store (no saved state to start from)."""
        empty = cls({}, {t: EntryTable.empty(t) for t in signal_types}, (frozenset(),), {}, 0.0)
        return empty.with_lists(store, store.list()).folded()

    @property
    def by_name(self) -> dict[str, HashList]:
        return {hl.name: hl for hl in self.lists.values()}

    @property
    def tables(self) -> dict[str, EntryTable]:
        """Each type's entries as one table (the base itself when nothing changed since)."""
        return {t: self.table(t) for t in self.base}

    def table(self, signal_type: str) -> EntryTable:
        base = self.base[signal_type]
        if self.hidden.size or self.dropped:
            codes = np.fromiter(self.dropped, np.int32, len(self.dropped))
            base = base.kept(~in_sorted(self.hidden, base.ids) & ~np.isin(base.list_codes, codes))
        return base.merged(self.overlay.get(signal_type) or EntryTable.empty(signal_type))

    def folded(self) -> LookupState:
        """The same state with the overlay merged into a new base (compaction)."""
        if not (self.hidden.size or self.dropped or any(map(len, self.overlay.values()))):
            return self
        return replace(
            self,
            base=self.tables,
            overlay={},
            hidden=no_ids(),
            dropped=frozenset(),
            source=None,
            dead_rows={},
            base_cache={},
        )

    def size(self, signal_type: str) -> int:
        """Entries of one type the state holds."""
        overlay = self.overlay.get(signal_type)
        return len(self.base[signal_type]) - self.dead(signal_type) + len(overlay or ())

    def dead(self, signal_type: str) -> int:
        """Base rows no longer served (superseded, deleted, or of a dropped list)."""
        return self.dead_rows.get(signal_type, 0)

    def changed_rows(self) -> int:
        """How far the state is from its base: overlay rows plus base rows not served."""
        return sum(len(t) for t in self.overlay.values()) + sum(map(self.dead, self.base))

    def locate(self, signal_type: str, ids: I64) -> Located:
        base = self.base[signal_type]
        overlay = self.overlay.get(signal_type) or EntryTable.empty(signal_type)
        over = overlay.rows_of(ids)
        in_overlay = over >= 0
        under = base.rows_of(ids)
        in_base = (under >= 0) & ~in_overlay & ~in_sorted(self.hidden, ids)
        if self.dropped and in_base.any():
            codes = np.fromiter(self.dropped, np.int32, len(self.dropped))
            in_base &= ~np.isin(base.list_codes[np.maximum(under, 0)], codes)
        rows = np.where(in_overlay, over, np.where(in_base, under, 0))
        return Located(base, overlay, in_overlay | in_base, in_overlay, rows)

    def with_lists(self, store: HashListStore, lists: list[HashList]) -> LookupState:
        """A new state for the store's ``lists`` now (safelight.service.lookup_catchup)."""
        from safelight.service.lookup_catchup import follow

        return follow(self, store, lists)

    def signature(self) -> dict[int, tuple[Any, ...]]:
        return {i: list_signature(hl) for i, hl in self.lists.items()}

    def generation(self) -> int:
        """The sum of the lists' generations: it moves whenever any list changes."""
        return sum(hl.generation for hl in self.lists.values())

    def next_lapse(self, after: float) -> float | None:
        """The first end of a timed disable later than ``after`` (epoch seconds)."""
        found = []
        for signal_type, base in self.base.items():
            key = f"lapses:{signal_type}"
            if key not in self.base_cache:
                self.base_cache[key] = base.lapses()
            overlay = self.overlay.get(signal_type)
            ahead = [self.base_cache[key]] + ([overlay.lapses()] if overlay is not None else [])
            for lapses in ahead:
                at = int(np.searchsorted(lapses, after, side="right"))
                if at < lapses.size:
                    found.append(float(lapses[at]))
        return min(found) if found else None


def list_signature(hash_list: HashList) -> tuple[Any, ...]:
    """Everything of a list a lookup answer depends on: a change here means a refresh."""
    return (
        hash_list.generation,
        hash_list.enabled,
        hash_list.pdq_threshold,
        hash_list.name,
        hash_list.source,
        hash_list.terms_of_use,
        hash_list.description,
        hash_list.updated_at,
        hash_list.kind,
        hash_list.created_at,
    )


def value_hex(table: EntryTable, row: int) -> str:
    return array_to_hex(table.keys[row : row + 1])[0]
