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

from safelight.constants import LIST_HEX_LENGTHS, LIST_SIGNAL_TYPE_ALIASES, LIST_SIGNAL_TYPES
from safelight.lists.models import Problem, Record
from safelight.lists.records import (
    DEFAULT_COLUMNS,
    ParseOptions,
    decoded_lines,
    make_record,
    split_labels,
)
from safelight.lists.values import TYPE_BY_LENGTH as _TYPE_BY_LENGTH
from safelight.lists.values import vpdq_feature, vpdq_value

Item = Record | Problem
NOT_UTF8 = "not valid UTF-8 text"


# Fast path of plain lines: a bare or typed hex value of a fixed-length type, checked on the
# raw bytes. Anything else (vPDQ, odd case, bad input) takes the general path, which gives
# the same record or an exact reason.
_HEX_BYTES = re.compile(rb"[0-9a-fA-F]+")
_FAST_TYPES = {
    name.encode(): LIST_SIGNAL_TYPE_ALIASES.get(name, name)
    for name in (*LIST_SIGNAL_TYPES, *LIST_SIGNAL_TYPE_ALIASES)
    if LIST_SIGNAL_TYPE_ALIASES.get(name, name) in LIST_HEX_LENGTHS
}
_BOM = b"\xef\xbb\xbf"


def read_lines(stream: Iterable[bytes], name: str, options: ParseOptions) -> Iterator[Item]:
    """``HEX`` or ``TYPE HEX`` per line (HMA's local file exchange); ``#`` starts a comment."""
    default_type = options.default_type
    extra_labels = options.extra_labels
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :].strip()
        if not line or line.startswith(b"#"):
            continue
        parts = line.split(None, 1)
        if len(parts) == 1:
            hex_part = parts[0]
            kind = default_type or _TYPE_BY_LENGTH.get(len(hex_part))
        else:
            hex_part = parts[1]
            kind = _FAST_TYPES.get(parts[0])
        expected = LIST_HEX_LENGTHS.get(kind) if kind is not None else None
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
            yield Problem(f"{name}:{number}", str(exc))


def _resolve_columns(header: list[str], options: ParseOptions) -> dict[str, list[int]]:
    """Column indexes per field, from --map or the default names; ValueError if unusable."""
    lowered = [name.strip().lower() for name in header]
    columns: dict[str, list[int]] = {}
    for field_name, mapped in options.column_map.items():
        for column in mapped:
            if column.strip().lower() not in lowered:
                raise ValueError(
                    f"--map {field_name}={column}: no such column "
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
    if "value" not in columns:
        raise ValueError(
            "no value column: name one with --map value=COLUMN "
            f"(the header has: {', '.join(h.strip() for h in header)})"
        )
    return columns


def read_delimited(
    stream: Iterable[bytes], name: str, options: ParseOptions, delimiter: str
) -> Iterator[Item]:
    """CSV or TSV with a header row; fields found by --map or by their usual names."""
    bad_lines: set[int] = set()
    text_lines = (
        text if text is not None else "\n" for _, text in decoded_lines(stream, bad_lines)
    )
    reader = csv.reader(text_lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield Problem(f"{name}:1", "empty file: expected a header row")
        return
    except csv.Error as exc:
        yield Problem(f"{name}:1", f"bad CSV header: {exc}")
        return
    try:
        columns = _resolve_columns(header, options)
    except ValueError as exc:
        yield Problem(f"{name}:1", str(exc))
        return
    width = len(header)
    while True:
        first_line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Problem(f"{name}:{first_line}", f"bad CSV: {exc}")
            if reader.line_num < first_line:  # the reader cannot move on: stop, not spin
                return
            continue
        location = f"{name}:{first_line}"
        if bad_lines.intersection(range(first_line, reader.line_num + 1)):
            yield Problem(location, NOT_UTF8)
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != width:
            yield Problem(location, f"has {len(row)} fields, the header has {width}")
            continue
        yield _delimited_record(location, options, row, columns)


def _delimited_record(
    location: str,
    options: ParseOptions,
    row: list[str],
    columns: dict[str, list[int]],
) -> Item:
    def cell(field_name: str) -> str | None:
        indexes = columns.get(field_name)
        return row[indexes[0]] if indexes else None

    labels = [label for index in columns.get("labels", []) for label in split_labels(row[index])]
    try:
        return make_record(
            options,
            cell("value") or "",
            signal_type=cell("type"),
            labels=labels,
            note=cell("note"),
            disabled_until=cell("disabled_until"),
        )
    except ValueError as exc:
        return Problem(location, str(exc))


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
    """One JSON object per line: {"type": ..., "value": ..., "labels": [...], ...}."""
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
            yield Problem(location, str(exc))


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
            yield Problem(location, str(exc))
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
