"""A lookup state saved beside the indexes, so a restart maps it rather than reading 10M
entries from the store, and workers share its pages.

Layout, under the store's index folder (``match.indexes.index_root``)::

    lookup-state.json          {"format", "current": "lookup-state-<n>"}: replaced atomically
    lookup-state-<n>/          one saved state, never changed once named by the pointer
        meta.json              the lists' generations, label sets, imports, notes, paused
                               entries, built_at
        <type>.<column>.npy    the EntryTable columns, opened memory-mapped (read-only)

A saved state is a folded one (no overlay): ``compact`` folds a worker's state and saves it,
or, when another worker saved one at least as new meanwhile, takes that one instead, so the
workers end up mapping the same files. A worker opening the service loads the saved state,
then catches it up with the store as it would any older state (``LookupState.with_lists``:
by the change log). One writer at a time (an ``flock``); a damaged or unreadable save is
ignored and the state is read from the store.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from safelight.lists.models import HashList, ImportInfo
from safelight.service.lookup_state import COLUMNS, EntryTable, LookupState

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 2
POINTER = "lookup-state.json"


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One saving process at a time; the others wait (then take what it saved)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lookup-state.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def compact(
    root: Path, state: LookupState, lists: list[HashList], signal_types: tuple[str, ...]
) -> LookupState | None:
    """A folded state mapped from a saved one: the newest save when it is at least as new
    as ``state`` (another worker's), else ``state`` folded and saved now. Its lists are at
    the saved generations: catch it up (``with_lists``) before serving it. None when the
    save cannot be read back (disk full, say)."""
    with _exclusive(root):
        folder = _current_dir(root)
        if folder is None or folder.name == state.source or not _as_new(folder, state):
            _write(root, state.folded(), folder)
    return load(root, lists, signal_types)


def save(root: Path, state: LookupState) -> Path:
    """Save ``state`` (folded) as the current saved state."""
    with _exclusive(root):
        return _write(root, state.folded(), _current_dir(root))


def _as_new(folder: Path, state: LookupState) -> bool:
    """Whether the save in ``folder`` holds every list of ``state`` at its generation or
    later (lists deleted since are dropped when it is loaded)."""
    try:
        saved = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["generations"]
    except (OSError, ValueError, KeyError):
        return False
    return all(int(saved.get(str(i), -1)) >= hl.generation for i, hl in state.lists.items())


def _write(root: Path, state: LookupState, previous: Path | None) -> Path:
    number = int(previous.name.rsplit("-", 1)[1]) + 1 if previous else 1
    folder = root / f"lookup-state-{number}"
    shutil.rmtree(folder, ignore_errors=True)  # a half-written one from a crash
    folder.mkdir()
    for signal_type, table in state.base.items():
        for column in COLUMNS:
            np.save(folder / f"{signal_type}.{column}.npy", getattr(table, column))
    meta = {
        "format": SNAPSHOT_FORMAT,
        "generations": {str(i): hl.generation for i, hl in state.lists.items()},
        "created": {str(i): hl.created_at.isoformat() for i, hl in state.lists.items()},
        "paused": sorted(state.paused),
        "label_sets": [sorted(labels) for labels in state.label_sets],
        "imports": [info.to_dict() for info in state.imports.values()],
        "import_high": {str(i): n for i, n in state.import_high.items()},
        "notes": {
            t: {str(i): n for i, n in table.notes.items()} for t, table in state.base.items()
        },
        "built_at": state.built_at,
    }
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    _fsync_dir(folder)
    temp = root / f".{POINTER}.{os.getpid()}"
    temp.write_text(json.dumps({"format": SNAPSHOT_FORMAT, "current": folder.name}))
    os.replace(temp, root / POINTER)
    for old in root.glob("lookup-state-*"):
        if old != folder:  # a reader still mapping its files keeps them (POSIX)
            shutil.rmtree(old, ignore_errors=True)
    return folder


def load(root: Path, lists: list[HashList], signal_types: tuple[str, ...]) -> LookupState | None:
    """The saved state, as a base to catch up from (its lists carry the generations it was
    saved at; lists deleted since are dropped); None when there is none or it cannot be
    read."""
    folder = _current_dir(root)
    if folder is None:
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != SNAPSHOT_FORMAT:
            return None
        tables = {t: _table(folder, t, meta) for t in signal_types}
        saved = {int(i): int(g) for i, g in meta["generations"].items()}
        created = {int(i): str(c) for i, c in meta["created"].items()}
        imports = {int(d["id"]): _import(d) for d in meta["imports"]}
    except (OSError, ValueError, KeyError) as exc:
        log.warning("lookup snapshot %s unreadable (%s); reading the store", folder, exc)
        return None
    # A list id handed out again after a delete (SQLite) is another list: not this save's.
    base_lists = {
        hl.id: replace(hl, generation=saved[hl.id])
        for hl in lists
        if hl.id in saved and created.get(hl.id) == hl.created_at.isoformat()
    }
    dropped = frozenset(saved) - frozenset(base_lists)
    codes = np.fromiter(dropped, np.int32, len(dropped))
    dead = {t: int(np.count_nonzero(np.isin(tb.list_codes, codes))) for t, tb in tables.items()}
    return LookupState(
        base_lists,
        tables,
        tuple(frozenset(labels) for labels in meta["label_sets"]),
        imports,
        float(meta["built_at"]),
        {int(i): int(n) for i, n in meta["import_high"].items() if int(i) in base_lists},
        dropped=dropped,
        paused=frozenset(int(i) for i in meta["paused"]),
        source=folder.name,
        dead_rows=dead if dropped else {},
    )


def _table(folder: Path, signal_type: str, meta: dict[str, Any]) -> EntryTable:
    columns = {
        c: np.load(folder / f"{signal_type}.{c}.npy", mmap_mode="r", allow_pickle=False)
        for c in COLUMNS
    }
    notes = {int(i): str(n) for i, n in meta["notes"].get(signal_type, {}).items()}
    rows = {len(array) for array in columns.values()}
    if len(rows) != 1:
        raise ValueError(f"{signal_type} columns of different lengths")
    return EntryTable(signal_type, notes=notes, **columns)


def _import(data: dict[str, Any]) -> ImportInfo:
    return ImportInfo(
        id=int(data["id"]),
        source_path=str(data["source_path"]),
        sha256=str(data["sha256"]),
        format=str(data["format"]),
        imported_at=datetime.fromisoformat(data["imported_at"]),
        imported_by=str(data["imported_by"]),
        records=int(data["records"]),
        added=int(data["added"]),
        invalid=int(data["invalid"]),
    )


def _current_dir(root: Path) -> Path | None:
    try:
        pointer = json.loads((root / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = root / str(pointer.get("current", ""))
    return folder if pointer.get("format") == SNAPSHOT_FORMAT and folder.is_dir() else None


def _fsync_dir(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
