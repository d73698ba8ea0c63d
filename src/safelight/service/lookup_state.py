"""The list and entry state lookups need, held in memory: one immutable snapshot at a time.

A ``LookupState`` answers, without SQL, what ``Matcher`` asks the store for each hit: which
lists exist and are enabled, their thresholds and provenance, and for each indexed entry its
list, value, labels, note, import and ``disabled_until``. Entries live in compact numpy
columns sorted by id (``EntryTable``), about 50 bytes per PDQ entry, rather than one Python
object per entry; labels are interned (lists share a few label sets), notes kept sparse.

Snapshots are never changed in place: ``with_lists`` returns a new one that reloads only the
lists whose generation moved (their rows replace the old rows of those lists), so a change
costs reading the changed lists, not the store, and readers keep the old snapshot until the
engine swaps in the new one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from safelight.index import array_to_hex, parse_hex
from safelight.lists.models import Entry, HashList, ImportInfo
from safelight.lists.store import HashListStore
from safelight.signals.types import registry

# Rows read per query while loading a list: bounds the Python objects alive at once.
LOAD_PAGE = 50_000
NEVER = 0.0  # ``until`` of an entry that is not disabled


def epoch(moment: datetime | None) -> float:
    return NEVER if moment is None else moment.timestamp()


@dataclass(frozen=True, slots=True)
class EntryTable:
    """The entries of one signal type, by ascending id, as parallel columns."""

    signal_type: str
    ids: npt.NDArray[np.int64]
    list_codes: npt.NDArray[np.int32]  # list id
    label_codes: npt.NDArray[np.int32]  # position in LookupState.label_sets
    import_ids: npt.NDArray[np.int64]  # -1: none
    until: npt.NDArray[np.float64]  # disabled until (epoch seconds); 0: enabled
    keys: npt.NDArray[np.uint8]  # (rows, key bytes)
    notes: dict[int, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, signal_type: str) -> EntryTable:
        width = registry.get(signal_type).key_bytes
        return cls(
            signal_type,
            np.zeros(0, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0, np.int64),
            np.zeros(0, np.float64),
            np.zeros((0, width), np.uint8),
        )

    def __len__(self) -> int:
        return int(self.ids.size)

    def rows_of(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Row of each id, -1 where the table does not hold it."""
        if not len(self):
            return np.full(ids.size, -1, np.int64)
        pos = np.minimum(np.searchsorted(self.ids, ids), len(self) - 1)
        return np.where(self.ids[pos] == ids, pos, -1).astype(np.int64)

    def updated(
        self,
        until: Sequence[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]],
        drop_ids: npt.NDArray[np.int64],
        drop_lists: set[int],
    ) -> EntryTable:
        """A copy with new ``disabled_until`` for some ids, without some ids and lists."""
        column = self.until
        if any(ids.size for ids, _ in until):
            column = column.copy()
            for ids, values in until:
                rows = self.rows_of(ids)
                column[rows[rows >= 0]] = values[rows >= 0]
        lists = np.fromiter(drop_lists, np.int32, len(drop_lists))
        keep = ~np.isin(self.list_codes, lists) & ~np.isin(self.ids, drop_ids)
        if keep.all():
            return replace(self, until=column)
        dropped = set(self.ids[~keep].tolist()) if self.notes else set()
        return EntryTable(
            self.signal_type,
            self.ids[keep],
            self.list_codes[keep],
            self.label_codes[keep],
            self.import_ids[keep],
            column[keep],
            self.keys[keep],
            {i: n for i, n in self.notes.items() if i not in dropped},
        )

    def merged(self, other: EntryTable) -> EntryTable:
        """Both tables' rows, by id (ids never repeat across lists)."""
        if not len(other):
            return self
        ids = np.concatenate([self.ids, other.ids])
        order = np.argsort(ids, kind="stable")
        return EntryTable(
            self.signal_type,
            ids[order],
            np.concatenate([self.list_codes, other.list_codes])[order],
            np.concatenate([self.label_codes, other.label_codes])[order],
            np.concatenate([self.import_ids, other.import_ids])[order],
            np.concatenate([self.until, other.until])[order],
            np.concatenate([self.keys, other.keys])[order],
            {**self.notes, **other.notes},
        )

    def next_lapse(self, after: float) -> float | None:
        """When the first timed disable ending after ``after`` ends (an index must re-sync
        then: it hid the entry)."""
        ahead = self.until[(self.until > after) & (self.until < _FOREVER_EPOCH)]
        return float(ahead.min()) if ahead.size else None


_FOREVER_EPOCH = datetime(9999, 1, 1, tzinfo=UTC).timestamp()


