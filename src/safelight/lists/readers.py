"""Streaming readers of the line-oriented import formats: lines, CSV/TSV, JSON lines, vPDQ.

Each reader yields a ``Record`` per valid record and a ``Problem`` per invalid one, in file
order, holding one record at a time so a file of any size streams in constant memory.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from safelight.csvguard import unguard_cell
from safelight.lists.hash_records import hash_record_items, is_hash_record
from safelight.lists.models import Problem, Record
from safelight.lists.records import (
    DEFAULT_COLUMNS,
    ParseOptions,
    decoded_lines,
    make_record,
    split_labels,
)
from safelight.signals.types import registry, vpdq_feature, vpdq_value

Item = Record | Problem
NOT_UTF8 = "not valid UTF-8 text"
_HEX_BYTES = re.compile(rb"[0-9a-fA-F]+")
_BOM = b"\xef\xbb\xbf"


class _FastTypes:
    """Fast path of plain lines: a bare or typed hex value of a fixed-length type, checked on
    the raw bytes. Only lengths that name one type are typed here; anything else (vPDQ, an
    ambiguous length, odd case, bad input) takes the general path, which gives the same
    record or an exact reason. Built per read, so types registered later are seen."""

    def __init__(self, default_type: str | None) -> None:
        fixed = registry.where(lambda t: t.hex_length is not None)
        self.hex_length = {t.name: t.hex_length for t in fixed}
        self.by_name = {n.encode(): t.name for t in fixed for n in t.names}
        self.by_length = registry.unambiguous_lengths()
        self.default = registry.get(default_type).name if default_type else None

    def kind(self, parts: list[bytes]) -> tuple[str | None, bytes]:
        if len(parts) == 1:
            return self.default or self.by_length.get(len(parts[0])), parts[0]
        return self.by_name.get(parts[0]), parts[1]


def read_lines(stream: Iterable[bytes], name: str, options: ParseOptions) -> Iterator[Item]:
    """``HEX`` or ``TYPE HEX`` per line (HMA's local file exchange); ``#`` starts a comment."""
    fast = _FastTypes(options.default_type)
    extra_labels = options.extra_labels
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :].strip()
        if not line or line.startswith(b"#"):
            continue
        parts = line.split(None, 1)
        kind, hex_part = fast.kind(parts)
        expected = fast.hex_length.get(kind) if kind is not None else None
        if len(hex_part) == expected and _HEX_BYTES.fullmatch(hex_part):
            value = hex_part.decode("ascii").lower()
            yield Record(kind, value, value, extra_labels)  # type: ignore[arg-type]
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield Problem(f"{name}:{number}", NOT_UTF8)
            continue
        fields = text.split(None, 1)
        if not fields:  # only whitespace beyond ASCII (U+001E, U+00A0...): name it, no crash
            yield Problem(f"{name}:{number}", "no value: the line holds only whitespace")
            continue
        try:
            if len(fields) == 1:
                yield make_record(options, fields[0])
            else:
                yield make_record(options, fields[1], signal_type=fields[0])
        except ValueError as exc:
            yield Problem.of(f"{name}:{number}", exc)


# A value column may be named after what it holds: a signal type ("sha256", "video_md5") types
# its values; "digest" holds file digests, typed by length among them (64 hex: SHA-256).
DIGEST_COLUMN = "digest"


def resolve_columns(
    header: list[str], options: ParseOptions
) -> tuple[dict[str, list[int]], str | None]:
    """Column indexes per field, from the column map or the default names, and what a value
    column named after a type says about its values; ValueError if unusable."""
    lowered = [name.strip().lower() for name in header]
    columns: dict[str, list[int]] = {}
    for field_name, mapped in options.column_map.items():
        for column in mapped:
            if column.strip().lower() not in lowered:
                raise ValueError(
                    f"{field_name} is mapped to column {column!r}, which does not exist "
                    f"(the header has: {', '.join(h.strip() for h in header)})"
                )
            columns.setdefault(field_name, []).append(lowered.index(column.strip().lower()))
    for field_name, names in DEFAULT_COLUMNS.items():
        if field_name in columns:
            continue
        for candidate in names:
            if candidate in lowered:
                columns[field_name] = [lowered.index(candidate)]
                break
    value_kind = None
    if "value" not in columns:
        for index, name in enumerate(lowered):
            if name == DIGEST_COLUMN or name in registry:
                columns["value"] = [index]
                value_kind = name if name == DIGEST_COLUMN else registry.get(name).name
                break
    if "value" not in columns:
        raise ValueError(
            "no value column: map one (value=COLUMN) "
            f"(the header has: {', '.join(h.strip() for h in header)})"
        )
    return columns, value_kind


