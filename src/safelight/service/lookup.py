"""The lookup engine: the service's hot path, with no SQL per request.

    engine = LookupEngine(HashListStore(db), home=home)
    engine.start()                                   # loads, then follows the store
    engine.lookup([("pdq", hex), ("md5", hex)])      # -> [[Match, ...], ...]
    engine.lookup_hits(queries, lists=["KNOWN"])     # the same, with what a reviewer needs

A *view* is a ``LookupState`` (lists and entries in memory: a base and a small overlay of
what changed since, safelight.service.lookup_state), the match index of each signal type
(memory-mapped segment files: the page cache holds one copy for every worker) and the
overlay rows the index does not hold yet (``lookup_pending``, searched beside it). Lookups
read the current view and never wait; each swap is one assignment.

Two background threads keep it current:

- the *follower* learns of changes by reading ``hash_lists`` (a few rows) every
  ``poll_seconds``, or at once on PostgreSQL, where it LISTENs on the channel every list
  change NOTIFYs (``safelight.lists.changes.CHANGE_CHANNEL``). It catches the state up by
  the change log (the entries the change touched, re-read by id) and swaps it in: from that
  moment a disable, a deletion and an addition are all served (an addition from the
  pending rows).
- the *maintainer* brings the on-disk indexes up to date (``IndexSync``, by the change log,
  one process at a time), compacts them when their deltas pile up, and folds the state's
  overlay into a new base saved beside the indexes (``lookup_snapshot.compact``; the
  workers end up mapping the same files) when it has grown, then swaps again. A timed
  disable that lapses wakes it (the index hid the entry).

Every index hit is checked against the view's state (entry known, its list selected and
enabled, the entry enabled now, distance within its list's threshold), as ``Matcher`` checks
it against the store: an index a moment ahead of or behind the state never serves a hit the
state does not allow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from safelight.constants import DELTA_COMPACT_FRACTION, DELTA_MERGE_ROWS, MAX_DELTA_SEGMENTS
from safelight.errors import StoreError, UsageError
from safelight.index import parse_hex
from safelight.index.directory import IndexStats
from safelight.lists.changes import local_changes
from safelight.lists.models import HashList, ImportInfo
from safelight.lists.store import CHANGE_CHANNEL, HashListStore
from safelight.match.indexes import Index, IndexSync, index_root, indexed_types
from safelight.match.results import Match
from safelight.match.rules import apply_rules
from safelight.service import lookup_snapshot as snapshot
from safelight.service.lookup_pending import Pending, combined
from safelight.service.lookup_state import LookupState, list_signature, value_hex
from safelight.signals.types import registry

log = logging.getLogger(__name__)

# The overlay is folded into a new saved base past this many changed rows (a restart then
# re-reads at most about this many entries), or when it has waited this long.
FOLD_ROWS = 20_000
FOLD_SECONDS = 3600.0
# How long a PostgreSQL listener waits on the channel before reading the lists anyway.
LISTEN_FALLBACK_SECONDS = 2.0
# After a failed fold or save, how long before the next try.
RETRY_SECONDS = 60.0


class IndexNotReadyError(StoreError):
    """Lookups before the first view is loaded (HTTP 503: retry shortly)."""

    default_code = "index_not_ready"


@dataclass(frozen=True, slots=True)
class LookupHit:
    """A match with what a reviewer needs beside it: the list's provenance, the entry's
    note and where it came from (its import)."""

    match: Match
    hash_list: HashList
    threshold: int
    note: str | None
    imported: ImportInfo | None

    def to_dict(self) -> dict[str, Any]:
        out = self.match.to_dict()
        out["threshold"] = self.threshold
        out["list_provenance"] = {
            "description": self.hash_list.description,
            "source": self.hash_list.source,
            "terms_of_use": self.hash_list.terms_of_use,
        }
        out["note"] = self.note
        imported = self.imported
        out["metadata"] = {
            "import": None
            if imported is None
            else {
                "id": imported.id,
                "source_path": imported.source_path,
                "sha256": imported.sha256,
                "format": imported.format,
                "imported_at": imported.imported_at.isoformat(),
                "imported_by": imported.imported_by,
            }
        }
        return out


@dataclass(frozen=True, slots=True)
class View:
    state: LookupState
    indexes: dict[str, Index]
    pending: dict[str, Pending]  # overlay rows the index lacks, per signal type

    @property
    def paused(self) -> frozenset[int]:
        """Entries paused by flood protection (served to no one until resumed)."""
        return self.state.paused


class LookupEngine:
    """Serves lookups from memory and follows the store from background threads."""

    def __init__(
        self,
        store: HashListStore,
        *,
        home: str | os.PathLike[str] | None = None,
        poll_seconds: float = 0.25,
        on_view: Any = None,
        fold_rows: int = FOLD_ROWS,
        fold_seconds: float = FOLD_SECONDS,
        compact_removed_rows: int | None = None,
    ) -> None:
        self.store = store
        self.home = home
        self.poll_seconds = poll_seconds
        self.fold_rows = fold_rows
        self.fold_seconds = fold_seconds
        # Removed (deleted) rows an index may carry before it is compacted; None: a tenth
        # of its rows (they cost a binary search per hit, not a rewrite of 10M rows each).
        self.compact_removed_rows = compact_removed_rows
        self.signal_types = indexed_types()
        self._syncs = {
            t: IndexSync(store, t, home=home, warn=log.warning) for t in self.signal_types
        }
        self._state: LookupState | None = None
        self._indexes: dict[str, Index] | None = None
        self._view: View | None = None
        self._on_view = on_view  # called with each new view (metrics)
        self._wake = threading.Event()  # the follower: a change may be waiting
        self._maintain = threading.Event()  # the maintainer: the state moved on
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._follow_lock = threading.Lock()  # one state change at a time
        self._sync_lock = threading.Lock()  # one index sync / fold at a time
        self._publish_lock = threading.Lock()  # views are built one at a time
        self.listening = threading.Event()  # PostgreSQL: the listener is subscribed
        self.last_error: str | None = None
        self.refreshes = 0  # states swapped in (tests, metrics)
        self.folds = 0  # overlays folded into a new base (tests, metrics)
        self.checked_at = 0.0  # when the state was last found current with the store
        self.synced_at = 0.0  # when the indexes were last brought up to date
        self._root = index_root(store.db, home)
        self._based_at = time.monotonic()  # when the state's base was made or taken
        self._fold_at_start = True  # a first state that moved on from its save is saved
        self._retry_fold_at = 0.0
        self.loaded_from: str | None = None  # "snapshot" or "store": how the first view came
        self._created = time.monotonic()
        self._local_seen = -1  # this process's list changes when the lists were last read
        self.startup_seconds: float | None = None  # until the first view served

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Load the first view and follow the store, in background threads."""
        if self._threads:
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._follow_loop, name="lookup-follow", daemon=True),
            threading.Thread(target=self._maintain_loop, name="lookup-maintain", daemon=True),
        ]
        if self.store.db.dialect == "postgresql":
            listen = threading.Thread(target=self._listen, name="lookup-listen", daemon=True)
            self._threads.append(listen)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._maintain.set()
        for thread in self._threads:
            thread.join()
        self._threads = []

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._view is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._view is not None

    @property
    def ready(self) -> bool:
        return self._view is not None

    @property
    def version(self) -> object | None:
        """An opaque token that changes whenever the lists served change (None before the
        first view): caches of facts about lists and entries are kept per version."""
        view = self._view
        return None if view is None else view.state

    def _follow_loop(self) -> None:
        while not self._stop.is_set():
            self._guarded(self.follow)
            self._wake.wait(self._poll_wait())
            self._wake.clear()

    def _maintain_loop(self) -> None:
        while not self._stop.is_set():
            if self._state is not None:
                self._guarded(self.maintain)
            self._maintain.wait(self._maintain_wait())
            self._maintain.clear()

    def _guarded(self, step: Any) -> None:
        try:
            step()
            self.last_error = None
        except Exception as exc:  # noqa: BLE001 - keep serving the last view; say why
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("lookup state refresh failed: %s", self.last_error)

    def _poll_wait(self) -> float:
        if len(self._threads) > 2:  # a listener wakes us: poll only as a fallback
            return max(self.poll_seconds, LISTEN_FALLBACK_SECONDS)
        return self.poll_seconds

    def _maintain_wait(self) -> float:
        """Until the next timed disable lapses (the index hid it), a minute at most."""
        state = self._state
        lapse = state.next_lapse(self.synced_at) if state is not None else None
        wait = 60.0 if lapse is None else max(0.0, lapse - time.time())
        return min(wait, 60.0)

    def _listen(self) -> None:
        """Wake the follower on each NOTIFY of a list change (PostgreSQL)."""
        import psycopg

        url = self.store.db.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANGE_CHANNEL}")
                    self.listening.set()
                    self._wake.set()  # changes made before LISTEN: read the lists once
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._wake.set()
            except Exception as exc:  # noqa: BLE001 - polling goes on; try again shortly
                self.listening.clear()
                log.warning("lookup listener: %s", exc)
                self._stop.wait(1.0)

    # --- following the store -----------------------------------------------------------

    def refresh(self) -> bool:
        """Bring the view up to date with the store now, indexes included (and fold the
        state when due); True when the state moved on. Safe from any thread; lookups go on
        meanwhile."""
        moved = self.follow()
        self.maintain()
        return moved

    def follow(self) -> bool:
        """Catch the state up with the store and swap it in; True when it moved on."""
        with self._follow_lock:
            seen = local_changes()  # before reading: a change after it is not in them
            lists = self.store.list()
            state = self._state
            if state is None:
                state = self._first_state(lists)
            else:
                signature = {hl.id: list_signature(hl) for hl in lists}
                if signature == state.signature():
                    self.checked_at = time.time()
                    view = self._view
                    if view is not None and view.state is not state:
                        self._publish()  # another thread's state, not served yet: now
                    else:
                        self._report()
                    self._local_seen = seen
                    return False
                state = state.with_lists(self.store, lists)
            self._state = state
            self.checked_at = time.time()
            self.refreshes += 1
            self._publish()
            # Only now: a caller that saw a change of its own pending (``changed_here``)
            # waits for this follow rather than serving the view from before it.
            self._local_seen = seen
        self._maintain.set()
        return True

    def changed_here(self) -> bool:
        """Whether this process changed a list since the follower last read the lists (a
        front that must show its own change at once then calls ``follow``)."""
        return local_changes() != self._local_seen

    def maintain(self) -> None:
        """Bring the indexes up to date, compact them when due, fold the state when due."""
        with self._sync_lock:
            state = self._state
            if state is None:
                self.follow()
                state = self._state
                assert state is not None
            # The indexes are synced after the state was read: they hold every entry of
            # it (what a fold of this state makes base rows must be in the index).
            synced_at = time.time()
            indexes = {t: sync.open() for t, sync in self._syncs.items()}
            if self._indexes is None:  # the first view: its first lookups as fast as later
                _warm(indexes)
            self._indexes = indexes
            self.synced_at = synced_at
            self._publish()
            for index in self._indexes.values():
                if self._compaction_due(index.stats()):
                    index.compact()
            if self._fold_due(state):
                self._fold(state)

    def _compaction_due(self, stats: IndexStats) -> bool:
        """The index's deltas have piled up, or it carries many removed rows."""
        limit = self.compact_removed_rows
        if limit is None:
            limit = int(DELTA_COMPACT_FRACTION * max(stats.rows, DELTA_MERGE_ROWS))
        base_rows = stats.rows - stats.delta_rows
        return (
            stats.segments - 1 > MAX_DELTA_SEGMENTS
            or stats.delta_rows > DELTA_COMPACT_FRACTION * max(base_rows, DELTA_MERGE_ROWS)
            or stats.removed > limit
        )

    def _fold_due(self, state: LookupState) -> bool:
        if time.monotonic() < self._retry_fold_at:
            return False
        if state.source is None or (self._fold_at_start and state.changed_rows()):
            return True  # a base read from the store, or a first state ahead of its save
        changed = state.changed_rows()
        aged = time.monotonic() - self._based_at >= self.fold_seconds
        return changed > self.fold_rows or bool(changed and aged)

    def _fold(self, state: LookupState) -> None:
        """Fold the state into a saved base (or take one another worker saved), then catch
        it up with the store and swap it in."""
        self._fold_at_start = False
        try:
            base = snapshot.compact(self._root, state, self.store.list(), self.signal_types)
        except OSError as exc:  # the next start reads more: slower, not wrong
            base = None
            log.warning("lookup state not saved: %s", exc)
        if base is None:
            self._retry_fold_at = time.monotonic() + RETRY_SECONDS
            return
        with self._follow_lock:
            self._state = base.with_lists(self.store, self.store.list())
            self._based_at = time.monotonic()
            self.folds += 1
        self._publish()

    def _first_state(self, lists: list[HashList]) -> LookupState:
        """The saved state caught up with the store, else the store read whole."""
        saved = snapshot.load(self._root, lists, self.signal_types)
        if saved is None:
            self.loaded_from = "store"
            return LookupState.load(self.store, self.signal_types)
        self.loaded_from = "snapshot"
        return saved.with_lists(self.store, lists)

    def _publish(self) -> None:
        """Swap in a view of the newest state over the indexes (once they are open)."""
        with self._publish_lock:
            state, indexes = self._state, self._indexes
            if state is None or indexes is None:
                return
            pending = {t: Pending.of(state.overlay.get(t), i) for t, i in indexes.items()}
            if self._view is None:
                self.startup_seconds = round(time.monotonic() - self._created, 3)
            self._view = View(state, indexes, pending)
        self._report()

    def _report(self) -> None:
        if self._on_view is not None and self._view is not None:
            self._on_view(self)

    # --- lookups -----------------------------------------------------------------------

    def lookup(
        self, queries: Sequence[tuple[str, str]], lists: Sequence[str] | None = None
    ) -> list[list[Match]]:
        """Matches of each (signal type, hex) query in the lists (None: every enabled one),
        by (distance, list, entry id), as ``Matcher.match_hashes`` finds them."""
        return [[hit.match for hit in hits] for hits in self.lookup_hits(queries, lists)]

    def lookup_hits(
        self, queries: Sequence[tuple[str, str]], lists: Sequence[str] | None = None
    ) -> list[list[LookupHit]]:
        """``lookup`` with each match's list provenance, note and import. Lists named that
        do not exist or are disabled match nothing (a token's scope is not a selection).
        An unknown or unindexed type, or a bad value, raises UsageError naming the query."""
        view = self._view
        if view is None:
            raise IndexNotReadyError("the lookup index is still loading; retry shortly")
        state = view.state
        selected = [
            hl for hl in state.lists.values() if hl.enabled and (lists is None or hl.name in lists)
        ]
        results: list[list[LookupHit]] = [[] for _ in queries]
        by_type: dict[str, list[int]] = {}
        for position, (signal_type, _) in enumerate(queries):
            if signal_type not in view.indexes:
                raise UsageError(
                    f"query {position}: no index holds {signal_type!r} values "
                    f"(indexed: {', '.join(self.signal_types)})",
                    field=f"queries[{position}].signal_type",
                )
            by_type.setdefault(signal_type, []).append(position)
        keys = {t: _parse(view, t, positions, queries) for t, positions in by_type.items()}
        if not selected:
            return results
        now = time.time()
        for signal_type, positions in by_type.items():
            self._lookup_type(
                view, signal_type, positions, keys[signal_type], selected, now, results
            )
        if any(results):
            kinds = {hl.name: hl.kind for hl in state.lists.values()}
            results = [_ruled(hits, kinds, view.paused) if hits else hits for hits in results]
        return results

    def _lookup_type(
        self,
        view: View,
        signal_type: str,
        positions: list[int],
        keys: np.ndarray,
        selected: list[HashList],
        now: float,
        results: list[list[LookupHit]],
    ) -> None:
        state = view.state
        limits = np.full(max(hl.id for hl in selected) + 1, -1, np.int64)
        for hl in selected:
            limits[hl.id] = _threshold(hl, signal_type)
        threshold = int(limits.max())
        found = view.indexes[signal_type].search(keys, threshold)
        found = combined(found, view.pending[signal_type].search(keys, threshold))
        if not found.ids.size:  # most lookups: nothing within the threshold
            return
        where = state.locate(signal_type, found.ids)
        codes = where.column("list_codes")
        inside = where.known & (codes < limits.size)
        limit = np.where(inside, limits[np.minimum(codes, limits.size - 1)], -1)
        keep = where.known & (found.distances <= limit) & (where.column("until") <= now)
        query_of = np.repeat(np.arange(len(positions)), np.diff(found.offsets))
        for hit in np.flatnonzero(keep).tolist():
            table, row = where.table(hit), int(where.rows[hit])
            entry_id = int(table.ids[row])
            hash_list = state.lists[int(table.list_codes[row])]
            import_id = int(table.import_ids[row])
            match = Match(
                hash_list.name,
                entry_id,
                value_hex(table, row),
                int(found.distances[hit]),
                state.label_sets[int(table.label_codes[row])],
                signal_type,
            )
            results[positions[int(query_of[hit])]].append(
                LookupHit(
                    match,
                    hash_list,
                    int(limits[hash_list.id]),
                    table.notes.get(entry_id),
                    state.imports.get(import_id) if import_id >= 0 else None,
                )
            )

    # --- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, dict[str, Any]]:
        """Per signal type: entries held, the lists' summed generation, the generation of
        each list (``built_to``), when the view was last found current (``updated_at``)."""
        view = self._view
        if view is None:
            return {t: {"size": 0, "generation": None, "built_to": None} for t in self.signal_types}
        state = view.state
        built_to = {hl.name: hl.generation for hl in state.lists.values()}
        return {
            t: {
                "size": state.size(t),
                "generation": state.generation(),
                "built_to": built_to,
                "updated_at": max(self.checked_at, state.built_at),
                "age_seconds": max(0.0, time.time() - max(self.checked_at, state.built_at)),
                "pending": len(view.pending[t]),
            }
            for t in state.base
        }

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """For ``/readyz``: ready once the first view serves; each type's size and age, and
        the process answering."""
        details: dict[str, Any] = {
            t: {k: v for k, v in s.items() if k != "built_to"} for t, s in self.state().items()
        }
        details["worker"] = os.getpid()  # which worker answered (each holds its own view)
        details["loaded_from"] = self.loaded_from
        details["startup_seconds"] = self.startup_seconds
        if self.last_error:
            details["last_error"] = self.last_error
        return self.ready, details


