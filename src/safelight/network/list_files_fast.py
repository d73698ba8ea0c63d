"""The fast path of reading a CSV list file: Arrow's reader and string kernels over whole
columns, for the plain shape most list files have (a value column, an optional type or
algorithm column, an optional labels column; every row valid). It gives exactly the entries
the lists readers give (``list_files.read_list_entries``, the oracle: a property test holds
the two together); anything else (another shape, a quote, any invalid row) returns None and
the lists readers read the file, naming every problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from safelight.lists.readers import DIGEST_COLUMN, resolve_columns
from safelight.lists.records import LABEL_SEPARATOR, ParseOptions
from safelight.signals.types import registry

Entries = list[tuple[str, str, frozenset[str]]]
_TYPED = ("md5", "sha1", "sha256", "pdq")


def fast_entries(path: Path) -> Entries | None:
    """The entries of a plain CSV list file, or None when the lists readers must read it."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b'"' in data or data.count(b"\r") != data.count(b"\r\n") or not data.endswith(b"\n"):
        return None  # quoting and lone carriage returns: the lists reader's business
    try:
        header = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8").split(",")
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=True),
            convert_options=pacsv.ConvertOptions(  # every cell as text: no number inference
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    columns = _columns(table.column_names)
    if columns is None or table.num_rows == 0:
        return None
    value_name, type_name, labels_name, value_kind = columns

    def text(name: str) -> pa.Array:
        column = pc.cast(table.column(name), pa.string()).combine_chunks()
        return pc.utf8_trim_whitespace(pc.fill_null(column, ""))

    values = pc.utf8_lower(text(value_name))
    if type_name is not None:
        kinds = pc.utf8_lower(text(type_name))
    else:
        kinds = pa.array(np.full(table.num_rows, value_kind or "", dtype=object), pa.string())
    kinds = _canonical(kinds, values, value_kind)
    if kinds is None or not _valid(values, kinds):
        return None
    labels = text(labels_name).to_pylist() if labels_name is not None else None
    out_kinds, out_values = kinds.to_pylist(), values.to_pylist()
    if labels is None:
        return [(k, v, frozenset()) for k, v in zip(out_kinds, out_values, strict=True)]
    split = {raw: _labels(raw) for raw in set(labels)}
    if any(found is None for found in split.values()):
        return None
    return [
        (k, v, split[raw])  # type: ignore[misc]
        for k, v, raw in zip(out_kinds, out_values, labels, strict=True)
    ]


def _columns(header: list[str]) -> tuple[str, str | None, str | None, str | None] | None:
    """(value column, type column, labels column, the type a value column's name declares),
    as the lists readers resolve them; None for any other shape (the readers read it)."""
    if len({name.strip().lower() for name in header}) != len(header):
        return None
    try:
        columns, kind = resolve_columns(header, ParseOptions())
    except ValueError:
        return None
    used = [index for indexes in columns.values() for index in indexes]
    if set(columns) - {"value", "type", "labels"} or len(used) != len(header):
        return None  # other columns (note, disabled_until...): the lists readers handle them
    if kind is not None and kind not in _TYPED and kind != DIGEST_COLUMN:
        return None
    value, type_column, labels = (
        header[columns[name][0]] if name in columns else None
        for name in ("value", "type", "labels")
    )
    assert value is not None  # resolve_columns always finds one, or raises
    return value, type_column, labels, kind


def _canonical(kinds: pa.Array, values: pa.Array, value_kind: str | None) -> pa.Array | None:
    """Each row's canonical type: its type cell (names and aliases), else the column's, else
    the one type of its length; None when any row stays untyped or unknown."""
    names = {n: t.name for t in registry for n in t.names if t.name in _TYPED}
    raw = kinds.to_pylist()
    distinct = set(raw)
    if any(k and k not in names for k in distinct):
        return None
    mapped = pa.array([names.get(k, "") for k in raw], pa.string())
    if "" not in distinct:
        return mapped
    among = (
        registry.file_digests()
        if value_kind == DIGEST_COLUMN
        else [registry.get(t) for t in _TYPED]
    )
    by_length = registry.unambiguous_lengths(among)
    lengths = np.asarray(pc.utf8_length(values).to_numpy(zero_copy_only=False))
    inferred = np.select([lengths == n for n in by_length], list(by_length.values()), "")
    filled = pc.if_else(pc.equal(mapped, ""), pa.array(inferred, pa.string()), mapped)
    if bool(pc.any(pc.equal(filled, "")).as_py()):
        return None
    return filled


def _valid(values: pa.Array, kinds: pa.Array) -> bool:
    lengths = np.asarray(pc.utf8_length(values).to_numpy(zero_copy_only=False))
    expected = np.zeros(len(values), dtype=np.int64)
    for name in _TYPED:
        width = registry.get(name).hex_length or 0
        expected[np.asarray(pc.equal(kinds, name).to_numpy(zero_copy_only=False))] = width
    hexed = np.asarray(
        pc.match_substring_regex(values, "^[0-9a-f]+$").to_numpy(zero_copy_only=False)
    )
    return bool(np.all((lengths == expected) & hexed))


def _labels(raw: str) -> frozenset[str] | None:
    """Labels of a cell as the lists reader takes them; None for anything it would refuse."""
    out = []
    for part in raw.split(LABEL_SEPARATOR):
        label = part.strip()
        if not part.strip():
            continue
        if any(ord(c) < 32 for c in label) or len(label) > 255 or label[0] in "=+-@'":
            return None  # control characters, long labels, guarded cells: the slow path
        out.append(label)
    return frozenset(out)