class _LineFeed:
    """Text lines for ``csv.reader``, keeping those of the row being read.

    A quote left open runs a CSV row over the lines after it; when such a row fails, the
    reader names its first line and reads the rest again one row at a time
    (``read_again_after_first``), so one bad quote cannot hide the rows it swallowed. The
    kept lines are bounded by the csv module's field size limit (128 KiB).
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self._source = lines
        self._again: list[str] = []  # lines to read again, the next one last
        self.taken: list[str] = []
        self.row_start = 1
        self.next_number = 1

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        text = self._again.pop() if self._again else next(self._source)
        self.taken.append(text)
        self.next_number += 1
        return text

    def start_row(self) -> None:
        self.row_start = self.next_number
        self.taken = []

    @property
    def row_end(self) -> int:
        return self.next_number - 1

    def read_again_after_first(self) -> None:
        self._again.extend(reversed(self.taken[1:]))
        self.next_number = self.row_start + 1


_RAN_ON = "a quote opened on this line ran to line {end}; the lines after it are read again"


def read_delimited(
    stream: Iterable[bytes], name: str, options: ParseOptions, delimiter: str
) -> Iterator[Item]:
    """CSV or TSV with a header row; fields found by the column map or their usual names.

    A quoted field may run over several lines (RFC 4180). A row that does so and is not a
    valid record (a quote left open) is named by its first line, and the lines after that
    one are read again, so every other row is still imported or named.
    """
    bad_lines: set[int] = set()
    feed = _LineFeed(
        text if text is not None else "\n" for _, text in decoded_lines(stream, bad_lines)
    )
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield Problem(f"{name}:1", "empty file: expected a header row")
        return
    except csv.Error as exc:
        yield Problem(f"{name}:1", f"bad CSV header: {exc}")
        return
    try:
        columns, value_kind = resolve_columns(header, options)
    except ValueError as exc:
        yield Problem.of(f"{name}:1", exc)
        return
    width = len(header)
    while True:
        feed.start_row()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if feed.row_end < feed.row_start:  # nothing was read: stop, not spin
                yield Problem(f"{name}:{feed.row_start}", f"bad CSV: {exc}")
                return
            ran_on = f" ({_RAN_ON.format(end=feed.row_end)})" if feed.taken[1:] else ""
            yield Problem(f"{name}:{feed.row_start}", f"bad CSV: {exc}{ran_on}")
            feed.read_again_after_first()
            continue
        location = f"{name}:{feed.row_start}"
        span = range(feed.row_start, feed.row_end + 1)
        not_utf8 = sorted(bad_lines.intersection(span)) if bad_lines else []
        if not not_utf8:
            item = _delimited_item(location, options, row, columns, width, value_kind)
        elif not_utf8[0] == feed.row_start:
            item = Problem(location, NOT_UTF8)
        else:
            item = Problem(location, f"its quoted field runs over line {not_utf8[0]}, {NOT_UTF8}")
        if isinstance(item, Problem) and feed.row_end > feed.row_start:
            # A quote opened on the first line closed lines later: the row swallowed them.
            yield Problem(location, f"{item.reason} ({_RAN_ON.format(end=feed.row_end)})")
            feed.read_again_after_first()
            continue
        if item is not None:
            yield item


def _delimited_item(
    location: str,
    options: ParseOptions,
    row: list[str],
    columns: dict[str, list[int]],
    width: int,
    value_kind: str | None,
) -> Item | None:
    if not row or all(not cell.strip() for cell in row):
        return None
    if len(row) != width:
        return Problem(location, f"has {len(row)} fields, the header has {width}")
    return _delimited_record(location, options, row, columns, value_kind)


def _delimited_record(
    location: str,
    options: ParseOptions,
    row: list[str],
    columns: dict[str, list[int]],
    value_kind: str | None = None,
) -> Item:
    def cell(field_name: str) -> str | None:
        indexes = columns.get(field_name)
        return row[indexes[0]] if indexes else None

    declared = (cell("type") or "").strip() or None

    # Text cells come back as Safelight's export wrote them: without the formula guard.
    labels = [
        label
        for index in columns.get("labels", [])
        for label in split_labels(unguard_cell(row[index]))
    ]
    note = cell("note")
    try:
        value = cell("value") or ""
        if declared is None and value_kind == DIGEST_COLUMN and value.strip():
            declared = registry.infer(value, among=registry.file_digests()).name
        return make_record(
            options,
            value,
            signal_type=declared or value_kind,
            labels=labels,
            note=unguard_cell(note) if note is not None else None,
            disabled_until=cell("disabled_until"),
        )
    except ValueError as exc:
        return Problem.of(location, exc)


def _json_field(obj: dict[str, Any], names: Iterable[str]) -> Any:
    for key in names:
        if key in obj:
            return obj[key]
        for present in obj:
            if present.lower() == key.lower():
                return obj[present]
    return None


def _json_text(value: Any, field_name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{field_name} must be a string, got {type(value).__name__}")


def _json_labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return split_labels(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ValueError("labels must be a list of strings or a '|'-separated string")


def read_jsonl(stream: Iterable[bytes], name: str, options: ParseOptions) -> Iterator[Item]:
    """One JSON object per line: {"type": ..., "value": ..., "labels": [...], ...}, or a
    record ``safelight hash`` wrote (every signal in it becomes an entry)."""
    names = {f: options.column_map.get(f, DEFAULT_COLUMNS[f]) for f in DEFAULT_COLUMNS}
    for number, text in decoded_lines(stream):
        location = f"{name}:{number}"
        if text is None:
            yield Problem(location, NOT_UTF8)
            continue
        text = text.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Problem(location, f"bad JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield Problem(location, f"expected a JSON object, got {type(obj).__name__}")
            continue
        if _json_field(obj, names["value"]) is None and is_hash_record(obj):
            yield from hash_record_items(obj, location, options)
            continue
        try:
            value = _json_text(_json_field(obj, names["value"]), "value")
            if value is None:
                raise ValueError(f"no value: expected one of the keys {', '.join(names['value'])}")
            yield make_record(
                options,
                value,
                signal_type=_json_text(_json_field(obj, names["type"]), "type"),
                labels=_json_labels(_json_field(obj, names["labels"])),
                note=_json_text(_json_field(obj, names["note"]), "note"),
                disabled_until=_json_text(
                    _json_field(obj, names["disabled_until"]), "disabled_until"
                ),
            )
        except ValueError as exc:
            yield Problem.of(location, exc)


def read_vpdq_file(
    stream: Iterable[bytes], name: str, options: ParseOptions, skip_invalid: bool
) -> Iterator[Item]:
    """A vPDQ hash file (``frame,quality,pdq_hex,timestamp`` per line) is ONE video entry.

    Bad frame lines are problems; with ``skip_invalid`` the video keeps its good frames.
    """
    features: list[str] = []
    bad = False
    for number, text in decoded_lines(stream):
        location = f"{name}:{number}"
        if text is None:
            bad = True
            yield Problem(location, NOT_UTF8)
            continue
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 4:
            bad = True
            got = f"got {len(parts)} fields"
            yield Problem(location, f"expected frame,quality,pdq_hex,timestamp, {got}")
            continue
        frame, quality, pdq_hex, timestamp = parts
        try:
            if not frame.isdigit():
                raise ValueError(f"frame number {frame!r} is not a non-negative integer")
            features.append(vpdq_feature(pdq_hex, quality, timestamp))
        except ValueError as exc:
            bad = True
            yield Problem.of(location, exc)
    if bad and not skip_invalid:
        return
    if not features:
        yield Problem(f"{name}:1", "no frame hashes: a vPDQ file needs at least one line")
        return
    video = vpdq_value(features)
    yield Record(
        signal_type="vpdq",
        value=video.value,
        key=video.key,
        labels=options.extra_labels,
    )
