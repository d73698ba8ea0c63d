"""Where known material comes from for a case: Safelight's hash lists, or list files.

``safelight.lists`` (the hash-list store) is built separately; while it is absent from this
build, named lists cannot be used and say so, and a case can be matched against hash-list
files instead: CSV with a ``hash`` (or ``digest``/``md5``/``sha1``/``sha256``/``pdq``) column,
an optional ``algorithm`` column (else inferred from the length: 32 md5, 40 sha1, 64 sha256)
and optional ``label``/``labels`` (``;``-separated). Bad lines are named, never skipped.
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


def resolve_known(list_names: Sequence[str], list_files: Sequence[Path]) -> KnownMaterial:
    """Known material for the chosen lists (names in the store) and list files; built once
    per process while the files are unchanged (ingest then analyze reuse it)."""
    files = tuple((path.resolve(), *_identity(path)) for path in list_files)
    return _resolve(tuple(list_names), files)


@lru_cache(maxsize=4)
def _resolve(
    list_names: tuple[str, ...], list_files: tuple[tuple[Path, int, int], ...]
) -> KnownMaterial:
    frames = [read_list_frame(path) for path, _, _ in list_files]
    if list_names and not lists_available():
        raise UsageError(
            "hash lists (safelight.lists) are not part of this build; "
            f"cannot use --list {', '.join(list_names)}: use --list-file FILE.csv"
        )
    if not frames or not sum(len(f) for f in frames):
        return NoKnownMaterial()
    entries = pd.concat(frames, ignore_index=True)
    names = sorted(set(entries["list_name"]))
    return DigestListMatcher(entries, description=f"hash list files: {', '.join(names)}")
