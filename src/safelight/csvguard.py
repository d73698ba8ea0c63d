"""Every CSV Safelight writes goes through here: text cells cannot become formulas.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return as a formula (OWASP, "CSV Injection"); sighting logs, file names and list
notes come from outside, so such a cell is written with a ``'`` in front.

The rule is by type: a text cell is guarded, even one that reads as a negative number; a
number (int, float, an Arrow numeric column) is written as it is, so ``-33.9`` in a
coordinate column stays a number. A text cell that starts with ``'`` followed by what would be
guarded is guarded too (``'=x`` is written ``''=x``), so ``unguard_cell`` gives every cell
back exactly: a lists export read back by import is lossless.

``writer`` wraps ``csv.writer`` and ``write_table`` wraps Arrow's CSV writer; nothing else in
Safelight may write CSV (tests/test_csv_guard.py enforces it).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safelight.constants import CSV_FORMULA_GUARD, CSV_FORMULA_PREFIXES

if TYPE_CHECKING:
    import pyarrow as pa

# Zero or more guards, then a formula character: the cells that get one more guard.
_GUARDED_PATTERN = f"^{re.escape(CSV_FORMULA_GUARD)}*[{re.escape(CSV_FORMULA_PREFIXES)}]"
_NEEDS_GUARD = re.compile(_GUARDED_PATTERN)


def guard_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front if it is text a spreadsheet would run; else as is."""
    if isinstance(value, str) and _NEEDS_GUARD.match(value):
        return CSV_FORMULA_GUARD + value
    return value


def unguard_cell(text: str) -> str:
    """The inverse of ``guard_cell`` on text (for reading back what Safelight wrote)."""
    if text.startswith(CSV_FORMULA_GUARD) and _NEEDS_GUARD.match(text[1:]):
        return text[1:]
    return text


def guard_row(values: Iterable[Any]) -> list[Any]:
    return [guard_cell(value) for value in values]


class GuardedWriter:
    """``csv.writer`` whose every text cell goes through ``guard_cell``."""

    def __init__(self, out: Any, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(guard_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows(guard_row(row) for row in rows)


def writer(out: Any, **fmtparams: Any) -> GuardedWriter:
    return GuardedWriter(out, **fmtparams)


def guard_table(table: pa.Table) -> pa.Table:
    """Every text column of ``table`` guarded with Arrow's kernels (numbers untouched)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind) and _is_text(kind.value_type):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if _is_text(kind):
            hit = pc.match_substring_regex(column, _GUARDED_PATTERN)
            guarded = pc.binary_join_element_wise(
                pa.scalar(CSV_FORMULA_GUARD, kind), column, pa.scalar("", kind)
            )
            column = pc.if_else(hit, guarded, column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def write_table(table: pa.Table, path: Path | str) -> None:
    """``table`` as CSV at ``path`` through Arrow's writer, its text cells guarded (pass it
    unguarded: a guarded cell would get a second guard)."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(guard_table(table), path)
