"""Where known material comes from for a case: Safelight's hash lists, or list files.

Named lists (and, when a case names neither lists nor files, every enabled list) come from
``HashListStore``: their enabled MD5/SHA-1/SHA-256/PDQ entries with labels, and each list's
PDQ threshold. A case can also be matched against hash-list files: CSV with a ``hash`` (or
``digest``/``md5``/``sha1``/``sha256``/``pdq``) column, an optional ``algorithm`` column (else
inferred from the length: 32 md5, 40 sha1, 64 sha256) and optional ``label``/``labels``
(``;``-separated). Bad lines are named, never skipped.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from safelight.errors import UsageError, ValidationError
from safelight.network.known import (
    DigestListMatcher,
    KnownMaterial,
    ListEntry,
    NoKnownMaterial,
)
from safelight.store import Database

_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}


def read_list_file(path: Path, name: str | None = None) -> list[ListEntry]:
    """Entries of a hash-list CSV; every bad line is named (file:line), none is skipped."""
    frame = read_list_frame(path, name)
    columns = [frame[c].astype(str).tolist() for c in ("list_name", "algorithm", "value")]
    labels = frame["labels"].astype(str).tolist()
    return [
        ListEntry(n, a, v, tuple(x for x in lab.split(";") if x))
        for n, a, v, lab in zip(*columns, labels, strict=True)
    ]


def read_list_frame(path: Path, name: str | None = None) -> pd.DataFrame:
    """A hash-list CSV as columns list_name, algorithm, value, labels (";"-joined)."""
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
            read_options=pacsv.ReadOptions(use_threads=True),
        )
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: cannot read list file: {exc.strerror or exc}") from exc
    except pa.ArrowInvalid as exc:
        raise ValidationError(f"{path}: not a readable CSV list: {exc}") from exc
    fields = {f.lower(): f for f in table.column_names}
    value_field = next(
        (f for f in ("hash", "digest", "sha256", "sha1", "md5", "pdq") if f in fields), None
    )
    if value_field is None:
        raise ValidationError(f"{path}: no hash column (hash, digest, md5, sha1, sha256, pdq)")

    def text(field: str) -> np.ndarray:
        if field not in fields:
            return np.full(table.num_rows, "", dtype=object)
        column = pc.cast(table.column(fields[field]), pa.string())
        column = pc.utf8_trim_whitespace(pc.fill_null(column, ""))
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)

    values = np.char.lower(text(value_field).astype(str))
    algorithm = np.char.lower(text("algorithm").astype(str))
    if value_field in ("md5", "sha1", "sha256", "pdq"):
        algorithm = np.where(algorithm == "", value_field, algorithm)
    lengths = np.char.str_len(values)
    inferred = np.select([lengths == n for n in _LENGTHS], list(_LENGTHS.values()), "")
    algorithm = np.where(algorithm == "", inferred, algorithm)
    expected = np.select(
        [algorithm == a for a in ("md5", "sha1", "sha256", "pdq")], [32, 40, 64, 64], -1
    )
    hexed = np.asarray(
        pc.match_substring_regex(pa.array(values.tolist(), pa.string()), "^[0-9a-f]*$").to_numpy(
            zero_copy_only=False
        ),
        dtype=bool,
    )
    labels = text("labels") if "labels" in fields else text("label")
    bad = (expected < 0) | (lengths != expected) | ~hexed
    problems: list[tuple[str, str]] = []
    for row in np.flatnonzero(bad).tolist():
        line = row + 2  # after the header; list files hold one entry per line
        if expected[row] < 0:
            problems.append((f"{path}:{line}", f"unknown algorithm for {values[row]!r}"))
        else:
            problems.append(
                (f"{path}:{line}", f"{algorithm[row]}: {values[row]!r} is not {expected[row]} hex")
            )
    if problems:
        raise ValidationError(f"{path}: {len(problems)} invalid list lines", problems)
    return pd.DataFrame(
        {
            "list_name": name or path.stem,
            "algorithm": algorithm.astype(str),
            "value": values.astype(str),
            "labels": np.asarray(labels, dtype=str),
        }
    )


def _identity(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read list file: {exc.strerror or exc}") from exc
    return stat.st_size, stat.st_mtime_ns


def lists_available() -> bool:
    return importlib.util.find_spec("safelight.lists") is not None


def store_entries(db: Database, list_names: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Enabled entries of the named lists (none named: every enabled list) as a frame
    (list_name, algorithm, value, labels, threshold), and the names of the lists read."""
    from safelight.lists import HashListStore

    store = HashListStore(db)
    lists = [store.get(name) for name in list_names] or [hl for hl in store.list() if hl.enabled]
    rows: list[tuple[str, str, str, str, int]] = []
    for hash_list in lists:
        for kind in ("md5", "sha1", "sha256", "pdq"):
            for entry in store.iter_entries([hash_list.name], kind, only_enabled=True):
                labels = ";".join(sorted(entry.labels))
                rows.append((hash_list.name, kind, entry.value, labels, hash_list.pdq_threshold))
    frame = pd.DataFrame(rows, columns=["list_name", "algorithm", "value", "labels", "threshold"])
    return frame, [hl.name for hl in lists]


def resolve_known(
    list_names: Sequence[str], list_files: Sequence[Path], db: Database | None = None
) -> KnownMaterial:
    """Known material for the chosen lists (names in the store; with no names and no files,
    every enabled list) and list files. List files are read once per process while they are
    unchanged (ingest then analyze reuse them); store lists are read each time."""
    files = tuple((path.resolve(), *_identity(path)) for path in list_files)
    frames: list[pd.DataFrame] = []
    names: list[str] = []
    if files:
        frame = _file_frames(files)
        frames.append(frame)
        names.extend(f"file {n}" for n in sorted(set(frame["list_name"])))
    if list_names or not files:
        if not lists_available():  # pragma: no cover - lists ship with Safelight
            if list_names:
                raise UsageError("hash lists (safelight.lists) are not part of this build")
        elif db is not None:
            frame, read = store_entries(db, list_names)
            frames.append(frame)
            names.extend(read)
        elif list_names:
            raise UsageError("named hash lists need the store (no database given)")
    entries = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if entries.empty:
        return NoKnownMaterial()
    return DigestListMatcher(entries, description=f"hash lists: {', '.join(names)}")


@lru_cache(maxsize=4)
def _file_frames(list_files: tuple[tuple[Path, int, int], ...]) -> pd.DataFrame:
    return pd.concat([read_list_frame(path) for path, _, _ in list_files], ignore_index=True)
