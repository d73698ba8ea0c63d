"""Where known material comes from for a case: the store's hash lists, and/or list files.

The store's lists are matched through the shared ``Matcher`` (its indexes and rules: lists
enabled, thresholds, entries disabled for a time); list files through
``list_files.ListFileMaterial``, which reads them as ``lists import`` does and searches the
same index classes. With neither chosen, a case uses every enabled list in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from safelight.network.known import (
    FileDigests,
    KnownMatch,
    KnownMaterial,
    NoKnownMaterial,
    file_columns,
    lookup_columns,
)
from safelight.network.list_files import ListFileMaterial
from safelight.store import Database


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
    parts: list[KnownMaterial] = []
    files = ListFileMaterial(list_files) if list_files else None  # bad files fail first
    if list_names or not list_files:
        parts.append(StoreKnownMaterial(db, list_names or None))
    if files is not None:
        parts.append(files)
    if not parts:
        return NoKnownMaterial()
    return parts[0] if len(parts) == 1 else CombinedKnownMaterial(parts)
