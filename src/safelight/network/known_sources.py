"""Where known material comes from for a case: Safelight's hash lists, or list files.

``safelight.lists`` (the hash-list store) is built separately; while it is absent from this
build, named lists cannot be used and say so, and a case can be matched against hash-list
files instead: CSV with a ``hash`` (or ``digest``/``md5``/``sha1``/``sha256``/``pdq``) column,
an optional ``algorithm`` column (else inferred from the length: 32 md5, 40 sha1, 64 sha256)
and optional ``label``/``labels`` (``;``-separated). Bad lines are named, never skipped.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Sequence
from pathlib import Path

from safelight.errors import UsageError, ValidationError
from safelight.network.known import (
    DigestListMatcher,
    KnownMaterial,
    ListEntry,
    NoKnownMaterial,
)

_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = set("0123456789abcdef")


def read_list_file(path: Path, name: str | None = None) -> list[ListEntry]:
    list_name = name or path.stem
    entries: list[ListEntry] = []
    problems: list[tuple[str, str]] = []
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read list file: {exc.strerror or exc}") from exc
    with fh:
        reader = csv.DictReader(fh)
        fields = [f.lower() for f in reader.fieldnames or []]
        value_field = next(
            (f for f in ("hash", "digest", "sha256", "sha1", "md5", "pdq") if f in fields), None
        )
        if value_field is None:
            raise ValidationError(f"{path}: no hash column (hash, digest, md5, sha1, sha256, pdq)")
        for row in reader:
            line = reader.line_num
            row = {k.lower(): (v or "").strip() for k, v in row.items() if k}
            value = row.get(value_field, "").lower()
            algorithm = row.get("algorithm", "").lower() or (
                value_field if value_field in ("md5", "sha1", "sha256", "pdq") else ""
            )
            if not algorithm:
                algorithm = _LENGTHS.get(len(value), "")
            expected = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}.get(algorithm)
            if expected is None:
                problems.append((f"{path}:{line}", f"unknown algorithm for {value!r}"))
                continue
            if len(value) != expected or not set(value) <= _HEX:
                problems.append((f"{path}:{line}", f"{algorithm}: {value!r} is not {expected} hex"))
                continue
            labels = row.get("labels") or row.get("label") or ""
            entries.append(
                ListEntry(list_name, algorithm, value, tuple(x for x in labels.split(";") if x))
            )
    if problems:
        raise ValidationError(f"{path}: {len(problems)} invalid list lines", problems)
    return entries


def lists_available() -> bool:
    return importlib.util.find_spec("safelight.lists") is not None


def resolve_known(list_names: Sequence[str], list_files: Sequence[Path]) -> KnownMaterial:
    """Known material for the chosen lists (names in the store) and list files."""
    entries: list[ListEntry] = []
    for path in list_files:
        entries.extend(read_list_file(path))
    if list_names and not lists_available():
        raise UsageError(
            "hash lists (safelight.lists) are not part of this build; "
            f"cannot use --list {', '.join(list_names)}: use --list-file FILE.csv"
        )
    if not entries:
        return NoKnownMaterial()
    names = sorted({e.list_name for e in entries})
    return DigestListMatcher(entries, description=f"hash list files: {', '.join(names)}")
