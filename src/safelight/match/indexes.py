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

Catching up a changed list reads its (id, disabled_until) pairs, adds the ids the index
lacks (values read only for those), then disables/enables to match the store. Reading ids
rather than "ids above the last one seen" also catches an import that committed out of id
order (PostgreSQL sequences hand out ids before commit). A deleted list, or a store or
format mismatch, rebuilds from the store; so does a damaged index (``IndexCorruptError``),
with a warning: a damaged index is never served.
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
            index = self._open_existing()
            if index is not None:
                try:
                    self.verify()
                    if self._catch_up(index, lists):
                        return index
                except IndexCorruptError as exc:
                    self.warn(f"index {self.path} is damaged ({exc.message}); rebuilding")
            return self._rebuild(self.store.list())

    def verify(self, *, everything: bool = False) -> int:
        """Checksum the index files ``open`` does not check in full: large files not yet
        verified in their current version (``everything``: every file, for a scheduled
        check). Raises ``IndexCorruptError``; returns how many files were read."""
        record = self.root / f"{self.signal_type}.verified.json"
        return verify_large_files(self.path, record, everything=everything)

    def rebuild(self) -> Index:
        """Rebuild from the store (after a damaged index was found mid-query)."""
        with self._sync_lock():
            return self._rebuild(self.store.list())

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
        changed = [
            hl
            for key, hl in current.items()
            if key not in state
            or state[key].get("generation") != hl.generation
            or _lapsed(state[key].get("expires"), now)
        ]
        if not changed:
            return True
        new_state = dict(state)
        for hash_list in changed:
            new_state[str(hash_list.id)] = self._sync_list(index, hash_list, now)
        index.set_meta({"format": MATCH_INDEX_FORMAT, "lists": new_state})
        return True

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


def _lapsed(expires: Any, now: datetime) -> bool:
    return isinstance(expires, str) and datetime.fromisoformat(expires) <= now


def _list_state(hash_list: HashList, disabled_until: Any, now: datetime) -> dict[str, Any]:
    """Generation indexed, and when the first timed disable of the list lapses (or None)."""
    future = [u for u in disabled_until if u is not None and now < u < FOREVER]
    expires = min(future).isoformat() if future else None
    return {"name": hash_list.name, "generation": hash_list.generation, "expires": expires}
