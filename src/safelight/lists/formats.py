"""The file formats of hash lists: detection, readers and writers by name."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import PurePath
from typing import TextIO

from safelight import csvguard
from safelight.errors import UsageError
from safelight.lists.models import Entry, Problem, Record
from safelight.lists.projectvic import read_projectvic, write_projectvic
from safelight.lists.readers import read_delimited, read_jsonl, read_lines, read_vpdq_file
from safelight.lists.records import LABEL_SEPARATOR, HashingReader, ParseOptions

IMPORT_FORMATS = ("lines", "csv", "tsv", "jsonl", "projectvic", "vpdq")
EXPORT_FORMATS = ("lines", "csv", "tsv", "jsonl", "projectvic")
_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "projectvic",
    ".vpdq": "vpdq",
}
CSV_COLUMNS = ("id", "type", "value", "labels", "note", "disabled_until")


def detect_format(path: str, given: str | None) -> str:
    """The format named, else the one the file name suggests, else plain lines."""
    if given:
        if given not in IMPORT_FORMATS:
            raise UsageError(f"unknown format {given!r} (known: {', '.join(IMPORT_FORMATS)})")
        return given
    return _BY_SUFFIX.get(PurePath(path).suffix.lower(), "lines")


def read_records(
    fmt: str, source: HashingReader, name: str, options: ParseOptions, skip_invalid: bool
) -> Iterator[Record | Problem]:
    if fmt == "lines":
        return read_lines(source, name, options)
    if fmt == "csv":
        return read_delimited(source, name, options, ",")
    if fmt == "tsv":
        return read_delimited(source, name, options, "\t")
    if fmt == "jsonl":
        return read_jsonl(source, name, options)
    if fmt == "projectvic":
        return read_projectvic(source, name, options)
    if fmt == "vpdq":
        return read_vpdq_file(source, name, options, skip_invalid)
    raise UsageError(f"unknown format {fmt!r} (known: {', '.join(IMPORT_FORMATS)})")


def _iso(entry: Entry) -> str:
    return entry.disabled_until.isoformat() if entry.disabled_until else ""


def write_entries(fmt: str, entries: Iterable[Entry], out: TextIO) -> tuple[int, int]:
    """Write entries in a format; (written, skipped because the format cannot hold them)."""
    written = 0
    if fmt == "lines":
        for entry in entries:
            out.write(f"{entry.signal_type} {entry.value}\n")
            written += 1
        return written, 0
    if fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        writer = csvguard.writer(out, delimiter=delimiter, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow(
                [
                    entry.id,
                    entry.signal_type,
                    entry.value,
                    LABEL_SEPARATOR.join(sorted(entry.labels)),
                    entry.note or "",
                    _iso(entry),
                ]
            )
            written += 1
        return written, 0
    if fmt == "jsonl":
        for entry in entries:
            out.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
            written += 1
        return written, 0
    if fmt == "projectvic":
        return write_projectvic(entries, out)
    raise UsageError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
