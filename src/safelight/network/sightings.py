"""Where a case's sightings live: Parquet parts beside the store, registered in the store.

Layout under ``$SAFELIGHT_HOME/network/case-<id>/``::

    parts/<content>.arrow       good sightings of one ingested file (deduplicated), Arrow
                                IPC with LZ4: written 3-5x faster than Parquet here
    rejects/<content>.csv       every bad row of that file: line, reason
    .lock                       serialises ingests into the case

A part becomes visible only when its ``network_ingests`` row commits; files on disk that no
row names (a kill between the rename and the commit) are ignored and overwritten on retry.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from safelight.errors import NotFoundError, StoreError, UsageError
from safelight.store import Database
from safelight.store.database import default_home
from safelight.store.network_tables import network_cases, network_ingests

PART_SCHEMA = pa.schema(
    [
        ("ts", pa.int64()),
        ("ip", pa.string()),
        ("port", pa.int32()),
        ("peer", pa.string()),
        ("client", pa.string()),
        ("protocol", pa.string()),
        ("md5", pa.string()),
        ("sha1", pa.string()),
        ("sha256", pa.string()),
        ("pdq", pa.string()),
        ("file_key", pa.string()),
        ("file_name", pa.string()),
        ("size", pa.int64()),
        ("line", pa.int64()),
        ("row_hash", pa.uint64()),
    ]
)


@dataclass(frozen=True)
class Case:
    id: int
    name: str
    lists: tuple[str, ...]
    folder: Path

    @property
    def parts_dir(self) -> Path:
        return self.folder / "parts"

    @property
    def rejects_dir(self) -> Path:
        return self.folder / "rejects"


def network_home(home: Path | None = None) -> Path:
    return (home or default_home()) / "network"


def _case(row: object, home: Path | None) -> Case:
    case_id, name, lists = row[0], row[1], row[2]  # type: ignore[index]
    folder = network_home(home) / f"case-{case_id}"
    return Case(int(case_id), str(name), tuple(json.loads(lists)), folder)


def find_case(db: Database, name: str, home: Path | None = None) -> Case | None:
    with db.connect() as conn:
        row = conn.execute(
            select(network_cases.c.id, network_cases.c.name, network_cases.c.lists).where(
                network_cases.c.name == name
            )
        ).first()
    return None if row is None else _case(row, home)


def get_case(db: Database, name: str, home: Path | None = None) -> Case:
    case = find_case(db, name, home)
    if case is None:
        raise NotFoundError(f"no network case named {name!r}: ingest logs into it first")
    return case


@dataclass(frozen=True)
class CaseInfo:
    """A case as ``network cases`` lists it: what it holds and when it last changed."""

    name: str
    lists: tuple[str, ...]
    created_at: datetime
    ingests: int
    rows_good: int
    rows_bad: int
    last_ingest_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "lists": list(self.lists),
            "created_at": _iso(self.created_at),
            "ingests": self.ingests,
            "rows_good": self.rows_good,
            "rows_bad": self.rows_bad,
            "last_ingest_at": _iso(self.last_ingest_at),
        }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive values of what was stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="seconds")


def list_cases(db: Database) -> list[CaseInfo]:
    """Every case by name, with its ingest counts (one query)."""
    ingests = network_ingests.c
    query = (
        select(
            network_cases.c.name,
            network_cases.c.lists,
            network_cases.c.created_at,
            func.count(ingests.id),
            func.coalesce(func.sum(ingests.rows_good), 0),
            func.coalesce(func.sum(ingests.rows_bad), 0),
            func.max(ingests.ingested_at),
        )
        .select_from(network_cases.outerjoin(network_ingests))
        .group_by(network_cases.c.id, network_cases.c.name)
        .order_by(network_cases.c.name)
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    return [
        CaseInfo(str(name), tuple(json.loads(lists)), created, int(n), int(good), int(bad), last)
        for name, lists, created, n, good, bad, last in rows
    ]


def open_case(
    db: Database, name: str, lists: tuple[str, ...] | None, home: Path | None = None
) -> Case:
    """The case, created on first use; ``lists`` (if given) replaces its chosen lists."""
    if not name.strip():
        raise UsageError("a case needs a non-empty name")
    try:
        with db.begin() as conn:
            row = conn.execute(
                select(network_cases.c.id).where(network_cases.c.name == name)
            ).first()
            if row is None:
                conn.execute(
                    network_cases.insert().values(
                        name=name, lists=json.dumps(list(lists or ())), created_at=_now()
                    )
                )
            elif lists is not None:
                conn.execute(
                    network_cases.update()
                    .where(network_cases.c.id == row[0])
                    .values(lists=json.dumps(list(lists)))
                )
    except IntegrityError:  # pragma: no cover - two processes created it at once
        pass
    case = get_case(db, name, home)
    case.parts_dir.mkdir(parents=True, exist_ok=True)
    case.rejects_dir.mkdir(parents=True, exist_ok=True)
    return case


def undo_open(db: Database, case: Case, before: Case | None, ingests_before: int) -> None:
    """Undo ``open_case`` after a failed ingest, unless an ingest has committed into the
    case since (``ingests_before`` were there): a case it created goes again (row and
    folder), an existing case gets back the lists it had."""
    with case_lock(case):
        with db.begin() as conn:
            ingests = conn.execute(
                select(func.count())
                .select_from(network_ingests)
                .where(network_ingests.c.case_id == case.id)
            ).scalar_one()
            if ingests != ingests_before:
                return
            if before is None:
                conn.execute(delete(network_cases).where(network_cases.c.id == case.id))
                # Before the delete commits: a case created next may reuse the id (SQLite).
                shutil.rmtree(case.folder, ignore_errors=True)
            elif before.lists != case.lists:
                conn.execute(
                    network_cases.update()
                    .where(network_cases.c.id == case.id)
                    .values(lists=json.dumps(list(before.lists)))
                )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IngestRecord:
    content_sha256: str
    source_path: str
    part_name: str
    rows_total: int
    rows_good: int
    rows_bad: int
    rows_duplicate: int


def registered(db: Database, case: Case) -> list[IngestRecord]:
    with db.connect() as conn:
        rows = conn.execute(
            select(
                network_ingests.c.content_sha256,
                network_ingests.c.source_path,
                network_ingests.c.part_name,
                network_ingests.c.rows_total,
                network_ingests.c.rows_good,
                network_ingests.c.rows_bad,
                network_ingests.c.rows_duplicate,
            )
            .where(network_ingests.c.case_id == case.id)
            .order_by(network_ingests.c.id)
        ).fetchall()
    return [IngestRecord(*row) for row in rows]


def part_paths(db: Database, case: Case) -> list[Path]:
    """The Parquet parts that hold the case's sightings, in ingest order."""
    return [case.parts_dir / rec.part_name for rec in registered(db, case)]


