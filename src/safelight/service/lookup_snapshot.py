"""A lookup state saved beside the indexes, so a restart maps it rather than reading 10M
entries from the store, and workers share its pages.

Layout, under the store's index folder (``match.indexes.index_root``)::

    lookup-state.json          {"format", "current": "lookup-state-<n>"}: replaced atomically
    lookup-state-<n>/          one saved state, never changed once named by the pointer
        meta.json              the lists' generations, label sets, imports, notes, built_at
        <type>.<column>.npy    the EntryTable columns, opened memory-mapped (read-only)

A worker opening the service loads the saved state, then catches it up with the store as
it would any older view (``LookupState.with_lists``): lists changed since are caught up by
difference, deleted ones dropped. Saving is best effort, one writer at a time (an
``flock``); a damaged or unreadable save is ignored and the state is read from the store.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from safelight.lists.models import HashList, ImportInfo
from safelight.service.lookup_state import EntryTable, LookupState

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 1
POINTER = "lookup-state.json"
COLUMNS = ("ids", "list_codes", "label_codes", "import_ids", "until", "keys")


def save(root: Path, state: LookupState) -> Path | None:
    """Save ``state`` as the current snapshot; None when another process is saving."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lookup-state.lock", "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        previous = _current_dir(root)
        number = int(previous.name.rsplit("-", 1)[1]) + 1 if previous else 1
        folder = root / f"lookup-state-{number}"
        shutil.rmtree(folder, ignore_errors=True)  # a half-written one from a crash
        folder.mkdir()
        for signal_type, table in state.tables.items():
            for column in COLUMNS:
                np.save(folder / f"{signal_type}.{column}.npy", getattr(table, column))
        meta = {
            "format": SNAPSHOT_FORMAT,
            "generations": {str(i): hl.generation for i, hl in state.lists.items()},
            "label_sets": [sorted(labels) for labels in state.label_sets],
            "imports": [info.to_dict() for info in state.imports.values()],
            "import_high": {str(i): n for i, n in state.import_high.items()},
            "notes": {
                t: {str(i): n for i, n in table.notes.items()} for t, table in state.tables.items()
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
    saved at); None when there is none or it cannot be read."""
    folder = _current_dir(root)
    if folder is None:
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != SNAPSHOT_FORMAT:
            return None
        tables = {t: _table(folder, t, meta) for t in signal_types}
    except (OSError, ValueError, KeyError) as exc:
        log.warning("lookup snapshot %s unreadable (%s); reading the store", folder, exc)
        return None
    saved = {int(i): int(g) for i, g in meta["generations"].items()}
    base_lists = {hl.id: replace(hl, generation=saved[hl.id]) for hl in lists if hl.id in saved}
    deleted = set(saved) - set(base_lists)
    if deleted:
        tables = {t: tb.updated([], np.zeros(0, np.int64), deleted) for t, tb in tables.items()}
    imports = {int(d["id"]): _import(d) for d in meta["imports"]}
    return LookupState(
        base_lists,
        tables,
        tuple(frozenset(labels) for labels in meta["label_sets"]),
        imports,
        float(meta["built_at"]),
        {int(i): int(n) for i, n in meta["import_high"].items() if int(i) in base_lists},
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
