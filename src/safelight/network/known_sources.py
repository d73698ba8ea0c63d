"""Where known material comes from for a case: Safelight's hash lists, or list files.

A case is matched against the store's hash lists (``safelight.lists``, through the shared
``Matcher``) and/or hash-list files: CSV with a ``hash`` (or ``digest``/``md5``/``sha1``/
``sha256``/``pdq``) column, an optional ``algorithm`` column, and optional ``label``/``labels``
(``;``-separated). Without an algorithm a value is typed as everywhere in Safelight
(``safelight.signals.types``): by its length where only one type has it; a ``digest`` column
holds file digests, so there 64 hex is SHA-256, while a bare 64-hex ``hash`` (PDQ or SHA-256)
must be declared. Bad lines are named, never skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from safelight.errors import UsageError, ValidationError
from safelight.network.known import (
    DigestListMatcher,
    FileDigests,
    KnownMatch,
    KnownMaterial,
    ListEntry,
    NoKnownMaterial,
    file_columns,
    lookup_columns,
)
from safelight.signals.types import UntypedValueError, registry
from safelight.store import Database

# The types a list file can hold: those network analysis matches (FileDigests' fields).
LIST_FILE_TYPES = ("md5", "sha1", "sha256", "pdq")
DIGEST_TYPES = ("md5", "sha1", "sha256")


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

    def text(field: str) -> pa.Array:
        if field not in fields:
            return pa.array(np.full(table.num_rows, "", dtype=object), pa.string())
        column = pc.cast(table.column(fields[field]), pa.string())
        return pc.utf8_trim_whitespace(pc.fill_null(column, "")).combine_chunks()

    def flags(condition: pa.Array) -> np.ndarray:
        return np.asarray(condition.to_numpy(zero_copy_only=False), dtype=bool)

    # Arrow's kernels throughout, and Arrow strings handed to pandas as they are: a round
    # trip through Python string objects cost more than reading the file.
    values = pc.utf8_lower(text(value_field))
    algorithm = pc.utf8_lower(text("algorithm"))
    if value_field in LIST_FILE_TYPES:
        algorithm = pc.if_else(pc.equal(algorithm, ""), value_field, algorithm)
    lengths = np.asarray(pc.utf8_length(values).to_numpy(zero_copy_only=False))
    # A "digest" column declares file digests; a "hash" column may hold any listed type.
    typed = DIGEST_TYPES if value_field == "digest" else LIST_FILE_TYPES
    among = [registry.get(t) for t in typed]
    by_length = registry.unambiguous_lengths(among)
    inferred = np.select([lengths == n for n in by_length], list(by_length.values()), "")
    untyped = flags(pc.equal(algorithm, ""))
    algorithm = pc.if_else(pc.equal(algorithm, ""), pa.array(inferred, pa.string()), algorithm)
    expected = np.select(
        [flags(pc.equal(algorithm, t)) for t in LIST_FILE_TYPES],
        [registry.get(t).key_bytes * 2 for t in LIST_FILE_TYPES],
        -1,
    )
    hexed = flags(pc.match_substring_regex(values, "^[0-9a-f]*$"))
    labels = text("labels") if "labels" in fields else text("label")
    bad = (expected < 0) | (lengths != expected) | ~hexed
    problems: list[tuple[str, str]] = []
    for row in np.flatnonzero(bad).tolist():
        line = row + 2  # after the header; list files hold one entry per line
        value, kind = values[row].as_py(), algorithm[row].as_py()
        if expected[row] >= 0:
            problems.append((f"{path}:{line}", f"{kind}: {value!r} is not {expected[row]} hex"))
        elif untyped[row]:
            try:
                registry.infer(value, among)
                reason = f"unknown algorithm for {value!r}"  # pragma: no cover - typed above
            except UntypedValueError as exc:
                reason = f"{exc.summary}: add an algorithm column, or name the column by type"
            problems.append((f"{path}:{line}", reason))
        else:
            problems.append((f"{path}:{line}", f"unknown algorithm {kind!r} for {value!r}"))
    if problems:
        raise ValidationError(f"{path}: {len(problems)} invalid list lines", problems)
    frame: pd.DataFrame = pa.table(
        {"algorithm": algorithm, "value": values, "labels": labels}
    ).to_pandas()
    frame.insert(0, "list_name", name or path.stem)
    return frame


class StoreKnownMaterial:
    """Known material from the store's hash lists, through the same exact indexes and
    list rules (enabled, thresholds, disabled entries) as ``safelight match``."""

    def __init__(self, db: Database, list_names: Sequence[str] | None) -> None:
        from safelight.match import Matcher

        self._matcher = Matcher.open(db, list(list_names) if list_names else None)
        chosen = sorted(self._matcher.lists)
        self.description = (
            f"hash lists: {', '.join(chosen)}" if chosen else "no enabled hash lists in the store"
        )

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        queries: list[tuple[str, str]] = []
        owners: list[str] = []
        for item in files:
            for signal_type in ("md5", "sha1", "sha256", "pdq"):
                value = getattr(item, signal_type)
                if value:
                    queries.append((signal_type, value))
                    owners.append(item.key)
        found: dict[str, tuple[set[str], set[str]]] = {}
        for key, matches in zip(owners, self._matcher.match_hashes(queries), strict=True):
            for match in matches:
                names, labels = found.setdefault(key, (set(), set()))
                names.add(match.list_name)
                labels.update(match.labels)
        return {k: KnownMatch(tuple(sorted(n)), tuple(sorted(lb))) for k, (n, lb) in found.items()}


class CombinedKnownMaterial:
    """Store lists and list files together: a file is known if either knows it."""

    def __init__(self, parts: Sequence[KnownMaterial]) -> None:
        self._parts = list(parts)
        self.description = "; ".join(p.description for p in self._parts)

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        return self.lookup_columns(*file_columns(files))

    def lookup_columns(self, *columns: Sequence[str]) -> dict[str, KnownMatch]:
        """Each part's matches for files given as columns (each part as fast as it can)."""
        merged: dict[str, tuple[set[str], set[str]]] = {}
        for part in self._parts:
            for key, match in lookup_columns(part, columns).items():
                names, labels = merged.setdefault(key, (set(), set()))
                names.update(match.lists)
                labels.update(match.labels)
        return {k: KnownMatch(tuple(sorted(n)), tuple(sorted(lb))) for k, (n, lb) in merged.items()}


def resolve_known(
    db: Database, list_names: Sequence[str], list_files: Sequence[Path]
) -> KnownMaterial:
    """Known material for the chosen store lists and list files. With neither chosen, every
    enabled list in the store (one default everywhere: docs/model.md)."""
    frames = [read_list_frame(path) for path in list_files]
    parts: list[KnownMaterial] = []
    if list_names or not list_files:
        parts.append(StoreKnownMaterial(db, list_names or None))
    if frames and sum(len(f) for f in frames):
        entries = pd.concat(frames, ignore_index=True)
        names = sorted(str(x) for x in entries["list_name"].unique())
        parts.append(DigestListMatcher(entries, description=f"hash list files: {', '.join(names)}"))
    if not parts:
        return NoKnownMaterial()
    return parts[0] if len(parts) == 1 else CombinedKnownMaterial(parts)