def register(db: Database, case: Case, record: IngestRecord) -> bool:
    """Commit an ingest; False if the same content was registered meanwhile."""
    try:
        with db.begin() as conn:
            conn.execute(
                network_ingests.insert().values(
                    case_id=case.id, ingested_at=_now(), **record.__dict__
                )
            )
    except StoreError as exc:  # the unique constraint, raised as a StoreError by the store
        if "uq_network_ingests_case_content" in exc.message or "UNIQUE" in exc.message:
            return False
        raise
    return True


@contextmanager
def case_lock(case: Case) -> Iterator[None]:
    """One ingest commits into a case at a time (across processes on this machine)."""
    case.folder.mkdir(parents=True, exist_ok=True)
    with open(case.folder / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


PART_SUFFIX = ".arrow"
# LZ4 frames: about half zstd's size saving, several times its decompression speed.
PART_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


def read_part(path: Path, columns: list[str] | None = None) -> pa.Table:
    return feather.read_table(path, columns=columns, memory_map=True)


def existing_row_hashes(paths: list[Path]) -> np.ndarray:
    arrays = [read_part(p, ["row_hash"]).column(0).to_numpy() for p in paths]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.uint64)


def durable_replace(tmp: Path, final: Path) -> None:
    """Rename after the bytes are on disk, so a crash leaves the old file or the new one."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
