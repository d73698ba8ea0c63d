"""Turning the fields of one input record into a validated ``Record``.

Shared by every import format, so the same field is checked the same way whether it came
from a plain line, a CSV cell, a JSON line or a Project VIC media item.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

from safelight.errors import UsageError
from safelight.lists.models import Record
from safelight.lists.values import validate_label
from safelight.signals.types import registry

# Fields a record can carry, and the column/key names recognised for each when no --map
# names one (compared case-insensitively).
FIELDS = ("value", "type", "labels", "note", "disabled_until")
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "value": ("value", "hash", "signal", "signal_value"),
    "type": ("type", "signal_type", "kind", "algorithm"),
    "labels": ("labels", "label", "tags"),
    "note": ("note", "notes", "comment"),
    "disabled_until": ("disabled_until",),
}
_BLOCK = 1 << 20
# Several labels in one CSV cell or JSON string are separated by this character.
LABEL_SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """How to read records: a type for untyped rows, a column mapping, labels for all."""

    default_type: str | None = None
    column_map: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra_labels: frozenset[str] = frozenset()


def parse_column_map(specs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``value=hash,type=kind,labels=category`` (repeatable; labels may name many columns)."""
    mapping: dict[str, list[str]] = {}
    for spec in specs:
        for item in spec.split(","):
            if not item.strip():
                continue
            target, sep, column = item.partition("=")
            target, column = target.strip().lower(), column.strip()
            if not sep or not column:
                raise UsageError(f"{item.strip()!r}: expected FIELD=COLUMN", field="column_map")
            if target not in FIELDS:
                known = ", ".join(FIELDS)
                raise UsageError(
                    f"{item.strip()!r}: field must be one of {known}", field="column_map"
                )
            if target != "labels" and target in mapping:
                raise UsageError(f"{target!r} is mapped twice", field="column_map")
            mapping.setdefault(target, []).append(column)
    return {key: tuple(columns) for key, columns in mapping.items()}


def parse_timestamp(text: str) -> datetime:
    """ISO-8601; a time without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"disabled_until {text.strip()!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def split_labels(text: str) -> list[str]:
    return [part for part in text.split(LABEL_SEPARATOR) if part.strip()]


def make_record(
    options: ParseOptions,
    value: str,
    signal_type: str | None = None,
    labels: Iterable[str] = (),
    note: str | None = None,
    disabled_until: str | None = None,
) -> Record:
    """A validated record, or ValueError naming the field that is wrong."""
    if signal_type and signal_type.strip():
        kind = registry.get(signal_type)
    elif options.default_type:
        kind = registry.get(options.default_type)
    elif not value.strip():
        raise ValueError("the value is empty")
    else:
        kind = registry.infer(value)
    normalised = kind.normalise(value)
    label_set = options.extra_labels
    if labels:
        label_set = label_set.union(validate_label(label) for label in labels)
    return Record(
        signal_type=kind.name,
        value=normalised.value,
        key=normalised.key,
        labels=label_set,
        note=(note.strip() or None) if note is not None else None,
        disabled_until=parse_timestamp(disabled_until) if disabled_until else None,
    )


class HashingReader:
    """A binary input read once, hashing (SHA-256) every byte as it streams past."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        """Lines with their ends, as a binary file gives them, read a block at a time
        (hashing a block costs less than hashing each line)."""
        tail = b""
        while block := self.read(_BLOCK):
            block = tail + block
            cut = block.rfind(b"\n") + 1
            tail = block[cut:]
            yield from io.BytesIO(block[:cut])
        if tail:
            yield tail

    def read(self, size: int) -> bytes:
        data = self._raw.read(size)
        self._sha256.update(data)
        return data

    def hexdigest(self) -> str:
        """Hash the rest of the input (a parser may stop early) and return the digest."""
        while self.read(_BLOCK):
            pass
        return self._sha256.hexdigest()


def decoded_lines(
    stream: Iterable[bytes], bad_lines: set[int] | None = None
) -> Iterator[tuple[int, str | None]]:
    """(line number, text or None if it is not UTF-8); a leading BOM is dropped."""
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if bad_lines is not None:
                bad_lines.add(number)
            yield number, None
            continue
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield number, text
