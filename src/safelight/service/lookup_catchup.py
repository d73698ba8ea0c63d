"""Following the store: the next ``LookupState`` from the current one and the lists now.

``follow`` takes one of two ways:

- **By the change log** (the usual way): for each list whose generation moved, the entries
  its changes touched (``safelight.lists.changes``) are re-read by id; those found become
  overlay rows, those gone tombstones (``hidden``); a new list is read whole into the
  overlay, a deleted one dropped. The base is not touched: the cost is the change's.
- **Whole**, when the log cannot say (a bulk change past the log's limit, rows pruned): the
  state is folded and each changed list caught up by difference: its (id,
  ``disabled_until``) pairs read and compared with the table, new entries and entries a newer
  import labelled read by id; a list that gained more than a quarter of its entries is read
  whole. The cost is the changed list's.

Either way lists whose row changed (enabled, threshold, provenance) are taken as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from safelight.index import parse_hex
from safelight.lists.models import Entry, HashList
from safelight.lists.store import HashListStore
from safelight.service.lookup_state import (
    I64,
    NEVER,
    EntryTable,
    LookupState,
    epoch,
    in_sorted,
    no_ids,
)
from safelight.signals.types import registry

_NO_LABELS: frozenset[str] = frozenset()


def follow(state: LookupState, store: HashListStore, lists: list[HashList]) -> LookupState:
    """The state for the store's ``lists`` now, caught up from ``state``."""
    built_at = store.clock().timestamp()
    current = {hl.id: hl for hl in lists}
    gone = set(state.lists) - set(current)
    # A list id SQLite handed out again after a delete: the old list is gone, this one new.
    renewed = {
        i
        for i, hl in current.items()
        if i in state.lists
        and (
            state.lists[i].created_at != hl.created_at or state.lists[i].generation > hl.generation
        )
    }
    stale = {
        i
        for i, hl in current.items()
        if i not in state.lists or state.lists[i].generation != hl.generation or i in renewed
    }
    if not stale and not gone:
        return replace(state, lists=current, built_at=built_at)
    plans: dict[int, Sequence[int] | None] = {}
    for list_id in sorted(stale):
        old = state.lists.get(list_id)
        if old is None or list_id in renewed:
            plans[list_id] = None  # read whole
            continue
        found = store.entry_changes(list_id, old.generation, current[list_id].generation)
        if not found.complete:
            return _whole(state, store, current, built_at)
        plans[list_id] = found.entry_ids
    return _Follow(state, store, current).run(plans, gone | renewed, built_at)


class _Labels:
    """Interns label sets: code -> frozenset, shared by every table of a state."""

    def __init__(self, sets: Sequence[frozenset[str]] = ()) -> None:
        self.sets = list(sets) or [frozenset()]
        self.codes = {s: i for i, s in enumerate(self.sets)}

    def code(self, labels: frozenset[str]) -> int:
        found = self.codes.get(labels)
        if found is None:
            found = self.codes[labels] = len(self.sets)
            self.sets.append(labels)
        return found


class _Rows:
    """Columns of entries of one type, gathered while reading them."""

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
        self.append(
            entry.id,
            list_id,
            labels.code(entry.labels),
            entry.import_id,
            entry.disabled_until,
            entry.value,
            entry.note,
        )

    def append(
        self,
        entry_id: int,
        list_id: int,
        label_code: int,
        import_id: int | None,
        until: datetime | None,
        value: str,
        note: str | None,
    ) -> None:
        self.ids.append(entry_id)
        self.lists.append(list_id)
        self.labels.append(label_code)
        self.imports.append(-1 if import_id is None else import_id)
        self.until.append(NEVER if until is None else until.timestamp())
        self.values.append(value)
        if note:
            self.notes[entry_id] = note

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


