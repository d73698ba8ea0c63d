"""Indexes kept in step with the hash-list store: one index directory per signal type.

One index per signal type holds the entries of *every* list (entry ids are global), so
"match against every enabled list" is one search; the list of each hit comes back from
``HashListStore.entries_by_ids`` and is filtered there. The index hides entries disabled in
the store (``disable``/``enable``), but the store stays the authority: a hit is served only
after ``entries_by_ids`` confirms its list is selected and enabled and the entry enabled now.

The sync state lives in the index manifest's ``meta`` (one small JSON object, replaced
atomically and checksummed with the manifest): per list id, the generation the index
reflects and the earliest future ``disabled_until`` (when a timed disable lapses, the list
is re-synced though its generation did not move). Sync is idempotent and the state is
written last, so a crash mid-sync only means the next open redoes that list.

Catching up a changed list reads the entries its changes touched from the change log
(``safelight.lists.changes``: the cost is the change's, not the list's): those the index
lacks are added, those gone removed, the rest disabled or enabled to match the store, all
published as one index generation. When the log cannot say (a bulk change, rows pruned) or
the list is new, the list's (id, disabled_until) pairs are read instead and compared. When
a timed disable lapses, the index's disabled ids are checked against the store (the cost is
the disabled entries'). A deleted list, or a store or format mismatch, rebuilds from the
store; so does a damaged index (``IndexCorruptError``), with a warning: a damaged index is
never served.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from safelight.constants import MATCH_INDEX_FORMAT
from safelight.errors import IndexCorruptError, NotFoundError
from safelight.index import DigestIndex, HammingIndex, parse_hex
from safelight.lists.models import HashList
from safelight.lists.store import FOREVER, HashListStore
from safelight.match.verified import verify_large_files
from safelight.signals.types import registry
from safelight.store import Database
from safelight.store.database import default_home

Index = HammingIndex | DigestIndex
Warn = Callable[[str], None]
# The index class of each index kind of the signal-type registry (vPDQ has its own frame
# index, safelight.match.vpdq_frames). Both classes share build/open/search/add/enable.
INDEX_CLASSES: dict[str, type[HammingIndex] | type[DigestIndex]] = {
    "hamming": HammingIndex,
    "digest": DigestIndex,
}


def indexed_types() -> tuple[str, ...]:
    """Names of the signal types held in a fixed-width index (built-in and registered)."""
    return tuple(t.name for t in registry.indexed())


def store_key(db: Database) -> str:
    """A folder name per store (URL without password + schema): two stores never share."""
    url = db.engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(f"{url}|{db.schema or ''}".encode()).hexdigest()[:16]


def index_root(db: Database, home: str | os.PathLike[str] | None = None) -> Path:
    return Path(home if home is not None else default_home()) / "indexes" / store_key(db)


def _key_width(signal_type: str) -> int:
    return registry.get(signal_type).key_bytes


def _empty(signal_type: str) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros((0, _key_width(signal_type)), np.uint8)


class IndexSync:
    """Opens the index of one signal type, brought up to date with the store."""

    def __init__(
        self,
        store: HashListStore,
        signal_type: str,
        *,
        home: str | os.PathLike[str] | None = None,
        warn: Warn | None = None,
    ) -> None:
        self.store = store
        self.signal_type = signal_type
        self.root = index_root(store.db, home)
        self.path = self.root / signal_type
        self.warn: Warn = warn or (lambda message: None)
        self.rebuilt = False  # set when the last open rebuilt from the store (tests, timing)
        self._index: Index | None = None  # kept between opens: its mappings are reused

    @contextmanager
    def _sync_lock(self) -> Iterator[None]:
        """One syncing process per index: two adding the same ids would conflict."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{self.signal_type}.sync.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def open(self) -> Index:
        """The index, current with the store as of this call."""
        with self._sync_lock():
            self.rebuilt = False
            lists = self.store.list()
            index = self._index or self._open_existing()
            if index is not None:
                try:
                    self.verify()
                    if self._catch_up(index, lists):
                        self._index = index
                        return index
                except (IndexCorruptError, NotFoundError) as exc:
                    self.warn(f"index {self.path} is damaged ({exc.message}); rebuilding")
            self._index = self._rebuild(self.store.list())
            return self._index

    def verify(self, *, everything: bool = False) -> int:
        """Checksum the index files ``open`` does not check in full: large files not yet
        verified in their current version (``everything``: every file, for a scheduled
        check). Raises ``IndexCorruptError``; returns how many files were read."""
        record = self.root / f"{self.signal_type}.verified.json"
        return verify_large_files(self.path, record, everything=everything)

    def rebuild(self) -> Index:
        """Rebuild from the store (after a damaged index was found mid-query)."""
        with self._sync_lock():
            self._index = self._rebuild(self.store.list())
            return self._index

    def _open_existing(self) -> Index | None:
        try:
            index: Index = self._index_class().open(self.path)
        except NotFoundError:
            return None
        except IndexCorruptError as exc:
            self.warn(f"index {self.path} is damaged ({exc.message}); rebuilding from the store")
            return None
        return index

    def _index_class(self) -> type[HammingIndex] | type[DigestIndex]:
        return INDEX_CLASSES[registry.get(self.signal_type).index_kind]

    def _catch_up(self, index: Index, lists: list[HashList]) -> bool:
        """Apply the store's changes since the state in ``meta``; False: rebuild instead."""
        meta = index.meta
        state = meta.get("lists")
        if meta.get("format") != MATCH_INDEX_FORMAT or not isinstance(state, dict):
            return False
        current = {str(hl.id): hl for hl in lists}
        if set(state) - set(current):
            return False  # a list was deleted: its ids are unknown now, so rebuild
        now = self.store.clock()
        new_state = dict(state)
        if any(_lapsed(state[key].get("expires"), now) for key in state):
            new_state.update(self._recheck_disabled(index, current, state, now))
        changed = [
            hl
            for key, hl in current.items()
            if key not in state or state[key].get("generation") != hl.generation
        ]
        if not changed and new_state == state:
            return True
        edits = _Edits()
        for hash_list in changed:
            key = str(hash_list.id)
            logged = None
            if key in state:
                after = int(state[key].get("generation", -1))
                logged = self.store.entry_changes(hash_list.id, after, hash_list.generation)
            if logged is not None and logged.complete:
                new_state[key] = self._edits_of(
                    index, hash_list, logged.entry_ids, now, new_state[key], edits
                )
            else:
                new_state[key] = self._sync_list(index, hash_list, now)
        keys, ok, bad = parse_hex(edits.add_values, _key_width(self.signal_type))
        for where, why in bad:  # never served, as in a rebuild
            self.warn(f"{self.signal_type} {where}: {why}; not indexed")
        index.apply(
            add_ids=np.asarray(edits.add_ids, np.int64)[ok],
            add_keys=keys,
            enable=edits.enable,
            disable=edits.disable,
            remove=edits.remove,
            meta={"format": MATCH_INDEX_FORMAT, "lists": new_state},
        )
        return True

    def _edits_of(
        self,
        index: Index,
        hash_list: HashList,
        ids: tuple[int, ...],
        now: datetime,
        previous: dict[str, Any],
        edits: _Edits,
    ) -> dict[str, Any]:
        """What the logged changes of one list do to the index (gathered in ``edits``);
        returns the list's new sync state."""
        found = self.store.entries_by_ids(ids)
        mine = sorted(i for i, e in found.items() if e.signal_type == self.signal_type)
        held = set(np.asarray(mine, np.int64)[index.holds(mine)].tolist()) if mine else set()
        edits.remove += [i for i in ids if i not in found]
        future: list[datetime] = []
        for entry_id in mine:
            entry = found[entry_id]
            if entry_id not in held:
                edits.add_ids.append(entry_id)
                edits.add_values.append(entry.value)
            until = entry.disabled_until
            if until is not None and until > now:
                edits.disable.append(entry_id)
                if until < FOREVER:
                    future.append(until)
            else:
                edits.enable.append(entry_id)
        expires = previous.get("expires")
        if isinstance(expires, str) and not _lapsed(expires, now):
            future.append(datetime.fromisoformat(expires))
        return {
            "name": hash_list.name,
            "generation": hash_list.generation,
            "expires": min(future).isoformat() if future else None,
        }

    def _recheck_disabled(
        self,
        index: Index,
        current: dict[str, HashList],
        state: dict[str, Any],
        now: datetime,
    ) -> dict[str, dict[str, Any]]:
        """A timed disable lapsed: check the index's disabled ids against the store
        (enable the lapsed, remove the gone); returns every list's new ``expires``."""
        disabled = index.disabled_ids()
        stored = self.store.entry_states_by_ids(disabled.tolist())
        lapsed = [i for i, (_, u) in stored.items() if u is None or u <= now]
        gone = [i for i in disabled.tolist() if i not in stored]
        index.apply(enable=lapsed, remove=gone)
        future: dict[str, datetime] = {}
        for list_id, until in stored.values():
            if until is not None and now < until < FOREVER:
                key = str(list_id)
                future[key] = min(until, future.get(key, until))
        out = {}
        for key, old in state.items():
            expires = future.get(key)
            out[key] = {**old, "expires": None if expires is None else expires.isoformat()}
            if key in current:
                out[key]["name"] = current[key].name
        return out

    def _sync_list(self, index: Index, hash_list: HashList, now: datetime) -> dict[str, Any]:
        states = self.store.entry_states(hash_list.name, self.signal_type)
        ids = np.fromiter((i for i, _ in states), dtype=np.int64, count=len(states))
        hidden = np.fromiter((u is not None and u > now for _, u in states), bool, len(states))
        # Enable first: ``contains`` only sees matchable ids, and a disabled id is present.
        # Readers meanwhile may get a hit the store has disabled; the Matcher drops it.
        index.enable(ids[~hidden])
        index.enable(ids[hidden])
        missing = ids[~index.contains(ids)] if ids.size else ids
        if missing.size:
            wanted = set(missing.tolist())
            rows = self.store.index_rows(
                self.signal_type, list_names=[hash_list.name], after_id=int(missing[0]) - 1
            )
            new = [(r.id, r.value) for r in rows if r.id in wanted]
            new_ids = np.fromiter((i for i, _ in new), dtype=np.int64, count=len(new))
            keys, ok, bad = parse_hex([v for _, v in new], _key_width(self.signal_type))
            for where, why in bad:
                self.warn(f"list {hash_list.name!r}: {where}: {why}; not indexed")
            index.add(new_ids[ok], keys)
        index.disable(ids[hidden])
        return _list_state(hash_list, (u for _, u in states), now)

    def _rebuild(self, lists: list[HashList]) -> Index:
        self.rebuilt = True
        now = self.store.clock()
        ids: list[int] = []
        values: list[str] = []
        hidden: list[int] = []
        until: dict[str, list[datetime | None]] = {hl.name: [] for hl in lists}
        for row in self.store.index_rows(self.signal_type):
            ids.append(row.id)
            values.append(row.value)
            until.setdefault(row.list_name, []).append(row.disabled_until)
            if row.disabled_until is not None and row.disabled_until > now:
                hidden.append(row.id)
        keys, ok, bad = parse_hex(values, _key_width(self.signal_type))
        for where, why in bad:
            self.warn(f"{self.signal_type} {where}: {why}; not indexed")
        id_array = np.asarray(ids, dtype=np.int64)[ok] if ids else _empty(self.signal_type)[0]
        if not ids:
            keys = _empty(self.signal_type)[1]
        state = {str(hl.id): _list_state(hl, until.get(hl.name, []), now) for hl in lists}
        meta = {"format": MATCH_INDEX_FORMAT, "lists": state}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        index: Index = self._index_class().build(
            self.path, id_array, keys, signal_type=self.signal_type, meta=meta
        )
        if hidden:
            index.disable(np.asarray(hidden, dtype=np.int64))
        self.verify()  # the new base, checked once now rather than on the next open
        return index


class _Edits:
    """Index changes gathered over lists, published together (``Index.apply``)."""

    def __init__(self) -> None:
        self.add_ids: list[int] = []
        self.add_values: list[str] = []
        self.enable: list[int] = []
        self.disable: list[int] = []
        self.remove: list[int] = []


def _lapsed(expires: Any, now: datetime) -> bool:
    return isinstance(expires, str) and datetime.fromisoformat(expires) <= now


def _list_state(hash_list: HashList, disabled_until: Any, now: datetime) -> dict[str, Any]:
    """Generation indexed, and when the first timed disable of the list lapses (or None)."""
    future = [u for u in disabled_until if u is not None and now < u < FOREVER]
    expires = min(future).isoformat() if future else None
    return {"name": hash_list.name, "generation": hash_list.generation, "expires": expires}
