"""Drafted reports and their submissions, kept in the store.

Statuses (docs/cybertipline.md): ``drafted`` → ``opened`` (POST /submit answered) →
``finished`` (the receipt is kept); ``failed`` (with a reason in words; retried with
``retry``) or ``retracted`` (withdrawn; its items are free to report again). Listing puts
failures first: a failed submission nobody sees is the fault this design exists to avoid.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, insert, select, update

from safelight.errors import ConflictError, NotFoundError
from safelight.referrals.cybertipline.events import Audit, AuditEvent, no_audit
from safelight.referrals.cybertipline.models import FileDetails, Report
from safelight.referrals.cybertipline.status import (
    DRAFTED,
    FAILED,
    FINISHED,
    OPENED,
    RETRACTED,
    STATUSES,
)
from safelight.referrals.cybertipline.tables import (
    cybertip_items,
    cybertip_reports,
    cybertip_steps,
)
from safelight.referrals.cybertipline.vocab import (
    ABANDON_AFTER_CHANGE_SECONDS,
    ABANDON_AFTER_OPEN_SECONDS,
)
from safelight.store import Database

__all__ = ["DRAFTED", "FAILED", "FINISHED", "OPENED", "RETRACTED", "STATUSES"]


class DraftFile(BaseModel):
    """A file of a report: its digests, where its bytes are read at submission (``source``,
    None for a hash-only file that is described but not uploaded) and its fileDetails."""

    model_config = ConfigDict(extra="forbid")

    name: str
    source: str | None = None
    size: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    details: FileDetails = Field(default_factory=lambda: FileDetails.model_validate({}))


@dataclass(frozen=True)
class Step:
    attempt: int
    step: str
    try_number: int
    outcome: str
    http_status: int | None
    response_code: int | None
    description: str | None
    remote_id: int | None
    file_index: int | None
    file_id: str | None
    request_id: str | None
    at: datetime


@dataclass(frozen=True)
class StoredReport:
    id: int
    status: str
    origin: str
    report: Report
    files: list[DraftFile]
    items: tuple[str, ...]
    remote_id: int | None
    reason: str | None
    attempts: int
    receipt: str | None
    created_at: datetime
    updated_at: datetime
    opened_at: datetime | None
    finished_at: datetime | None

    def expires_at(self, last_change: datetime | None = None) -> datetime | None:
        """When NCMEC deletes this report if it stays unfinished (reference 1.1): 24 h
        after it was opened or 1 h after its last change, whichever is later."""
        if self.status != OPENED or self.opened_at is None:
            return None
        last = last_change or self.updated_at
        return max(
            self.opened_at + timedelta(seconds=ABANDON_AFTER_OPEN_SECONDS),
            last + timedelta(seconds=ABANDON_AFTER_CHANGE_SECONDS),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "origin": self.origin,
            "remote_id": self.remote_id,
            "reason": self.reason,
            "attempts": self.attempts,
            "files": len(self.files),
            "uploads": sum(1 for f in self.files if f.source),
            "items": list(self.items),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "receipt": self.receipt,
        }


class ReportStore:
    """Reports in the store. ``audit`` hears every draft (``AuditEvent`` step ``draft``)."""

    def __init__(self, db: Database, *, audit: Audit = no_audit) -> None:
        self.db = db
        self.audit = audit

    def draft(
        self, origin: str, report: Report, files: list[DraftFile], items: Iterable[str]
    ) -> int:
        """Keep a new draft; refused when another report (not retracted) claims an item."""
        keys = sorted(set(items))
        now = datetime.now(UTC)
        with self.db.begin() as conn:
            self._refuse_duplicates(conn, keys, exclude=None)
            result = conn.execute(
                insert(cybertip_reports).values(
                    status=DRAFTED,
                    origin=origin,
                    report=report.model_dump_json(by_alias=True, exclude_none=True),
                    files=json.dumps([_file_json(f) for f in files]),
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            report_id = int(key[0])
            if keys:
                conn.execute(
                    insert(cybertip_items), [{"report_id": report_id, "item_key": k} for k in keys]
                )
        uploads = sum(1 for f in files if f.source)
        extra = {"items": len(keys), "files": len(files), "uploads": uploads}
        self.audit(AuditEvent(report_id, "draft", DRAFTED, None, origin, extra))
        return report_id

    def refuse_duplicates(self, report: StoredReport) -> None:
        with self.db.connect() as conn:
            self._refuse_duplicates(conn, list(report.items), exclude=report.id)

    def _refuse_duplicates(self, conn: Any, keys: list[str], exclude: int | None) -> None:
        if not keys:
            return
        query = (
            select(cybertip_items.c.item_key, cybertip_reports.c.id, cybertip_reports.c.status)
            .join(cybertip_reports, cybertip_reports.c.id == cybertip_items.c.report_id)
            .where(cybertip_items.c.item_key.in_(keys), cybertip_reports.c.status != RETRACTED)
            .order_by(cybertip_reports.c.id)
        )
        if exclude is not None:
            query = query.where(cybertip_reports.c.id != exclude)
        clash = conn.execute(query).first()
        if clash is not None:
            item, other, status = clash
            raise ConflictError(
                f"{item} is already in CyberTipline report {other} ({status}); "
                "a duplicate report is refused (retract that report first to report it again)",
                code="duplicate_report",
            )

    def get(self, report_id: int) -> StoredReport:
        with self.db.connect() as conn:
            row = conn.execute(
                select(cybertip_reports).where(cybertip_reports.c.id == report_id)
            ).first()
            if row is None:
                raise NotFoundError(f"CyberTipline report {report_id} not found")
            items = conn.execute(
                select(cybertip_items.c.item_key)
                .where(cybertip_items.c.report_id == report_id)
                .order_by(cybertip_items.c.item_key)
            ).scalars()
            return _stored(row._mapping, tuple(items))

    def list_reports(self, status: str | None = None) -> list[StoredReport]:
        """Every report, failures first, then open, drafted, finished, retracted; newest
        first within a status."""
        order = case({s: i for i, s in enumerate(STATUSES)}, value=cybertip_reports.c.status)
        query = select(cybertip_reports).order_by(order, cybertip_reports.c.id.desc())
        if status is not None:
            query = query.where(cybertip_reports.c.status == status)
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
            return [_stored(row._mapping, ()) for row in rows]

    def count(self, status: str | None = None) -> int:
        """How many reports there are (of ``status``)."""
        query = select(func.count()).select_from(cybertip_reports)
        if status is not None:
            query = query.where(cybertip_reports.c.status == status)
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def steps(self, report_id: int) -> list[Step]:
        query = (
            select(cybertip_steps)
            .where(cybertip_steps.c.report_id == report_id)
            .order_by(cybertip_steps.c.id)
        )
        with self.db.connect() as conn:
            return [
                Step(**{k: v for k, v in row._mapping.items() if k not in ("id", "report_id")})
                for row in conn.execute(query)
            ]

    def record_step(self, report_id: int, **values: Any) -> None:
        """One API try, committed at once: a crash leaves the trail up to it."""
        with self.db.begin() as conn:
            conn.execute(
                insert(cybertip_steps).values(report_id=report_id, at=datetime.now(UTC), **values)
            )

    def claim(self, report: StoredReport) -> int:
        """Start attempt ``attempts + 1`` of ``report`` if nobody else has since it was read:
        two processes sending the same draft would file it twice. Returns the attempt."""
        table = cybertip_reports.c
        with self.db.begin() as conn:
            result = conn.execute(
                update(cybertip_reports)
                .where(
                    table.id == report.id,
                    table.status == report.status,
                    table.attempts == report.attempts,
                )
                .values(
                    attempts=report.attempts + 1,
                    reason=None,
                    remote_id=None,
                    updated_at=datetime.now(UTC),
                )
            )
        if result.rowcount != 1:
            raise ConflictError(f"report {report.id} is being sent by another process", code="busy")
        return report.attempts + 1

    def update(self, report_id: int, **values: Any) -> None:
        with self.db.begin() as conn:
            conn.execute(
                update(cybertip_reports)
                .where(cybertip_reports.c.id == report_id)
                .values(updated_at=datetime.now(UTC), **values)
            )


def _file_json(draft: DraftFile) -> dict[str, Any]:
    body = draft.model_dump(mode="json", exclude={"details"})
    body["details"] = draft.details.model_dump(mode="json", by_alias=True, exclude_none=True)
    return body


def _stored(row: Any, items: tuple[str, ...]) -> StoredReport:
    return StoredReport(
        id=row["id"],
        status=row["status"],
        origin=row["origin"],
        report=Report.model_validate_json(row["report"]),
        files=[DraftFile.model_validate(f) for f in json.loads(row["files"])],
        items=items,
        remote_id=row["remote_id"],
        reason=row["reason"],
        attempts=row["attempts"],
        receipt=row["receipt"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        opened_at=row["opened_at"],
        finished_at=row["finished_at"],
    )