def _warm(indexes: dict[str, Index]) -> None:
    """One search per index: the kernels' compiled code is loaded before the first
    lookup needs it (about a second), not during it."""
    for index in indexes.values():
        index.search(np.zeros((1, index.key_width), np.uint8), 0)


def _parse(
    view: View, signal_type: str, positions: list[int], queries: Sequence[tuple[str, str]]
) -> np.ndarray:
    """The keys of one type's queries; UsageError naming the first bad one."""
    width = view.state.base[signal_type].keys.shape[1]
    keys, ok, bad = parse_hex([queries[i][1] for i in positions], width)
    if bad:
        where = positions[int(np.flatnonzero(~ok)[0])]
        raise UsageError(f"query {where}: {bad[0][1]}", field=f"queries[{where}].value")
    return keys


def _threshold(hash_list: HashList, signal_type: str) -> int:
    """As ``Matcher.threshold_of``: 0 for exact types, the list's own for PDQ."""
    kind = registry.get(signal_type)
    if kind.distance == "exact":
        return 0
    if kind.name == "pdq":
        return hash_list.pdq_threshold
    return int(kind.default_threshold)


def _ruled(hits: list[LookupHit], kinds: dict[str, str], paused: frozenset[int]) -> list[LookupHit]:
    """The matching rules of every front (``safelight.match.rules``): allow lists suppress
    block matches, paused entries are not served; hits kept in the reporting order."""
    by_match = {id(hit.match): hit for hit in hits}
    ruled = apply_rules([hit.match for hit in hits], kinds, paused)
    return [by_match[id(m)] for m in ruled.matches]