class _Gather:
    """What both ways share: fresh rows, interned labels, imports seen, paused entries."""

    def __init__(
        self, base: LookupState, store: HashListStore, current: dict[int, HashList]
    ) -> None:
        self.base = base
        self.store = store
        self.current = current
        self.labels = _Labels(base.label_sets)
        self.fresh = {t: _Rows(t) for t in base.base}
        self.imports = dict(base.imports)
        self.import_high = dict(base.import_high)
        self.paused = set(base.paused)

    def add(self, entry: Entry, list_id: int) -> None:
        if entry.paused_at is None:
            self.paused.discard(entry.id)
        else:
            self.paused.add(entry.id)
        rows = self.fresh.get(entry.signal_type)
        if rows is not None:
            rows.add(entry, list_id, self.labels)

    def read_whole(self, hash_list: HashList) -> None:
        """Every entry of the list, read as plain rows (no object per entry: lists run to
        10M entries)."""
        labels = self.store.entry_labels(hash_list.name)
        for page in self.store.entry_pages(hash_list.name):
            for entry_id, kind, value, note, until, import_id, paused_at in page:
                if paused_at is None:
                    self.paused.discard(entry_id)
                else:
                    self.paused.add(entry_id)
                rows = self.fresh.get(kind)
                if rows is not None:
                    code = self.labels.code(labels.get(entry_id, _NO_LABELS))
                    rows.append(entry_id, hash_list.id, code, import_id, until, value, note)
        self.new_imports(hash_list)

    def new_imports(self, hash_list: HashList) -> list[int]:
        """Record the list's imports not seen yet (their ids, oldest first)."""
        seen = self.import_high.get(hash_list.id, 0)
        new = self.store.imports_since(hash_list.name, seen)
        for info in new:
            self.imports[info.id] = info
        if new:
            self.import_high[hash_list.id] = new[-1].id
        return [info.id for info in new]

    def import_highs(self) -> dict[int, int]:
        return {i: n for i, n in self.import_high.items() if i in self.current}


class _Follow(_Gather):
    """The way by the change log (see the module docstring)."""

    def run(
        self, plans: dict[int, Sequence[int] | None], drop: set[int], built_at: float
    ) -> LookupState:
        whole = {i for i, ids in plans.items() if ids is None}
        for list_id in sorted(whole):
            self.read_whole(self.current[list_id])
        touched: set[int] = set()
        for list_id, ids in plans.items():
            if ids is not None:
                touched.update(ids)
                self.new_imports(self.current[list_id])
        self._read(sorted(touched), whole)
        return self._state(np.asarray(sorted(touched), np.int64), drop | whole, built_at)

    def _read(self, ids: list[int], whole: set[int]) -> None:
        """Re-read the entries touched: found ones become rows, missing ones are gone."""
        self.paused.difference_update(ids)
        by_name = {hl.name: hl.id for hl in self.current.values()}
        for entry in self.store.entries_by_ids(ids).values():
            list_id = by_name.get(entry.list_name)
            if list_id is not None and list_id not in whole:  # whole lists are read already
                self.add(entry, list_id)

    def _state(self, touched: I64, drop_lists: set[int], built_at: float) -> LookupState:
        base = self.base
        codes = np.fromiter(drop_lists, np.int32, len(drop_lists))
        newly_dropped = drop_lists - base.dropped
        dropped = np.fromiter(base.dropped | newly_dropped, np.int32)
        overlay = {}
        hidden = base.hidden
        dead = dict(base.dead_rows)
        for signal_type, table in base.base.items():
            old = base.overlay.get(signal_type) or EntryTable.empty(signal_type)
            keep = ~in_sorted(touched, old.ids) & ~np.isin(old.list_codes, codes)
            overlay[signal_type] = old.kept(keep).merged(self.fresh[signal_type].table())
            # Base rows of entries re-read (now overlay rows) or deleted: served no more.
            rows = table.rows_of(touched)
            fresh = touched[(rows >= 0) & ~in_sorted(hidden, touched)]
            hidden = np.union1d(hidden, fresh)
            lost = np.count_nonzero(~np.isin(table.list_codes[table.rows_of(fresh)], dropped))
            if newly_dropped:  # a dropped list's rows (the cost of a list's deletion)
                codes_new = np.fromiter(newly_dropped, np.int32, len(newly_dropped))
                of_list = np.isin(table.list_codes, codes_new)
                hidden_rows = table.rows_of(hidden)
                held = hidden_rows[hidden_rows >= 0]
                lost += np.count_nonzero(of_list) - np.count_nonzero(of_list[held])
            dead[signal_type] = dead.get(signal_type, 0) + int(lost)
        return LookupState(
            self.current,
            base.base,
            tuple(self.labels.sets),
            self.imports,
            built_at,
            self.import_highs(),
            overlay,
            hidden,
            base.dropped | frozenset(drop_lists),
            frozenset(self.paused),
            base.source,
            dead,
            base.base_cache,
        )