class _Labels:
    """Interns label sets: code -> frozenset, shared by every table of a snapshot."""

    def __init__(self, sets: Sequence[frozenset[str]] = ()) -> None:
        self.sets = list(sets) or [frozenset()]
        self.codes = {s: i for i, s in enumerate(self.sets)}

    def code(self, labels: frozenset[str]) -> int:
        found = self.codes.get(labels)
        if found is None:
            found = self.codes[labels] = len(self.sets)
            self.sets.append(labels)
        return found


@dataclass(frozen=True, slots=True)
class LookupState:
    """One consistent view of the lists: what a lookup reads, never changed once built."""

    lists: dict[int, HashList]  # by list id
    tables: dict[str, EntryTable]  # by signal type
    label_sets: tuple[frozenset[str], ...]
    imports: dict[int, ImportInfo]
    built_at: float  # epoch seconds when the store was read
    # Per list id, the highest import id seen: labels later imports attach are re-read.
    import_high: dict[int, int] = field(default_factory=dict)

    @classmethod
    def load(cls, store: HashListStore, signal_types: Sequence[str]) -> LookupState:
        empty = cls({}, {t: EntryTable.empty(t) for t in signal_types}, (frozenset(),), {}, 0.0)
        return empty.with_lists(store, store.list())

    @property
    def by_name(self) -> dict[str, HashList]:
        return {hl.name: hl for hl in self.lists.values()}

    def signature(self) -> dict[int, tuple[Any, ...]]:
        return {i: list_signature(hl) for i, hl in self.lists.items()}

    def with_lists(self, store: HashListStore, lists: list[HashList]) -> LookupState:
        """A new state for the store's ``lists`` now: deleted lists dropped, new ones loaded,
        changed ones caught up (``_Catchup``), the rest kept as they are."""
        built_at = store.clock().timestamp()
        current = {hl.id: hl for hl in lists}
        stale = {
            i
            for i, hl in current.items()
            if i not in self.lists or self.lists[i].generation != hl.generation
        }
        gone = set(self.lists) - set(current)
        if not stale and not gone:
            return LookupState(
                current, self.tables, self.label_sets, self.imports, built_at, self.import_high
            )
        work = _Catchup(self, store, current)
        for list_id in sorted(stale):
            if list_id not in self.lists or not work.delta(current[list_id]):
                work.reload(current[list_id])
        work.drop_lists |= gone
        return work.state(built_at)

    def generation(self) -> int:
        """The sum of the lists' generations: it moves whenever any list changes."""
        return sum(hl.generation for hl in self.lists.values())

    def next_lapse(self, after: float) -> float | None:
        """The first end of a timed disable later than ``after`` (epoch seconds)."""
        found = [t for t in (table.next_lapse(after) for table in self.tables.values()) if t]
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
    )


class _Rows:
    """Columns of one list's entries of one type, gathered while loading."""

    def __init__(self, signal_type: str) -> None:
        self.signal_type = signal_type
        self.width = registry.get(signal_type).key_bytes
        self.ids: list[int] = []
        self.lists: list[int] = []
        self.labels: list[int] = []
        self.imports: list[int] = []
        self.until: list[float] = []
        self.values: list[str] = []
        self.notes: dict[int, str] = {}

    def add(self, entry: Entry, list_id: int, labels: _Labels) -> None:
        self.ids.append(entry.id)
        self.lists.append(list_id)
        self.labels.append(labels.code(entry.labels))
        self.imports.append(-1 if entry.import_id is None else entry.import_id)
        self.until.append(epoch(entry.disabled_until))
        self.values.append(entry.value)
        if entry.note:
            self.notes[entry.id] = entry.note

    def table(self) -> EntryTable:
        keys, ok, _ = parse_hex(self.values, self.width)  # bad stored values: never served

        def column(values: list[Any], dtype: Any) -> Any:
            return np.asarray(values, dtype=dtype)[ok] if values else np.zeros(0, dtype)

        ids = column(self.ids, np.int64)
        order = np.argsort(ids, kind="stable")
        return EntryTable(
            self.signal_type,
            ids[order],
            column(self.lists, np.int32)[order],
            column(self.labels, np.int32)[order],
            column(self.imports, np.int64)[order],
            column(self.until, np.float64)[order],
            keys[order],
            self.notes,
        )


