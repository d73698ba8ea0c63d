"""Ingest sighting logs into a case: parse, reject bad rows by line, deduplicate, commit.

Two phases per file. *Parse* (pure, runs anywhere, on Dask workers too) streams the file in
batches, writes good rows to a temporary Parquet part and every bad row to a rejects CSV.
*Commit* (in the calling process, under the case lock) drops rows already in the case (same
row hash: an overlapping export, or the same sighting twice in one file), moves the part into
place and registers it in one transaction. The same file content twice is one ingest.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from safelight.errors import InputError
from safelight.network.columns import ColumnMapping
from safelight.network.known import FileDigests, KnownMaterial
from safelight.network.parse import parse_batch
from safelight.network.readers import (
    NeedsLineScan,
    iter_batches,
    locate_malformed_csv,
    read_header,
)
from safelight.network.sightings import (
    PART_SCHEMA,
    Case,
    IngestRecord,
    case_lock,
    durable_replace,
    existing_row_hashes,
    part_paths,
    register,
    registered,
)
from safelight.store import Database

# Bad rows echoed in summaries; the rejects file always has all of them.
SHOWN_PROBLEMS = 20


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
    shown_problems: list[tuple[int, str]]


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


def parse_file(path: Path, mapping: ColumnMapping, work_dir: Path, sha: str) -> ParsedFile:
    """Parse phase: every row of ``path`` into a temporary part or the rejects file."""
    columns = mapping.resolve(str(path), read_header(path))
    tmp_part = work_dir / f".{sha[:20]}.parquet.tmp"
    rejects_path = work_dir.parent / "rejects" / f"{sha[:20]}.csv"
    try:
        return _parse_into(path, columns, tmp_part, rejects_path, sha, None)
    except NeedsLineScan:
        malformed = locate_malformed_csv(path)
        return _parse_into(path, columns, tmp_part, rejects_path, sha, malformed)


def _parse_into(
    path: Path,
    columns: dict[str, str],
    tmp_part: Path,
    rejects_path: Path,
    sha: str,
    malformed: list[tuple[int, str]] | None,
) -> ParsedFile:
    total = good = bad = 0
    shown: list[tuple[int, str]] = []
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        pq.ParquetWriter(tmp_part, PART_SCHEMA, compression="zstd") as writer,
        rejects_path.open("w", newline="", encoding="utf-8") as rejects_fh,
    ):
        rejects = csv.writer(rejects_fh)
        rejects.writerow(["file", "line", "reason"])
        for raw in iter_batches(path, sorted(set(columns.values())), malformed=malformed):
            parsed = parse_batch(raw, columns)
            table = parsed.good
            if table.num_rows:
                writer.write_table(table)
            good += table.num_rows
            bad += len(parsed.problems)
            total += table.num_rows + len(parsed.problems)
            for line, reason in parsed.problems:
                rejects.writerow([str(path), line, reason])
                if len(shown) < SHOWN_PROBLEMS:
                    shown.append((line, reason))
    return ParsedFile(
        str(path), sha, str(tmp_part), str(rejects_path), total, good, bad, shown
    )


def commit_parsed(db: Database, case: Case, parsed: ParsedFile) -> FileSummary:
    """Commit phase: drop rows the case already has, move the part in, register it."""
    tmp = Path(parsed.tmp_part)
    summary = FileSummary(
        parsed.source,
        "ingested",
        parsed.rows_total,
        parsed.rows_good,
        parsed.rows_bad,
        rejects_path=parsed.rejects_path,
        problems=parsed.shown_problems,
    )
    with case_lock(case):
        if any(r.content_sha256 == parsed.content_sha256 for r in registered(db, case)):
            tmp.unlink(missing_ok=True)
            summary.status = "already ingested"
            return summary
        seen = existing_row_hashes(part_paths(db, case))
        table = pq.read_table(tmp)
        hashes = table.column("row_hash").to_numpy()
        _, first = np.unique(hashes, return_index=True)
        keep = np.zeros(len(hashes), dtype=bool)
        keep[first] = True
        keep &= ~np.isin(hashes, seen)
        summary.rows_duplicate = int(len(hashes) - keep.sum())
        summary.rows_good = int(keep.sum())
        if not keep.all():
            pq.write_table(table.filter(pa.array(keep)), tmp, compression="zstd")
        part_name = f"{parsed.content_sha256[:20]}.parquet"
        durable_replace(tmp, case.parts_dir / part_name)
        record = IngestRecord(
            parsed.content_sha256,
            parsed.source,
            part_name,
            parsed.rows_total,
            summary.rows_good,
            parsed.rows_bad,
            summary.rows_duplicate,
        )
        if not register(db, case, record):  # pragma: no cover - lock makes this a race only
            summary.status = "already ingested"
    return summary


def enrich_summary(summary: FileSummary, part: Path, known: KnownMaterial) -> None:
    """Known vs unknown files (and known sightings) of one committed part."""
    table = pq.read_table(part, columns=["file_key", "md5", "sha1", "sha256", "pdq"])
    frame = table.to_pandas()
    counts = frame["file_key"].value_counts()
    files = frame.drop_duplicates("file_key")
    digests = [
        FileDigests(r.file_key, r.md5, r.sha1, r.sha256, r.pdq)
        for r in files.itertuples(index=False)
    ]
    matches = known.lookup(digests)
    summary.known_files = len(matches)
    summary.unknown_files = len(digests) - len(matches)
    summary.known_sightings = int(counts[counts.index.isin(list(matches))].sum())


def ingest_files(
    db: Database,
    case: Case,
    paths: Sequence[Path],
    mapping: ColumnMapping,
    known: KnownMaterial,
    *,
    cluster: str | None = None,
) -> list[FileSummary]:
    """Ingest each file; files whose content is already in the case are skipped."""
    done = {r.content_sha256 for r in registered(db, case)}
    todo: list[tuple[Path, str]] = []
    summaries: dict[Path, FileSummary] = {}
    for path in paths:
        sha = content_sha256(path)
        if sha in done or any(sha == s for _, s in todo):
            summaries[path] = FileSummary(str(path), "already ingested")
        else:
            todo.append((path, sha))
    if cluster:
        from safelight.network.distributed import parse_files_on_dask

        parsed_files = parse_files_on_dask(cluster, todo, mapping, case.parts_dir)
    else:
        parsed_files = [parse_file(p, mapping, case.parts_dir, sha) for p, sha in todo]
    for (path, _), parsed in zip(todo, parsed_files, strict=True):
        summary = commit_parsed(db, case, parsed)
        if summary.status == "ingested":
            enrich_summary(summary, case.parts_dir / f"{parsed.content_sha256[:20]}.parquet", known)
        summaries[path] = summary
    return [summaries[p] for p in paths]
