"""Plain values the hash-list API hands out and takes in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True, slots=True)
class HashList:
    id: int
    name: str
    description: str
    source: str
    terms_of_use: str
    pdq_threshold: int
    enabled: bool
    generation: int
    created_at: datetime
    updated_at: datetime
    # The signal type of values imported without a declared one (None: typed by length).
    default_signal_type: str | None = None
    # "block" or "allow" (known false positives; docs/lists.md).
    kind: str = "block"
    # Flood protection as set on the list (None: the default; 0: off). ``flood_limits``
    # gives what applies.
    flood_threshold: int | None = None
    flood_window_s: int | None = None

    @property
    def is_allow(self) -> bool:
        return self.kind == "allow"

    def flood_limits(self) -> tuple[int, int] | None:
        """(threshold, window seconds) that apply, or None when off (always for allow lists)."""
        from safelight.constants import FLOOD_DEFAULT_THRESHOLD, FLOOD_DEFAULT_WINDOW_SECONDS

        if self.is_allow or self.flood_threshold == 0:
            return None
        threshold = self.flood_threshold or FLOOD_DEFAULT_THRESHOLD
        return threshold, self.flood_window_s or FLOOD_DEFAULT_WINDOW_SECONDS

    def to_dict(self) -> dict[str, Any]:
        limits = self.flood_limits()
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "source": self.source,
            "terms_of_use": self.terms_of_use,
            "pdq_threshold": self.pdq_threshold,
            "default_signal_type": self.default_signal_type,
            "enabled": self.enabled,
            "flood_threshold": limits[0] if limits else 0,
            "flood_window_s": limits[1] if limits else None,
            "generation": self.generation,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """One hash in one list. ``value`` is the matchable value (hex, or vPDQ JSON)."""

    id: int
    list_name: str
    signal_type: str
    value: str
    labels: frozenset[str]
    note: str | None
    disabled_until: datetime | None
    import_id: int | None
    # Paused for review by flood protection: not served until resumed (docs/lists.md).
    paused_at: datetime | None = None
    paused_reason: str | None = None

    def is_enabled(self, now: datetime) -> bool:
        """Disabled while now < disabled_until (the list's own flag is separate)."""
        return self.disabled_until is None or now >= self.disabled_until

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "list": self.list_name,
            "type": self.signal_type,
            "value": self.value,
            "labels": sorted(self.labels),
            "note": self.note,
            "disabled_until": _iso(self.disabled_until),
            "import_id": self.import_id,
            "paused_at": _iso(self.paused_at),
            "paused_reason": self.paused_reason,
        }


class IndexEntry(NamedTuple):
    """What an index builder needs: the id it will report, the value, the labels."""

    id: int
    value: str
    labels: frozenset[str]


class IndexRow(NamedTuple):
    """What index sync reads: id, owning list, value and until when it is disabled."""

    id: int
    list_name: str
    value: str
    disabled_until: datetime | None


class Record(NamedTuple):
    """One valid parsed record of an import file, normalised, not yet stored.

    A tuple rather than a dataclass: a million of them are built per million-line import.
    """

    signal_type: str
    value: str
    key: str
    labels: frozenset[str] = frozenset()
    note: str | None = None
    disabled_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """An invalid record: where it is (``file:line``) and what is wrong with it."""

    location: str
    reason: str
    # "untyped_value" when a value's type is ambiguous or unknown and was not declared (a
    # front then says how to declare it); "invalid" otherwise.
    code: str = "invalid"

    @classmethod
    def of(cls, location: str, exc: ValueError) -> Problem:
        from safelight.signals.types import UntypedValueError

        code = "untyped_value" if isinstance(exc, UntypedValueError) else "invalid"
        return cls(location, str(exc), code)


@dataclass(frozen=True, slots=True)
class ImportInfo:
    """Provenance of one import: which file, its SHA-256, when, by whom, what it did."""

    id: int
    source_path: str
    sha256: str
    format: str
    imported_at: datetime
    imported_by: str
    records: int
    added: int
    invalid: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_path": self.source_path,
            "sha256": self.sha256,
            "format": self.format,
            "imported_at": _iso(self.imported_at),
            "imported_by": self.imported_by,
            "records": self.records,
            "added": self.added,
            "invalid": self.invalid,
        }


@dataclass(slots=True)
class ImportReport:
    """What an import did. ``problems`` holds the first invalid records; ``invalid`` counts
    them all."""

    list_name: str
    source_path: str
    format: str
    imported_by: str
    sha256: str = ""
    import_id: int | None = None
    records: int = 0
    added: int = 0
    already_present: int = 0
    labels_added: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    generation: int = 0
    imported_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_name,
            "source_path": self.source_path,
            "format": self.format,
            "sha256": self.sha256,
            "imported_by": self.imported_by,
            "imported_at": _iso(self.imported_at),
            "import_id": self.import_id,
            "records": self.records,
            "added": self.added,
            "already_present": self.already_present,
            "labels_added": self.labels_added,
            "invalid": self.invalid,
            "problems": [{"location": p.location, "reason": p.reason} for p in self.problems],
            "generation": self.generation,
        }


@dataclass(frozen=True, slots=True)
class ListSummary:
    """``lists show``: the list, its counts per signal type and label, its imports."""

    hash_list: HashList
    entries: int
    disabled_entries: int
    by_type: dict[str, int]
    by_label: dict[str, int]
    imports: list[ImportInfo]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.hash_list.to_dict(),
            "entries": self.entries,
            "disabled_entries": self.disabled_entries,
            "by_type": self.by_type,
            "by_label": self.by_label,
            "imports": [i.to_dict() for i in self.imports],
        }
