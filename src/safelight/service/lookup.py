"""The lookup engine: the service's hot path, with no SQL per request.

    engine = LookupEngine(HashListStore(db), home=home)
    engine.start()                                   # loads, then follows the store
    engine.lookup([("pdq", hex), ("md5", hex)])      # -> [[Match, ...], ...]
    engine.lookup_hits(queries, lists=["KNOWN"])     # the same, with what a reviewer needs

A *view* is a ``LookupState`` (lists and entries in memory, safelight.service.lookup_state)
and the match index of each signal type (memory-mapped segment files: the page cache holds
one copy for every worker). Lookups read the current view and never wait: a background
thread follows the store and, when a list changed, builds the new state from the old one
(changed lists caught up by difference) and swaps it in over the current indexes (hits are
checked against the state, so removals show at once), then brings the on-disk indexes up
to date (``IndexSync``, incremental) and swaps again (additions show). Each swap is one
assignment; until it, the old view serves.

The thread learns of changes by reading ``hash_lists`` (a few rows: generation, enabled,
threshold, provenance) every ``poll_seconds``; on PostgreSQL it also LISTENs on the channel
the store NOTIFYs on every list change (``safelight.lists.store.CHANGE_CHANNEL``) and wakes
at once. A timed disable that lapses wakes it too (the index must show the entry again).

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

from safelight.errors import StoreError, UsageError
from safelight.index import parse_hex
from safelight.lists.models import HashList, ImportInfo
from safelight.lists.store import CHANGE_CHANNEL, HashListStore
from safelight.match.indexes import Index, IndexSync, index_root, indexed_types
from safelight.match.results import Match
from safelight.match.rules import apply_rules
from safelight.service import lookup_snapshot as snapshot
from safelight.service.lookup_state import LookupState, list_signature, value_hex
from safelight.signals.types import registry

log = logging.getLogger(__name__)

# Least seconds between two saves of the lookup state (the first is saved at once).
SNAPSHOT_SECONDS = 300.0
# How long a PostgreSQL listener waits on the channel before reading the lists anyway.
LISTEN_FALLBACK_SECONDS = 2.0


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
    synced_at: float  # when the indexes were synced: disables ending later need a re-sync
    # Entries paused by flood protection (served to no one until resumed; a pause bumps its
    # list's generation, so every new view reads them again).
    paused: frozenset[int] = frozenset()

    def next_lapse(self) -> float | None:
        return self.state.next_lapse(self.synced_at)


class LookupEngine:
    """Serves lookups from memory and follows the store from a background thread."""

    def __init__(
        self,
        store: HashListStore,
        *,
        home: str | os.PathLike[str] | None = None,
        poll_seconds: float = 0.25,
        on_view: Any = None,
    ) -> None:
        self.store = store
        self.home = home
        self.poll_seconds = poll_seconds
        self.signal_types = indexed_types()
        self._syncs = {
            t: IndexSync(store, t, home=home, warn=log.warning) for t in self.signal_types
        }
        self._view: View | None = None
        self._on_view = on_view  # called with each new view (metrics)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._refresh_lock = threading.Lock()
        self.listening = threading.Event()  # PostgreSQL: the listener is subscribed
        self.last_error: str | None = None
        self.refreshes = 0  # views swapped in (tests, metrics)
        self.checked_at = 0.0  # when the view was last found current with the store
        self._root = index_root(store.db, home)
        self._saved: dict[int, int] | None = None  # list generations last saved
        self._saved_at = 0.0
        self.loaded_from: str | None = None  # "snapshot" or "store": how the first view came

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Load the first view and follow the store, in background threads."""
        if self._threads:
            return
        self._stop.clear()
        follow = threading.Thread(target=self._follow, name="lookup-follow", daemon=True)
        self._threads = [follow]
        if self.store.db.dialect == "postgresql":
            listen = threading.Thread(target=self._listen, name="lookup-listen", daemon=True)
            self._threads.append(listen)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
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

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
                self.checked_at = time.time()
                self.last_error = None
                if self._on_view is not None:
                    self._on_view(self)
            except Exception as exc:  # noqa: BLE001 - keep serving the last view; say why
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("lookup state refresh failed: %s", self.last_error)
            self._wake.wait(self._poll_wait())
            self._wake.clear()

    def _poll_wait(self) -> float:
        wait = self.poll_seconds
        if len(self._threads) > 1:  # a listener wakes us: poll only as a fallback
            wait = max(wait, LISTEN_FALLBACK_SECONDS)
        view = self._view
        lapse = view.next_lapse() if view else None
        if lapse is not None:
            wait = min(wait, max(0.0, lapse - time.time()))
        return wait

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
        """Bring the view up to date with the store now; True when a new one was swapped in.

        Safe to call from any thread (one refresh at a time); lookups go on meanwhile."""
        with self._refresh_lock:
            lists = self.store.list()
            view = self._view
            lapse = view.next_lapse() if view else None
            lapsed = lapse is not None and lapse <= time.time()
            if view is not None and not lapsed:
                signature = {hl.id: list_signature(hl) for hl in lists}
                if signature == view.state.signature():
                    return False
            state = self._first_state(lists) if view is None else None
            if state is None:
                assert view is not None
                state = view.state.with_lists(self.store, lists)
                # Served at once over the indexes as they are: every hit is checked
                # against the state, so removals and disables show now; what is new shows
                # when the indexes have caught up (next swap).
                self._view = View(state, view.indexes, view.synced_at, _paused(self.store))
            synced_at = time.time()  # after the state was read: the indexes hold all of it
            indexes = {t: sync.open() for t, sync in self._syncs.items()}
            self._view = View(state, indexes, synced_at, _paused(self.store))
            self.checked_at = synced_at
            if self._on_view is not None:
                self._on_view(self)
            self._maybe_save(state)
            self.refreshes += 1
        return True

    def _first_state(self, lists: list[HashList]) -> LookupState:
        """The saved state caught up with the store, else the store read whole."""
        saved = snapshot.load(self._root, lists, self.signal_types)
        if saved is None:
            self.loaded_from = "store"
            return LookupState.load(self.store, self.signal_types)
        self.loaded_from = "snapshot"
        # Saved again at once if the store moved on: the next start then has less to do.
        self._saved = {i: hl.generation for i, hl in saved.lists.items()}
        return saved.with_lists(self.store, lists)

    def _maybe_save(self, state: LookupState) -> None:
        """Save the state for the next start when it moved on from the saved one: the first
        view at once, later ones at most once per ``SNAPSHOT_SECONDS`` (a save at 10M
        writes ~640 MB)."""
        generations = {i: hl.generation for i, hl in state.lists.items()}
        due = time.monotonic() - self._saved_at >= SNAPSHOT_SECONDS
        if generations == self._saved or not (due or self._saved is None):
            return
        try:
            snapshot.save(self._root, state)
        except OSError as exc:  # the next start reads the store instead: slower, not wrong
            log.warning("lookup snapshot not saved: %s", exc)
            return
        self._saved, self._saved_at = generations, time.monotonic()

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
        kinds = {hl.name: hl.kind for hl in state.lists.values()}
        for position, hits in enumerate(results):
            results[position] = _ruled(hits, kinds, view.paused)
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
        table = state.tables[signal_type]
        limits = np.full(max(hl.id for hl in selected) + 1, -1, np.int64)
        for hl in selected:
            limits[hl.id] = _threshold(hl, signal_type)
        found = view.indexes[signal_type].search(keys, int(limits.max()))
        rows = table.rows_of(found.ids)
        known = rows >= 0
        safe_rows = np.where(known, rows, 0)
        codes = table.list_codes[safe_rows] if len(table) else np.zeros(rows.size, np.int32)
        inside = known & (codes < limits.size)
        limit = np.where(inside, limits[np.minimum(codes, limits.size - 1)], -1)
        until = table.until[safe_rows] if len(table) else np.zeros(rows.size)
        keep = known & (found.distances <= limit) & (until <= now)
        query_of = np.repeat(np.arange(len(positions)), np.diff(found.offsets))
        for hit in np.flatnonzero(keep).tolist():
            row = int(rows[hit])
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
                "size": len(table),
                "generation": state.generation(),
                "built_to": built_to,
                "updated_at": max(self.checked_at, state.built_at),
                "age_seconds": max(0.0, time.time() - max(self.checked_at, state.built_at)),
            }
            for t, table in state.tables.items()
        }

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """For ``/readyz``: ready once the first view serves; each type's size and age, and
        the process answering."""
        details: dict[str, Any] = {
            t: {k: v for k, v in s.items() if k != "built_to"} for t, s in self.state().items()
        }
        details["worker"] = os.getpid()  # which worker answered (each holds its own view)
        details["loaded_from"] = self.loaded_from
        if self.last_error:
            details["last_error"] = self.last_error
        return self.ready, details


def _parse(
    view: View, signal_type: str, positions: list[int], queries: Sequence[tuple[str, str]]
) -> np.ndarray:
    """The keys of one type's queries; UsageError naming the first bad one."""
    width = view.state.tables[signal_type].keys.shape[1]
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


def _paused(store: HashListStore) -> frozenset[int]:
    """Ids of the entries flood protection paused (few: each waits for a reviewer)."""
    from safelight.match.flood import paused_entry_ids

    return frozenset(paused_entry_ids(store))


def _ruled(hits: list[LookupHit], kinds: dict[str, str], paused: frozenset[int]) -> list[LookupHit]:
    """The matching rules of every front (``safelight.match.rules``): allow lists suppress
    block matches, paused entries are not served; hits kept in the reporting order."""
    by_match = {id(hit.match): hit for hit in hits}
    ruled = apply_rules([hit.match for hit in hits], kinds, paused)
    return [by_match[id(m)] for m in ruled.matches]
