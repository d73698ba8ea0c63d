"""Stream sighting files (CSV, JSON lines, Parquet) as batches of text columns.

Every value arrives as text (or null) so that parsing and its error messages are the same
whatever the container; each batch carries the line (CSV, JSONL) or row (Parquet) of every
record so a bad one can be named. Records that cannot even be split into fields (a CSV row
with the wrong number of fields, a line that is not JSON) are returned as rejects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return [c.strip().strip('"') for c in first.rstrip("\r\n").split(delimiter)]


def iter_batches(
    path: Path,
    columns: list[str],
    batch_rows: int = NETWORK_BATCH_ROWS,
    *,
    malformed: list[tuple[int, str]] | None = None,
) -> Iterator[RawBatch]:
    """Batches of ``columns``; for CSV, ``malformed`` are records already located as bad
    (raises ``NeedsLineScan`` when a bad record turns up and ``malformed`` is None)."""
    fmt = detect_format(path)
    if fmt == "csv":
        yield from _csv_batches(path, columns, batch_rows, malformed)
    elif fmt == "jsonl":
        yield from _jsonl_batches(path, columns, batch_rows)
    else:
        yield from _parquet_batches(path, columns, batch_rows)


class NeedsLineScan(Exception):
    """A CSV record had the wrong number of fields: read again with its line located."""


def locate_malformed_csv(path: Path) -> list[tuple[int, str]]:
    """(line, reason) of every CSV record whose field count differs from the header's."""
    import csv

    found: list[tuple[int, str]] = []
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, [])
        start = reader.line_num + 1
        for record in reader:
            if record and len(record) != len(header):
                found.append((start, f"expected {len(header)} fields, found {len(record)}"))
            start = reader.line_num + 1
    return found


def _csv_batches(
    path: Path,
    columns: list[str],
    batch_rows: int,
    malformed: list[tuple[int, str]] | None,
) -> Iterator[RawBatch]:
    header = read_header(path)
    skip_lines = {line for line, _ in malformed or []}

    found_unlocated: list[bool] = []

    def on_invalid(_row: pacsv.InvalidRow) -> str:
        if malformed is None:
            # pyarrow does not say where the record was: stop, then locate it exactly.
            found_unlocated.append(True)
            return "error"
        return "skip"

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=64 << 20, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter="\t" if path.suffix.lower() == ".tsv" else ",",
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                include_columns=columns,
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (OSError, pa.ArrowException) as exc:
        if found_unlocated:
            raise NeedsLineScan(str(path)) from exc
        raise InputError(f"{path}: not a readable CSV file: {exc}") from exc
    line = 2  # the header is line 1; records are assumed one per line
    rejects = list(malformed or [])
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowException as exc:
            if found_unlocated:
                raise NeedsLineScan(str(path)) from exc
            raise InputError(f"{path}: CSV parse failed near line {line}: {exc}") from exc
        n = batch.num_rows
        if not skip_lines:
            lines = np.arange(line, line + n, dtype=np.int64)
            line += n
        else:
            lines = np.empty(n, dtype=np.int64)
            for pos in range(n):
                while line in skip_lines:
                    line += 1
                lines[pos] = line
                line += 1
        cols = {name: batch.column(name) for name in batch.schema.names}
        for start in range(0, n, batch_rows):
            stop = min(n, start + batch_rows)
            yield RawBatch(
                {k: v.slice(start, stop - start) for k, v in cols.items()},
                lines[start:stop],
                rejects,
            )
            rejects = []
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