def _whole(
    state: LookupState, store: HashListStore, current: dict[int, HashList], built_at: float
) -> LookupState:
    """The way by difference, from the folded state (see the module docstring)."""
    from safelight.match.flood import paused_entry_ids

    folded = state.folded()
    known = folded.lists
    renewed = {
        i for i, hl in current.items() if i in known and known[i].created_at != hl.created_at
    }
    stale = {
        i for i, hl in current.items() if i not in known or known[i].generation != hl.generation
    }
    work = _Catchup(folded, store, current)
    for list_id in sorted(stale | renewed):
        if list_id not in known or list_id in renewed or not work.delta(current[list_id]):
            work.reload(current[list_id])
    work.drop_lists |= set(folded.lists) - set(current)
    new = work.state(built_at)
    return replace(new, paused=frozenset(paused_entry_ids(store)))


class _Catchup(_Gather):
    """Changes gathered list by list, by difference with a folded state's tables."""

    def __init__(
        self, base: LookupState, store: HashListStore, current: dict[int, HashList]
    ) -> None:
        super().__init__(base, store, current)
        self.drop_lists: set[int] = set()
        self.drop_ids: dict[str, list[I64]] = {t: [] for t in base.base}
        self.until: dict[str, list[tuple[I64, npt.NDArray[np.float64]]]] = {
            t: [] for t in base.base
        }
        self.fetch: list[int] = []

    def reload(self, hash_list: HashList) -> None:
        self.drop_lists.add(hash_list.id)
        self.read_whole(hash_list)

    def delta(self, hash_list: HashList) -> bool:
        """Gather the list's changes; False when reading it whole is cheaper."""
        plans = []
        for signal_type, table in self.base.base.items():
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
        imported = self.new_imports(hash_list)
        changed = set(self.store.entries_labelled_by(imported)) if imported else set()
        if imported:
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
        for table in self.base.base.values():
            if not table.notes or not len(table):
                continue
            ids = np.fromiter(table.notes, np.int64, len(table.notes))
            rows = table.rows_of(ids)
            mine = ids[(rows >= 0) & (table.list_codes[np.maximum(rows, 0)] == hash_list.id)]
            held.update((i, table.notes[i]) for i in mine.tolist())
        return {i for i in stored.keys() | held.keys() if stored.get(i) != held.get(i)}

    def state(self, built_at: float) -> LookupState:
        by_name = {hl.name: hl.id for hl in self.current.values()}
        for entry in self.store.entries_by_ids(self.fetch).values():
            list_id = by_name.get(entry.list_name)
            if list_id is not None:
                self.add(entry, list_id)
        tables = {}
        for signal_type, table in self.base.base.items():
            drop = self.drop_ids[signal_type]
            tables[signal_type] = table.updated(
                self.until[signal_type],
                np.concatenate(drop) if drop else no_ids(),
                self.drop_lists,
            ).merged(self.fresh[signal_type].table())
        return LookupState(
            self.current,
            tables,
            tuple(self.labels.sets),
            self.imports,
            built_at,
            self.import_highs(),
        )
