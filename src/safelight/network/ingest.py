"""Ingest sighting logs into a case: parse, reject bad rows by line, deduplicate, commit.

Two phases per file. *Parse* (pure, runs anywhere, on Dask workers too) streams the file in
batches, drops rows the case already holds or the file repeats (same row hash), writes good
rows to a temporary part and every bad row to a rejects CSV, and counts sightings per file
for enrichment. *Commit* (in the calling process, under the case lock) re-checks against
parts registered meanwhile, moves the part into place and registers it in one transaction.
The same file content twice is one ingest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from safelight import csvguard
from safelight.errors import InputError
from safelight.network.aggregate import group
from safelight.network.columns import ColumnMapping
from safelight.network.hashtables import HashSet
from safelight.network.known import KnownMaterial, lookup_columns
from safelight.network.parse import parse_batch
from safelight.network.readers import (
    LineScan,
    NeedsLineScan,
    iter_batches,
    read_header,
    scan_csv_lines,
)
from safelight.network.sightings import (
    PART_OPTIONS,
    PART_SCHEMA,
    PART_SUFFIX,
    Case,
    IngestRecord,
    case_lock,
    durable_replace,
    existing_row_hashes,
    read_part,
    register,
    registered,
)
from safelight.store import Database
from safelight.workers.mapping import Mapper, local_map

# Bad rows echoed in summaries; the rejects file always has all of them.
SHOWN_PROBLEMS = 20
DIGEST_COLUMNS = ("md5", "sha1", "sha256", "pdq")


@dataclass
class ParsedFile:
    """What the parse phase made of one file (a temporary part plus its rejects)."""

    source: str
    content_sha256: str
    tmp_part: str
    rejects_path: str
    rows_total: int
    rows_good: int
    rows_bad: int
    rows_duplicate: int
    shown_problems: list[tuple[int, str]]
    files: pa.Table  # file_key, md5, sha1, sha256, pdq, sightings
    parts_seen: list[str]


@dataclass
class FileSummary:
    source: str
    status: str  # ingested | already ingested
    rows_total: int = 0
    rows_good: int = 0
    rows_bad: int = 0
    rows_duplicate: int = 0
    known_files: int = 0
    unknown_files: int = 0
    known_sightings: int = 0
    rejects_path: str = ""
    problems: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        out = dict(self.__dict__)
        out["problems"] = [{"line": line, "reason": reason} for line, reason in self.problems]
        return out


def content_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def part_name(sha: str) -> str:
    return f"{sha[:20]}{PART_SUFFIX}"


def parse_file(
    path: Path,
    mapping: ColumnMapping,
    work_dir: Path,
    sha: str,
    seen: np.ndarray,
    parts_seen: list[str],
) -> ParsedFile:
    """Parse phase: every row of ``path`` into a temporary part or the rejects file;
    rows whose hash is in ``seen`` (the case's rows) or earlier in the file are dropped."""
    columns = mapping.resolve(str(path), read_header(path))
    tmp_part = work_dir / f".{sha[:20]}{PART_SUFFIX}.tmp"
    rejects_path = work_dir.parent / "rejects" / f"{sha[:20]}.csv"
    try:
        parsed = _parse_into(path, columns, tmp_part, rejects_path, sha, seen, None)
    except NeedsLineScan:
        line_scan = scan_csv_lines(path)
        parsed = _parse_into(path, columns, tmp_part, rejects_path, sha, seen, line_scan)
    parsed.parts_seen = parts_seen
    return parsed


def parse_item(
    item: tuple[Path, str],
    *,
    mapping: ColumnMapping,
    work_dir: Path,
    seen: np.ndarray,
    parts_seen: list[str],
) -> ParsedFile:
    """``parse_file`` of one (path, content SHA-256), in the shape a ``Mapper`` calls."""
    path, sha = item
    return parse_file(path, mapping, work_dir, sha, seen, parts_seen)


def _file_stats(table: pa.Table) -> pa.Table:
    """Sightings per file key, with every digest seen for it (for enrichment)."""
    return group(table, ["file_key"], [*((c, "max") for c in DIGEST_COLUMNS), ("ts", "count")])


def _parse_into(
    path: Path,
    columns: dict[str, str],
    tmp_part: Path,
    rejects_path: Path,
    sha: str,
    seen: np.ndarray,
    line_scan: LineScan | None,
) -> ParsedFile:
    total = good = bad = duplicate = 0
    shown: list[tuple[int, str]] = []
    stats: list[pa.Table] = []
    # Sized from the file (rows are rarely under 64 bytes; the set grows if they are): a
    # fixed large table costs more to clear than a small file costs to parse. Capped, so a
    # file of long rows cannot reserve far more than its rows need (~300 MB at the cap).
    expected = min(max(path.stat().st_size // 64, 1024), 1 << 24)
    dedupe = HashSet(len(seen) + expected)
    dedupe.add(seen)
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        pa.OSFile(str(tmp_part), "wb") as sink,
        pa.ipc.new_file(sink, PART_SCHEMA, options=PART_OPTIONS) as writer,
        rejects_path.open("w", newline="", encoding="utf-8") as rejects_fh,
    ):
        rejects = csvguard.writer(rejects_fh)
        rejects.writerow(["file", "line", "reason"])
        for raw in iter_batches(path, sorted(set(columns.values())), line_scan=line_scan):
            parsed = parse_batch(raw, columns)
            table = parsed.good
            fresh = dedupe.add(table.column("row_hash").to_numpy())
            if not fresh.all():
                duplicate += int((~fresh).sum())
                table = table.filter(pa.array(fresh))
            if table.num_rows:
                writer.write_table(table)
                stats.append(_file_stats(table))
            good += table.num_rows
            bad += len(parsed.problems)
            total += parsed.good.num_rows + len(parsed.problems)
            for line, reason in parsed.problems:
                rejects.writerow([str(path), line, reason])
                if len(shown) < SHOWN_PROBLEMS:
                    shown.append((line, reason))
    files = _combine_stats(stats)
    return ParsedFile(
        str(path),
        sha,
        str(tmp_part),
        str(rejects_path),
        total,
        good,
        bad,
        duplicate,
        shown,
        files,
        [],
    )


def _combine_stats(stats: list[pa.Table]) -> pa.Table:
    if not stats:
        return pa.table(
            {
                "file_key": pa.array([], pa.string()),
                **{c: pa.array([], pa.string()) for c in DIGEST_COLUMNS},
                "sightings": pa.array([], pa.int64()),
            }
        )
    if len(stats) == 1:  # one batch (a small file): already one row per file key
        single = {f"{c}_max": c for c in DIGEST_COLUMNS} | {"ts_count": "sightings"}
        return stats[0].rename_columns(single).select(["file_key", *DIGEST_COLUMNS, "sightings"])
    merged = (
        pa.concat_tables(stats)
        .group_by("file_key")
        .aggregate([(f"{c}_max", "max") for c in DIGEST_COLUMNS] + [("ts_count", "sum")])
    )
    names = {f"{c}_max_max": c for c in DIGEST_COLUMNS} | {"ts_count_sum": "sightings"}
    return merged.rename_columns(names).select(["file_key", *DIGEST_COLUMNS, "sightings"])


def commit_parsed(db: Database, case: Case, parsed: ParsedFile) -> FileSummary:
    """Commit phase: drop rows registered since parsing, move the part in, register it."""
    tmp = Path(parsed.tmp_part)
    summary = FileSummary(
        parsed.source,
        "ingested",
        parsed.rows_total,
        parsed.rows_good,
        parsed.rows_bad,
        parsed.rows_duplicate,
        rejects_path=parsed.rejects_path,
        problems=parsed.shown_problems,
    )
    with case_lock(case):
        now = registered(db, case)
        if any(r.content_sha256 == parsed.content_sha256 for r in now):
            tmp.unlink(missing_ok=True)
            summary.status = "already ingested"
            return summary
        newer = [case.parts_dir / r.part_name for r in now if r.part_name not in parsed.parts_seen]
        if newer:  # another ingest committed while this file was parsed
            table = read_part(tmp)
            dedupe = HashSet(table.num_rows)
            dedupe.add(existing_row_hashes(newer))
            keep = dedupe.add(table.column("row_hash").to_numpy())
            if not keep.all():
                summary.rows_duplicate += int((~keep).sum())
                summary.rows_good = int(keep.sum())
                kept = table.filter(pa.array(keep))
                with (
                    pa.OSFile(str(tmp), "wb") as sink,
                    pa.ipc.new_file(sink, PART_SCHEMA, options=PART_OPTIONS) as writer,
                ):
                    writer.write_table(kept)
                parsed.files = _combine_stats([_file_stats(kept)])
        name = part_name(parsed.content_sha256)
        durable_replace(tmp, case.parts_dir / name)
        record = IngestRecord(
            parsed.content_sha256,
            parsed.source,
            name,
            parsed.rows_total,
            summary.rows_good,
            parsed.rows_bad,
            summary.rows_duplicate,
        )
        if not register(db, case, record):  # pragma: no cover - the lock makes this a race
            summary.status = "already ingested"
    return summary


def enrich_summary(summary: FileSummary, files: pa.Table, known: KnownMaterial) -> None:
    """Known vs unknown files (and known sightings) among one ingest's files."""
    columns = [files.column(c).to_pylist() for c in ("file_key", *DIGEST_COLUMNS)]
    matches = lookup_columns(known, columns)
    sightings = files.column("sightings").to_numpy()
    is_known = np.fromiter((k in matches for k in columns[0]), dtype=bool, count=len(columns[0]))
    summary.known_files = len(matches)
    summary.unknown_files = files.num_rows - len(matches)
    summary.known_sightings = int(sightings[is_known].sum())


def ingest_files(
    db: Database,
    case: Case,
    paths: Sequence[Path],
    mapping: ColumnMapping,
    known: KnownMaterial,
    *,
    mapper: Mapper = local_map,
) -> list[FileSummary]:
    """Ingest each file; files whose content is already in the case are skipped.

    ``mapper`` runs the parse phase (``parse_item`` per file): here by default, or in
    worker processes or on Dask (``safelight.workers.mapping``); commits stay here."""
    records = registered(db, case)
    done = {r.content_sha256 for r in records}
    parts_seen = [r.part_name for r in records]
    seen = existing_row_hashes([case.parts_dir / name for name in parts_seen])
    todo: list[tuple[Path, str]] = []
    summaries: dict[Path, FileSummary] = {}
    for path in paths:
        sha = content_sha256(path)
        if sha in done or any(sha == s for _, s in todo):
            summaries[path] = FileSummary(str(path), "already ingested")
        else:
            todo.append((path, sha))
    parsed_files: list[ParsedFile] = mapper(
        parse_item,
        todo,
        mapping=mapping,
        work_dir=case.parts_dir,
        seen=seen,
        parts_seen=parts_seen,
    )
    for (path, _), parsed in zip(todo, parsed_files, strict=True):
        summary = commit_parsed(db, case, parsed)
        if summary.status == "ingested":
            enrich_summary(summary, parsed.files, known)
        summaries[path] = summary
    return [summaries[p] for p in paths]
