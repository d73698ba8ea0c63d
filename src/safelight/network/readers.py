"""Stream sighting files (CSV, JSON lines, Parquet) as batches of text columns.

Every value arrives as text (or null) so that parsing and its error messages are the same
whatever the container; each batch carries the line (CSV, JSONL) or row (Parquet) of every
record so a bad one can be named. Records that cannot even be split into fields (a CSV row
with the wrong number of fields, a line that is not JSON) are returned as rejects.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from safelight.constants import NETWORK_BATCH_ROWS
from safelight.errors import InputError


@dataclass
class RawBatch:
    """Text columns by source name, the 1-based line/row of each record, and rejects."""

    columns: dict[str, pa.Array]
    lines: np.ndarray
    rejects: list[tuple[int, str]]

    def __len__(self) -> int:
        return len(self.lines)


def detect_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".jsonl" in suffixes or ".ndjson" in suffixes or ".json" in suffixes:
        return "jsonl"
    if ".csv" in suffixes or ".tsv" in suffixes or ".txt" in suffixes:
        return "csv"
    raise InputError(f"{path}: unknown log format {path.suffix!r}; use .csv, .jsonl or .parquet")


def read_header(path: Path) -> list[str]:
    fmt = detect_format(path)
    if fmt == "parquet":
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{path}: not a readable Parquet file: {exc}") from exc
    if fmt == "jsonl":
        keys: dict[str, None] = {}
        with path.open("rb") as fh:
            for count, line in enumerate(fh):
                if count >= 1000:
                    break
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    keys.update(dict.fromkeys(record))
        return list(keys)
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        first = fh.readline()
    return [c.strip().strip('"') for c in first.rstrip("\r\n").split(_delimiter(path))]


def iter_batches(
    path: Path,
    columns: list[str],
    batch_rows: int = NETWORK_BATCH_ROWS,
    *,
    line_scan: LineScan | None = None,
) -> Iterator[RawBatch]:
    """Batches of ``columns``. For CSV, without ``line_scan`` the file is read as it is and
    ``NeedsLineScan`` is raised when a record is bad or spans lines; with the ``line_scan``
    of the file (``scan_csv_lines``) only its good lines are read."""
    fmt = detect_format(path)
    if fmt == "csv":
        yield from _csv_batches(path, columns, batch_rows, line_scan)
    elif fmt == "jsonl":
        yield from _jsonl_batches(path, columns, batch_rows)
    else:
        yield from _parquet_batches(path, columns, batch_rows)


class NeedsLineScan(Exception):
    """A CSV record was bad or not one line: read again with ``scan_csv_lines``."""


@dataclass
class LineScan:
    """A sighting CSV checked line by line: the line numbers of its good records, and
    (line, reason) of each bad one. Blank lines are in neither."""

    good: np.ndarray
    rejects: list[tuple[int, str]]


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines without their endings (\\n, \\r\\n or \\r, as pyarrow splits them)."""
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        for line in fh:
            yield line.rstrip("\r\n")


def scan_csv_lines(path: Path) -> LineScan:
    """Every line of a sighting CSV parsed on its own: a sighting is one line, so a quote
    left open (or a quoted line break) makes that line bad instead of swallowing the lines
    after it; a record whose field count differs from the header's is bad too."""
    delimiter = _delimiter(path)
    lines = _text_lines(path)
    header = next(csv.reader([next(lines, "")], delimiter=delimiter))
    good: list[int] = []
    rejects: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=2):
        if not text:
            continue
        try:
            record = next(csv.reader([text], delimiter=delimiter, strict=True))
        except csv.Error as exc:
            rejects.append((number, f"bad CSV: {exc}"))
            continue
        if len(record) != len(header):
            rejects.append((number, f"expected {len(header)} fields, found {len(record)}"))
        else:
            good.append(number)
    return LineScan(np.array(good, dtype=np.int64), rejects)


class _GoodLines(io.RawIOBase):
    """The header and the good lines of a scanned CSV, as one byte stream for pyarrow."""

    def __init__(self, path: Path, good: np.ndarray) -> None:
        wanted = set(good.tolist())
        self._chunks = (
            f"{text}\n".encode()
            for number, text in enumerate(_text_lines(path), start=1)
            if number == 1 or number in wanted
        )
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _physical_lines(path: Path) -> int:
    """Lines in the file, counted at memory speed (one reused buffer, no copies)."""
    count = 0
    buffer = bytearray(4 << 20)
    view = memoryview(buffer)
    last = b"\n"
    with path.open("rb", buffering=0) as fh:
        while size := fh.readinto(buffer):
            count += (
                buffer.count(b"\n") if size == len(buffer) else view[:size].tobytes().count(b"\n")
            )
            last = bytes(view[size - 1 : size])
    return count + (last != b"\n")