class _Catchup:
    """The changes that turn one state into the next, gathered list by list.

    A changed list is caught up by difference when that is cheap: its (id,
    disabled_until) pairs are read per type (two columns, no labels) and compared with the
    table; new entries, and entries a newer import labelled, are read by id. A list that
    gained more than a quarter of its entries (a big import), and any new list, is read
    whole instead.
    """

    def __init__(
        self, base: LookupState, store: HashListStore, current: dict[int, HashList]
    ) -> None:
        self.base = base
        self.store = store
        self.current = current
        self.labels = _Labels(base.label_sets)
        self.fresh = {t: _Rows(t) for t in base.tables}
        self.drop_lists: set[int] = set()
        self.drop_ids: dict[str, list[npt.NDArray[np.int64]]] = {t: [] for t in base.tables}
        self.until: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]] = {
            t: [] for t in base.tables
        }
        self.fetch: list[int] = []
        self.imports = dict(base.imports)
        self.import_high = dict(base.import_high)

    def reload(self, hash_list: HashList) -> None:
        self.drop_lists.add(hash_list.id)
        for entry in _entries(self.store, hash_list.name):
            rows = self.fresh.get(entry.signal_type)
            if rows is not None:
                rows.add(entry, hash_list.id, self.labels)
        self._new_imports(hash_list, labelled=False)

    def delta(self, hash_list: HashList) -> bool:
        """Gather the list's changes; False when reading it whole is cheaper."""
        plans = []
        for signal_type, table in self.base.tables.items():
            states = self.store.entry_states(hash_list.name, signal_type)
            ids = np.fromiter((i for i, _ in states), np.int64, len(states))
            until = np.fromiter((epoch(u) for _, u in states), np.float64, len(states))
            mine = table.list_codes == hash_list.id
            old_ids, old_until = table.ids[mine], table.until[mine]
            new = np.setdiff1d(ids, old_ids, assume_unique=True)
            if new.size > max(1_000, ids.size // 4):
                return False
            _, here, there = np.intersect1d(ids, old_ids, True, return_indices=True)
            moved = until[here] != old_until[there]
            plans.append((signal_type, ids[here][moved], until[here][moved], new, old_ids, ids))
        changed = set(self._new_imports(hash_list, labelled=True))
        if changed or self.import_high.get(hash_list.id) != self.base.import_high.get(hash_list.id):
            changed |= self._notes_changed(hash_list)
        for signal_type, moved_ids, moved_until, new, old_ids, ids in plans:
            gone = np.setdiff1d(old_ids, ids, assume_unique=True)
            again = np.intersect1d(np.asarray(sorted(changed), np.int64), old_ids)
            self.until[signal_type].append((moved_ids, moved_until))
            self.drop_ids[signal_type] += [gone, again]
            self.fetch += new.tolist() + again.tolist()
        return True

    def _notes_changed(self, hash_list: HashList) -> set[int]:
        """Entries whose note an import replaced (imports set notes of entries present)."""
        stored = self.store.entry_notes(hash_list.name)
        held: dict[int, str] = {}
        for table in self.base.tables.values():
            if not table.notes or not len(table):
                continue
            ids = np.fromiter(table.notes, np.int64, len(table.notes))
            rows = table.rows_of(ids)
            mine = ids[(rows >= 0) & (table.list_codes[np.maximum(rows, 0)] == hash_list.id)]
            held.update((i, table.notes[i]) for i in mine.tolist())
        return {i for i in stored.keys() | held.keys() if stored.get(i) != held.get(i)}

    def _new_imports(self, hash_list: HashList, *, labelled: bool) -> list[int]:
        """Record the list's imports not seen yet; with ``labelled``, the entries they
        labelled (labels an import adds to entries already present change answers)."""
        seen = self.import_high.get(hash_list.id, 0)
        new = self.store.imports_since(hash_list.name, seen)
        for info in new:
            self.imports[info.id] = info
        if not new:
            return []
        self.import_high[hash_list.id] = new[-1].id
        if not labelled:
            return []
        return self.store.entries_labelled_by([info.id for info in new])

    def state(self, built_at: float) -> LookupState:
        by_name = {hl.name: hl.id for hl in self.current.values()}
        for entry in self.store.entries_by_ids(self.fetch).values():
            rows = self.fresh.get(entry.signal_type)
            if rows is not None and entry.list_name in by_name:
                rows.add(entry, by_name[entry.list_name], self.labels)
        tables = {}
        for signal_type, table in self.base.tables.items():
            drop = self.drop_ids[signal_type]
            tables[signal_type] = table.updated(
                self.until[signal_type],
                np.concatenate(drop) if drop else np.zeros(0, np.int64),
                self.drop_lists,
            ).merged(self.fresh[signal_type].table())
        return LookupState(
            self.current,
            tables,
            tuple(self.labels.sets),
            self.imports,
            built_at,
            {i: n for i, n in self.import_high.items() if i in self.current},
        )


def _entries(store: HashListStore, name: str) -> Iterator[Entry]:
    """Every entry of a list, in pages (the list may be 10M entries)."""
    after: int | None = None
    while True:
        page = store.find_entries(name, after_id=after, limit=LOAD_PAGE)
        yield from page
        if len(page) < LOAD_PAGE:
            return
        after = page[-1].id


def value_hex(table: EntryTable, row: int) -> str:
    return array_to_hex(table.keys[row : row + 1])[0]
