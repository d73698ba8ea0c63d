"""Hash-list files as known material: read like ``lists import``, matched like ``match``.

A case can be matched against list files that are not in the store (a partner's export, a
list received for one investigation). They are read by the lists readers, so every import
format, the typing of values (a bare 64-hex value must be declared: docs/model.md), the label
separator (``|``) and the problems (``file:line``) are those of ``safelight lists import``;
any bad line refuses the file. Their entries are then put into the same index classes the
Matcher searches (one per signal type, ``registry.get(t).index_kind``), built in a private
temporary folder that goes with this object, so exact digests and PDQ within the threshold
are found the same way as for the store's lists.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from safelight.constants import PDQ_MATCH_THRESHOLD
from safelight.errors import UsageError, ValidationError
from safelight.index import parse_hex
from safelight.lists.formats import detect_format, read_records
from safelight.lists.models import Problem
from safelight.lists.records import HashingReader, ParseOptions
from safelight.match.indexes import INDEX_CLASSES, Index
from safelight.network.known import EXACT, KnownMatch
from safelight.network.list_files_fast import fast_entries
from safelight.signals.types import registry

# The columns network analysis matches (FileDigests' fields, in lookup_columns order).
MATCHED_TYPES = (*EXACT, "pdq")


@dataclass
class _Entries:
    values: list[str] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # index into ListFileMaterial._meta


def read_list_entries(path: Path, fmt: str | None = None) -> list[tuple[str, str, frozenset[str]]]:
    """(signal type, value, labels) of every record of a list file; any problem refuses the
    file with every bad line named. A plain CSV takes the columnar fast path
    (``list_files_fast``), which gives the same entries or declines."""
    if fmt in (None, "csv") and path.suffix.lower() == ".csv":
        found = fast_entries(path)
        if found is not None:
            return found
    return read_with_lists_readers(path, fmt)


def read_with_lists_readers(
    path: Path, fmt: str | None = None
) -> list[tuple[str, str, frozenset[str]]]:
    """``read_list_entries`` through the lists readers alone (the fast path's oracle)."""
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read list file: {exc.strerror or exc}") from None
    records, problems = [], []
    with handle:
        reader = HashingReader(handle)
        for item in read_records(
            detect_format(name, fmt or "csv"), reader, name, ParseOptions(), False
        ):
            if isinstance(item, Problem):
                problems.append((item.location, item.reason))
            else:
                records.append((item.signal_type, item.value, item.labels))
    if problems:
        raise ValidationError(f"{path}: {len(problems)} invalid list lines", problems)
    return records


class ListFileMaterial:
    """Known material from list files; each file is a list named after its stem."""

    def __init__(self, paths: Sequence[Path], pdq_threshold: int = PDQ_MATCH_THRESHOLD) -> None:
        self.pdq_threshold = pdq_threshold
        self.names = sorted({p.stem for p in paths})
        self.description = f"hash list files: {', '.join(self.names)}"
        self._meta: list[KnownMatch] = []
        meta_ids: dict[tuple[str, frozenset[str]], int] = {}
        entries = {t: _Entries() for t in MATCHED_TYPES}
        for path in paths:
            for signal_type, value, labels in read_list_entries(path):
                if signal_type not in entries:
                    continue  # vPDQ and other types: network sightings carry none of them
                key = (path.stem, labels)
                if key not in meta_ids:
                    meta_ids[key] = len(self._meta)
                    self._meta.append(KnownMatch((path.stem,), tuple(sorted(labels))))
                entries[signal_type].values.append(value)
                entries[signal_type].owners.append(meta_ids[key])
        self._folder = Path(tempfile.mkdtemp(prefix="safelight-listfiles-"))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._indexes: dict[str, tuple[Index, np.ndarray]] = {}
        for signal_type, found in entries.items():
            if found.values:
                self._indexes[signal_type] = self._build(signal_type, found)

    def _build(self, signal_type: str, found: _Entries) -> tuple[Index, np.ndarray]:
        kind = registry.get(signal_type)
        # Values are normalised hex of the type's width (the readers checked): one decode.
        keys = np.frombuffer(bytes.fromhex("".join(found.values)), dtype=np.uint8)
        keys = keys.reshape(len(found.values), kind.key_bytes)
        ids = np.arange(len(found.values), dtype=np.int64)
        owners = np.asarray(found.owners, dtype=np.int64)
        index_class = INDEX_CLASSES[kind.index_kind]  # the Matcher's choice, one table
        index = index_class.build(self._folder / signal_type, ids, keys, signal_type=signal_type)
        return index, owners

    def lookup_columns(self, keys: Sequence[str], *digests: Sequence[str]) -> dict[str, KnownMatch]:
        """Known files among files given as columns: key, then md5, sha1, sha256, pdq."""
        hits: dict[str, set[int]] = {}  # by file key: a key given twice merges
        for signal_type, column in zip(MATCHED_TYPES, digests, strict=True):
            if signal_type not in self._indexes or not len(column):
                continue
            index, owners = self._indexes[signal_type]
            rows = np.flatnonzero(np.fromiter((bool(v) for v in column), bool, len(column)))
            if not rows.size:
                continue
            queries, ok, _ = parse_hex(
                [column[r] for r in rows.tolist()], registry.get(signal_type).key_bytes
            )
            rows = rows[ok]
            threshold = self.pdq_threshold if signal_type == "pdq" else 0
            found = index.search(queries, threshold)
            counts = np.diff(found.offsets)
            query_rows = np.repeat(rows, counts)
            for row, owner in zip(query_rows.tolist(), owners[found.ids].tolist(), strict=True):
                hits.setdefault(keys[row], set()).add(owner)
        return {key: self._merged(owned) for key, owned in hits.items()}

    def _merged(self, owned: set[int]) -> KnownMatch:
        if len(owned) == 1:
            return self._meta[next(iter(owned))]
        lists = {name for o in owned for name in self._meta[o].lists}
        labels = {label for o in owned for label in self._meta[o].labels}
        return KnownMatch(tuple(sorted(lists)), tuple(sorted(labels)))

    def lookup(self, files: Sequence[object]) -> dict[str, KnownMatch]:
        from safelight.network.known import file_columns

        return self.lookup_columns(*file_columns(files))  # type: ignore[arg-type]