def _row_error(exc: Exception) -> bool:
    """A record pyarrow could not parse, or a field that is not UTF-8: stop, then scan the
    lines to name it (pyarrow does not say where it was). No invalid-row handler: pyarrow
    cannot even call one for a row that is not UTF-8, and the whole file was then refused."""
    text = str(exc)
    return isinstance(exc, pa.ArrowInvalid) and (
        text.startswith("CSV parse error") or "invalid UTF8 data" in text
    )


def _csv_batches(
    path: Path,
    columns: list[str],
    batch_rows: int,
    line_scan: LineScan | None,
) -> Iterator[RawBatch]:
    header = read_header(path)
    source: Path | io.BufferedReader = path
    if line_scan is not None:
        source = io.BufferedReader(_GoodLines(path, line_scan.good), buffer_size=1 << 20)
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=64 << 20, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=_delimiter(path)),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                include_columns=columns,
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (OSError, pa.ArrowException) as exc:
        if _row_error(exc) and line_scan is None:
            raise NeedsLineScan(str(path)) from exc
        raise InputError(f"{path}: not a readable CSV file: {exc}") from exc
    read = 0
    rejects = list(line_scan.rejects) if line_scan is not None else []
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowException as exc:
            if _row_error(exc) and line_scan is None:
                raise NeedsLineScan(str(path)) from exc
            raise InputError(f"{path}: CSV parse failed after record {read}: {exc}") from exc
        n = batch.num_rows
        if line_scan is None:
            lines = np.arange(read + 2, read + 2 + n, dtype=np.int64)
        else:
            lines = line_scan.good[read : read + n]
        read += n
        cols = {name: batch.column(name) for name in batch.schema.names}
        for start in range(0, n, batch_rows):
            stop = min(n, start + batch_rows)
            yield RawBatch(
                {k: v.slice(start, stop - start) for k, v in cols.items()},
                lines[start:stop],
                rejects,
            )
            rejects = []
    if line_scan is None and read != _physical_lines(path) - 1:
        # Records were assumed one per line: a quoted line break (or a blank line) broke
        # that, and every line number after it would be wrong.
        raise NeedsLineScan(str(path))
    if line_scan is not None and read != len(line_scan.good):
        raise InputError(f"{path}: read {read} records from {len(line_scan.good)} good lines")
    if rejects:
        empty = np.empty(0, dtype=np.int64)
        yield RawBatch({name: pa.array([], pa.string()) for name in columns}, empty, rejects)


def _jsonl_batches(path: Path, columns: list[str], batch_rows: int) -> Iterator[RawBatch]:
    values: dict[str, list[str | None]] = {c: [] for c in columns}
    lines: list[int] = []
    rejects: list[tuple[int, str]] = []

    def flush() -> RawBatch:
        batch = RawBatch(
            {c: pa.array(v, pa.string()) for c, v in values.items()},
            np.array(lines, dtype=np.int64),
            list(rejects),
        )
        for v in values.values():
            v.clear()
        lines.clear()
        rejects.clear()
        return batch

    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError as exc:
                rejects.append((number, f"not valid JSON: {exc}"))
                continue
            if not isinstance(record, dict):
                rejects.append((number, "not a JSON object"))
                continue
            for c in columns:
                value = record.get(c)
                values[c].append(None if value is None or value == "" else str(value))
            lines.append(number)
            if len(lines) >= batch_rows:
                yield flush()
    if lines or rejects:
        yield flush()


def _parquet_batches(path: Path, columns: list[str], batch_rows: int) -> Iterator[RawBatch]:
    try:
        pfile = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from exc
    row = 1
    for batch in pfile.iter_batches(batch_size=batch_rows, columns=columns):
        cols = {}
        for name in batch.schema.names:
            arr = batch.column(name)
            if pa.types.is_timestamp(arr.type) and arr.type.tz is not None:
                # Typed instants keep their zone: render them as UTC ISO text.
                arr = pc.strftime(arr, format="%Y-%m-%dT%H:%M:%S", locale="C")
                arr = pc.binary_join_element_wise(arr, pa.scalar("+00:00"), "")
            elif not pa.types.is_string(arr.type):
                arr = pc.cast(arr, pa.string())
            cols[name] = arr
        n = batch.num_rows
        yield RawBatch(cols, np.arange(row, row + n, dtype=np.int64), [])
        row += n
