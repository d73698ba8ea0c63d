"""An index directory: immutable base + delta segments, disabled/removed id sets, a manifest.

Writers (build, add, disable, enable, remove, compact) serialise on an ``flock`` of the
``LOCK`` file, write new immutable files, then publish them by replacing the manifest. Readers
never lock: each query ``stat``s the manifest and, when it changed, maps the new generation's
files (reusing the ones it already has). Files a new generation no longer lists are deleted;
a reader still holding them keeps a valid mapping (POSIX keeps unlinked files alive).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from safelight.constants import (
    DELTA_COMPACT_FRACTION,
    DELTA_MERGE_ROWS,
    INDEX_FULL_VERIFY_BYTES,
    MAX_DELTA_SEGMENTS,
)
from safelight.errors import ConflictError, IndexCorruptError, InputError, NotFoundError, UsageError
from safelight.index import manifest as mf
from safelight.index.fileformat import temp_name
from safelight.index.hashes import as_id_array
from safelight.index.manifest import Manifest
from safelight.index.segments import IdSet, Segment, SegmentInfo

I64 = npt.NDArray[np.int64]
S = TypeVar("S", bound=Segment)
LOCK_NAME = "LOCK"
COMPACT_LOCK_NAME = "COMPACT.LOCK"
_OWN_FILE = re.compile(r"^(seg|ids)-(\d+)-[0-9a-f]+\.(seg|ids)$")
_TEMP_FILE = re.compile(r"^\.tmp-(\d+)-")
# A manifest written less than this long ago may share (inode, size, mtime) with a successor
# written in the same filesystem clock tick; such a manifest is re-read, not trusted by stat.
_STAT_GRANULARITY_NS = 100_000_000
_OPEN_RETRIES = 20


@dataclass(frozen=True, slots=True)
class SegmentView(Generic[S]):
    """An immutable snapshot of one generation, used by a query from start to end."""

    manifest: Manifest
    segments: tuple[S, ...]
    disabled: I64
    removed: I64
    hidden: I64  # sorted union of disabled and removed: never served


@dataclass(frozen=True, slots=True)
class IndexStats:
    generation: int
    rows: int
    entries: int
    disabled: int
    removed: int
    segments: int
    delta_rows: int
    file_bytes: int
    needs_compaction: bool


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


class SegmentedIndex(Generic[S]):
    """Shared machinery of ``HammingIndex`` and ``DigestIndex``; see docs/index-format.md."""

    kind: ClassVar[str]
    key_width: int

    # --- subclass hooks ---------------------------------------------------------------------
    def _write_segment(self, path: Path, ids: I64, keys: npt.NDArray[np.uint8]) -> SegmentInfo:
        raise NotImplementedError

    def _open_segment(self, path: Path, info: SegmentInfo, verify: bool) -> S:
        raise NotImplementedError

    def _segment_keys(self, segment: S) -> npt.NDArray[np.uint8]:
        """Keys of a segment in its row order."""
        raise NotImplementedError

    def _check_keys(self, keys: Any, field: str) -> npt.NDArray[np.uint8]:
        raise NotImplementedError

    # --- construction -----------------------------------------------------------------------
    def __init__(self, path: Path, signal_type: str, *, verify: bool = False) -> None:
        self.path = path
        self._where = os.fspath(path)  # for the check before every search: no Path joins
        self.signal_type = signal_type
        self._verify_on_open = verify
        self._reload_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stat: tuple[int, int, int] | None = None
        self._fresh = True
        self._current: SegmentView[S] | None = None

    @classmethod
    def _create(
        cls,
        path: str | os.PathLike[str],
        signal_type: str,
        ids: Any,
        keys: Any,
        meta: dict[str, Any] | None,
    ) -> Any:
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        index = cls.__new__(cls)
        index._init_for(directory, signal_type)
        key_array = index._check_keys(keys, "hashes")
        id_array = as_id_array(ids, len(key_array))
        _check_unique(id_array)
        with index._locked():
            try:
                previous, _ = mf.read(directory)
                generation = previous.generation
            except (FileNotFoundError, IndexCorruptError):
                # A damaged index is what a rebuild is for; continue past every generation
                # named on disk so no reader mistakes the new one for an old one.
                generation = _highest_generation(directory)
            name = index._new_name("seg", generation + 1)
            info = index._write_segment(directory / name, id_array, key_array)
            manifest = Manifest(cls.kind, signal_type, generation + 1, (info,), meta=meta or {})
            mf.write(directory, manifest)
            index._collect_garbage(manifest)
        index._refresh()
        return index

    def _init_for(self, directory: Path, signal_type: str) -> None:
        SegmentedIndex.__init__(self, directory, signal_type)

    @classmethod
    def _open_existing(cls, path: str | os.PathLike[str], verify: bool) -> Any:
        directory = Path(path)
        if not (directory / mf.MANIFEST_NAME).is_file():
            raise NotFoundError(f"no index at {directory} (no {mf.MANIFEST_NAME} file)")
        manifest, _ = mf.read(directory)
        if manifest.kind != cls.kind:
            raise UsageError(f"{directory} holds a {manifest.kind} index, not a {cls.kind} index")
        index = cls.__new__(cls)
        index._init_for(directory, manifest.signal_type)
        index._verify_on_open = verify
        index._refresh()
        return index

    # --- reading ----------------------------------------------------------------------------
    def _view(self) -> SegmentView[S]:
        """The current generation; re-reads the manifest only when it changed on disk."""
        view = self._current
        if view is not None and not self._fresh and mf.stat_key(self._where) == self._stat:
            return view
        return self._refresh()

    def _refresh(self) -> SegmentView[S]:
        with self._reload_lock:
            for _ in range(_OPEN_RETRIES):
                try:
                    manifest, key = mf.read(self.path)
                except FileNotFoundError as exc:
                    raise NotFoundError(f"index at {self.path} disappeared") from exc
                fresh = time.time_ns() - key[2] < _STAT_GRANULARITY_NS
                current = self._current
                if current is not None and current.manifest == manifest:
                    self._stat, self._fresh = key, fresh
                    return current
                try:
                    view = self._load(manifest, current)
                except FileNotFoundError:
                    continue  # a writer replaced this generation while we opened it: re-read
                self._current, self._stat, self._fresh = view, key, fresh
                return view
        raise IndexCorruptError(f"index at {self.path}: its manifest lists files that are missing")

    def _load(self, manifest: Manifest, previous: SegmentView[S] | None) -> SegmentView[S]:
        known = {} if previous is None else {
            s.file.path.name: s for s in previous.segments
        }  # fmt: skip
        segments = []
        for info in manifest.segments:
            segment = known.get(info.file)
            if segment is None:
                verify = self._verify_on_open or info.size <= INDEX_FULL_VERIFY_BYTES
                segment = self._open_segment(self.path / info.file, info, verify)
            segments.append(segment)
        disabled = self._read_ids(manifest.disabled)
        removed = self._read_ids(manifest.removed)
        hidden = np.union1d(disabled, removed)
        return SegmentView(manifest, tuple(segments), disabled, removed, hidden)

    def _read_ids(self, info: SegmentInfo | None) -> I64:
        if info is None:
            return np.zeros(0, dtype=np.int64)
        return IdSet(self.path / info.file, info).ids

    def _visible(self, view: SegmentView[S], ids: I64) -> npt.NDArray[np.bool_]:
        """Which result ids are neither disabled nor removed: a binary search per result in
        the sorted hidden set (np.isin would sort the whole hidden set on every query)."""
        hidden = view.hidden
        if hidden.size == 0:
            return np.ones(ids.size, dtype=np.bool_)
        pos = np.minimum(np.searchsorted(hidden, ids), hidden.size - 1)
        visible: npt.NDArray[np.bool_] = hidden[pos] != ids
        return visible

    @property
    def generation(self) -> int:
        return self._view().manifest.generation

    @property
    def meta(self) -> dict[str, Any]:
        """Caller data stored with the last change (e.g. the store position indexed up to)."""
        return dict(self._view().manifest.meta)

    def __len__(self) -> int:
        """Entries that queries can match: rows minus disabled and removed ones."""
        view = self._view()
        return view.manifest.rows - view.hidden.size

    def stats(self) -> IndexStats:
        view = self._view()
        m = view.manifest
        base_rows = m.segments[0].rows
        delta_rows = m.rows - base_rows
        return IndexStats(
            generation=m.generation,
            rows=m.rows,
            entries=m.rows - view.hidden.size,
            disabled=int(view.disabled.size),
            removed=int(view.removed.size),
            segments=len(m.segments),
            delta_rows=delta_rows,
            file_bytes=sum(s.size for s in m.segments),
            needs_compaction=(
                len(m.segments) - 1 > MAX_DELTA_SEGMENTS
                or delta_rows > DELTA_COMPACT_FRACTION * max(base_rows, DELTA_MERGE_ROWS)
                or view.removed.size > 0
            ),
        )

    def contains(self, ids: Any) -> npt.NDArray[np.bool_]:
        """Which ids are present and matchable (not disabled or removed)."""
        id_array = as_id_array(ids)
        view = self._view()
        found = self._present(view, id_array)
        return found & self._visible(view, id_array)

    def _present(self, view: SegmentView[S], ids: I64) -> npt.NDArray[np.bool_]:
        found = np.zeros(ids.size, dtype=np.bool_)
        for segment in view.segments:
            found |= segment.contains(ids)
        return found

    def verify(self) -> None:
        """Check every checksum of every file of the current generation (reads them all)."""
        view = self._view()
        for segment in view.segments:
            segment.verify()

    # --- writing ----------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._write_lock:
            fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _new_name(self, prefix: str, generation: int) -> str:
        suffix = "seg" if prefix == "seg" else "ids"
        return f"{prefix}-{generation:010d}-{secrets.token_hex(4)}.{suffix}"

    def _commit(self, change: Callable[[SegmentView[S]], Manifest | None]) -> None:
        """Under the lock: look at the latest generation, let ``change`` write files and say
        the next manifest (or None for no change), publish it, clean up, refresh."""
        with self._locked():
            view = self._refresh()
            manifest = change(view)
            if manifest is None:
                return
            mf.write(self.path, manifest)
            self._collect_garbage(manifest)
        self._refresh()

    def _collect_garbage(self, manifest: Manifest) -> None:
        """Delete files no generation from now on needs, and temp files of dead writers."""
        keep = manifest.files
        for entry in os.scandir(self.path):
            name = entry.name
            temp = _TEMP_FILE.match(name)
            if temp is not None:
                pid = int(temp.group(1))
                if pid != os.getpid() and not _pid_alive(pid):
                    Path(entry.path).unlink(missing_ok=True)
            elif _OWN_FILE.match(name) and name not in keep:
                Path(entry.path).unlink(missing_ok=True)

    def _write_ids(self, generation: int, ids: I64) -> SegmentInfo | None:
        if ids.size == 0:
            return None
        name = self._new_name("ids", generation)
        return IdSet.write(self.path / name, ids, self.signal_type)

    def add(self, ids: Any, hashes: Any, *, meta: dict[str, Any] | None = None) -> None:
        """Add entries; visible to the next query. Ids must be new to this index.

        ``meta`` (if given) replaces the stored caller data in the same atomic step, so a
        caller can record how far it has indexed and resume exactly after a crash.
        """
        keys = self._check_keys(hashes, "hashes")
        new_ids = as_id_array(ids, len(keys))
        _check_unique(new_ids)

        def change(view: SegmentView[S]) -> Manifest | None:
            m = view.manifest
            if new_ids.size == 0:
                return None if meta is None else m.next(meta=meta)
            self._check_new(view, new_ids)
            segments = self._with_delta(view, new_ids, keys)
            return m.next(segments=segments, meta=m.meta if meta is None else meta)

        self._commit(change)

    def _with_delta(
        self, view: SegmentView[S], new_ids: I64, keys: npt.NDArray[np.uint8]
    ) -> tuple[SegmentInfo, ...]:
        """The segments with the new rows in a delta segment, merged with trailing deltas
        while they stay small (many small adds must not pile up segments)."""
        m = view.manifest
        merge: list[S] = []
        total = new_ids.size
        for info, segment in zip(m.segments[:0:-1], view.segments[:0:-1], strict=True):
            if info.file in m.compacting or total + info.rows > DELTA_MERGE_ROWS:
                break
            merge.insert(0, segment)
            total += info.rows
        all_ids = np.concatenate([s.all_ids() for s in merge] + [new_ids])
        all_keys = np.concatenate([self._segment_keys(s) for s in merge] + [keys])
        name = self._new_name("seg", m.generation + 1)
        info = self._write_segment(self.path / name, all_ids, all_keys)
        return (*m.segments[: len(m.segments) - len(merge)], info)

    def apply(
        self,
        *,
        add_ids: Any = (),
        add_keys: Any = None,
        disable: Any = (),
        enable: Any = (),
        remove: Any = (),
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Several changes published as one generation (one manifest write): add entries,
        then enable, disable and remove ids (ids not in the index are ignored), and replace
        the caller data when ``meta`` is given. Returns whether anything changed."""
        keys = self._check_keys(
            np.zeros((0, self.key_width), np.uint8) if add_keys is None else add_keys, "hashes"
        )
        new_ids = as_id_array(add_ids, len(keys))
        _check_unique(new_ids)
        shown, hidden, gone = (np.unique(as_id_array(ids)) for ids in (enable, disable, remove))
        changed = False

        def change(view: SegmentView[S]) -> Manifest | None:
            nonlocal changed
            m = view.manifest
            updates: dict[str, Any] = {} if meta is None else {"meta": meta}
            if new_ids.size:
                self._check_new(view, new_ids)
                updates["segments"] = self._with_delta(view, new_ids, keys)

            def present(ids: I64) -> I64:
                return ids[self._present(view, ids) | np.isin(ids, new_ids)]

            removed = np.union1d(view.removed, present(gone))
            disabled = np.setdiff1d(view.disabled, shown)
            disabled = np.setdiff1d(np.union1d(disabled, present(hidden)), removed)
            if not np.array_equal(removed, view.removed):
                updates["removed"] = self._write_ids(m.generation + 1, removed)
            if not np.array_equal(disabled, view.disabled):
                updates["disabled"] = self._write_ids(m.generation + 1, disabled)
            changed = bool(updates.keys() - {"meta"})
            return m.next(**updates) if updates else None

        self._commit(change)
        return changed

    def holds(self, ids: Any) -> npt.NDArray[np.bool_]:
        """Which ids the index has rows for, matchable or not (disabled, removed)."""
        return self._present(self._view(), as_id_array(ids))

    def disabled_ids(self) -> I64:
        """The ids disabled now (sorted)."""
        return self._view().disabled.copy()

    def _check_new(self, view: SegmentView[S], ids: I64) -> None:
        top = max(s.id_max for s in view.manifest.segments)
        if int(ids.min()) > top:
            return  # the usual case: store ids only grow
        clash = ids[self._present(view, ids)]
        if clash.size == 0:
            return
        gone = clash[np.isin(clash, view.removed)]
        if gone.size:
            raise ConflictError(
                f"ids removed but not yet compacted cannot be added again: {_some(gone)}; "
                "call compact() first"
            )
        raise ConflictError(f"ids already in the index: {_some(clash)}")

    def disable(self, ids: Any) -> int:
        """Hide entries from queries (reversible with ``enable``). Returns how many changed;
        ids not in the index, or already disabled or removed, are ignored."""
        id_array = np.unique(as_id_array(ids))
        changed = 0

        def change(view: SegmentView[S]) -> Manifest | None:
            nonlocal changed
            fresh = id_array[~np.isin(id_array, view.hidden)]
            fresh = fresh[self._present(view, fresh)]
            changed = int(fresh.size)
            if not changed:
                return None
            m = view.manifest
            disabled = np.union1d(view.disabled, fresh)
            return m.next(disabled=self._write_ids(m.generation + 1, disabled))

        self._commit(change)
        return changed

    def enable(self, ids: Any) -> int:
        """Make disabled entries matchable again. Returns how many changed."""
        id_array = np.unique(as_id_array(ids))
        changed = 0

        def change(view: SegmentView[S]) -> Manifest | None:
            nonlocal changed
            keep = ~np.isin(view.disabled, id_array)
            changed = int(view.disabled.size - np.count_nonzero(keep))
            if not changed:
                return None
            m = view.manifest
            return m.next(disabled=self._write_ids(m.generation + 1, view.disabled[keep]))

        self._commit(change)
        return changed

    def remove(self, ids: Any) -> int:
        """Delete entries for good: hidden now, their rows dropped by the next ``compact``.
        Returns how many changed."""
        id_array = np.unique(as_id_array(ids))
        changed = 0

        def change(view: SegmentView[S]) -> Manifest | None:
            nonlocal changed
            fresh = id_array[~np.isin(id_array, view.removed)]
            fresh = fresh[self._present(view, fresh)]
            changed = int(fresh.size)
            if not changed:
                return None
            m = view.manifest
            gen = m.generation + 1
            return m.next(
                removed=self._write_ids(gen, np.union1d(view.removed, fresh)),
                disabled=self._write_ids(gen, np.setdiff1d(view.disabled, fresh)),
            )

        self._commit(change)
        return changed

    def set_meta(self, meta: dict[str, Any]) -> None:
        """Replace the caller data stored in the manifest."""
        self._commit(lambda view: view.manifest.next(meta=meta))

    # --- compaction -------------------------------------------------------------------------
    def compact(self) -> bool:
        """Merge the base and all deltas into a new base, dropping removed entries.

        Readers keep answering from the old files meanwhile, and writers may go on adding
        (their new deltas are kept). Returns False if there was nothing to do, another
        compaction is running, or the index was rebuilt meanwhile.
        """
        fd = os.open(self.path / COMPACT_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return self._compact_locked()
        finally:
            os.close(fd)

    def _compact_locked(self) -> bool:
        snapshot: list[SegmentView[S]] = []

        def mark(view: SegmentView[S]) -> Manifest | None:
            m = view.manifest
            if len(m.segments) == 1 and view.removed.size == 0:
                return None
            snapshot.append(view)
            return m.next(compacting=tuple(s.file for s in m.segments[1:]))

        self._commit(mark)
        if not snapshot:
            return False
        view = snapshot[0]
        consumed = {s.file for s in view.manifest.segments}
        ids = np.concatenate([s.all_ids() for s in view.segments])
        keys = np.concatenate([self._segment_keys(s) for s in view.segments])
        keep = ~np.isin(ids, view.removed)
        ids, keys = ids[keep], keys[keep]
        name = self._new_name("seg", view.manifest.generation + 1)
        # Written under a temporary name: a writer's garbage collection deletes sealed files
        # no manifest lists, and this one is not listed until the swap below.
        pending = temp_name(self.path / name)
        info = replace(self._write_segment(pending, ids, keys), file=name)
        del ids, keys, keep
        done = False

        def swap(current: SegmentView[S]) -> Manifest | None:
            nonlocal done
            m = current.manifest
            if m.segments[0].file != view.manifest.segments[0].file:
                return None  # rebuilt meanwhile: our result is stale
            rest = tuple(s for s in m.segments[1:] if s.file not in consumed)
            removed = np.setdiff1d(current.removed, view.removed)
            os.replace(pending, self.path / name)
            done = True
            return m.next(
                segments=(info, *rest),
                removed=self._write_ids(m.generation + 1, removed),
                disabled=m.disabled,
                compacting=(),
            )

        try:
            self._commit(swap)
        finally:
            if not done:
                pending.unlink(missing_ok=True)
        return done

    def compact_in_background(self) -> Future[bool]:
        """Run ``compact`` on a thread; the future gives its result or exception."""
        future: Future[bool] = Future()

        def run() -> None:
            try:
                future.set_result(self.compact())
            except BaseException as exc:  # handed to the caller through the future
                future.set_exception(exc)

        threading.Thread(target=run, name="safelight-index-compact", daemon=True).start()
        return future


def _highest_generation(directory: Path) -> int:
    found = [int(m.group(2)) for e in os.scandir(directory) if (m := _OWN_FILE.match(e.name))]
    return max(found, default=0)


def _some(ids: I64, limit: int = 10) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return shown + (f" ... ({ids.size} in all)" if ids.size > limit else "")


def _check_unique(ids: I64) -> None:
    if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return  # ascending, as store ids arrive: O(n) instead of a sort (1.2 s at 10M)
    unique, counts = np.unique(ids, return_counts=True)
    if unique.size != ids.size:
        raise InputError(f"ids: duplicate entry ids in one batch: {_some(unique[counts > 1])}")
