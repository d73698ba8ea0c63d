"""The submit flow (reference 1.2): open → upload and describe each file → finish.

Everything that can be checked is checked before the first byte is sent: the models, the
schema when one is configured, duplicates, and every file's bytes against its recorded
SHA-256. Once a report is open, any failure (an upload refused, an integrity mismatch, a
finish refused, an interruption) retracts it, so nothing half-filed stays at NCMEC; the draft
stays in the store as ``failed`` with its reason and can be retried. Every try of every call
is recorded (``cybertip_steps``) and handed to ``audit``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from safelight.errors import ConflictError, InputError, UsageError
from safelight.referrals.cybertipline.client import ApiError, Client, Retry, Settings, Try
from safelight.referrals.cybertipline.events import Audit, AuditEvent, no_audit
from safelight.referrals.cybertipline.store import (
    DRAFTED,
    FAILED,
    FINISHED,
    OPENED,
    RETRACTED,
    DraftFile,
    ReportStore,
    StoredReport,
)
from safelight.referrals.cybertipline.vocab import (
    ALREADY_FINISHED,
    ALREADY_RETRACTED,
    REPORT_DOES_NOT_EXIST,
)
from safelight.referrals.cybertipline.xml import to_xml, validate_xsd

__all__ = ["Audit", "AuditEvent", "Submission", "no_audit"]


class Submission:
    """One report's submission against one service; ``run`` is the whole flow."""

    def __init__(
        self,
        store: ReportStore,
        settings: Settings | None,
        *,
        audit: Audit = no_audit,
        retry: Retry | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.audit = audit
        self.retry = retry
        self.transport = transport
        self._report_id = 0
        self._attempt = 0
        self._remote: int | None = None
        self._file_index: int | None = None

    # -- public actions -------------------------------------------------------------------

    def submit(self, report_id: int) -> StoredReport:
        """Send a drafted report."""
        report = self.store.get(report_id)
        self._requested(report, "submit")
        if report.status != DRAFTED:
            raise ConflictError(
                f"report {report_id} is {report.status}, not drafted: "
                + ("use retry" if report.status in (FAILED, OPENED) else "it cannot be sent"),
                code="not_drafted",
            )
        return self._run(report)

    def retry_report(self, report_id: int) -> StoredReport:
        """Send a failed report again (as a new NCMEC report); one left open by a crash is
        retracted first."""
        report = self.store.get(report_id)
        self._requested(report, "retry")
        if report.status == OPENED:
            self._retract_remote(report, reason="left open by an interrupted submission")
            report = self.store.get(report_id)
        elif report.status == FAILED and self._maybe_still_open(report):
            # The last retract failed: withdraw that report before opening a new one.
            self._retract_remote(report, reason=report.reason or "failed")
            report = self.store.get(report_id)
        if report.status != FAILED:
            raise ConflictError(
                f"report {report_id} is {report.status}: only a failed report is retried",
                code="not_failed",
            )
        return self._run(report)

    def retract(self, report_id: int) -> StoredReport:
        """Withdraw a report that is not finished; its items may then be reported again."""
        report = self.store.get(report_id)
        self._requested(report, "retract")
        if report.status == FINISHED:
            raise ConflictError(
                f"report {report_id} is finished: a finished report is irreversible",
                code="finished",
            )
        if report.status == RETRACTED:
            return report
        if report.status == OPENED or (report.status == FAILED and self._maybe_still_open(report)):
            self._retract_remote(report, reason=report.reason or "retracted on request")
            report = self.store.get(report_id)
            if report.status == FINISHED:
                return report
        self._set(report.id, RETRACTED, reason=report.reason)
        return self.store.get(report_id)

    # -- the flow ---------------------------------------------------------------------------

    def _run(self, report: StoredReport) -> StoredReport:
        report_xml = self._preflight(report)
        self._report_id = report.id
        self._attempt = self.store.claim(report)
        with self._client() as client:
            try:
                opened = client.submit(report_xml)
            except ApiError as exc:
                reason = exc.message
                if exc.code == "network":
                    reason += "; if NCMEC opened a report, it deletes it unfinished within 24 h"
                self._set(report.id, FAILED, reason=reason)
                return self.store.get(report.id)
            if opened.report_id is None:
                self._set(report.id, FAILED, reason="submit: the answer held no reportId")
                return self.store.get(report.id)
            self._remote = opened.report_id
            self._set(report.id, OPENED, remote_id=opened.report_id, opened_at=_now())
            try:
                self._files_and_finish(client, report, opened.report_id)
            except (ApiError, InputError) as exc:
                self._undo(client, report, exc.message)
            except BaseException:
                self._undo(client, report, "interrupted")
                raise
        return self.store.get(report.id)

    def _preflight(self, report: StoredReport) -> bytes:
        """Every check that needs no network; raises before anything is sent."""
        settings = self._needed_settings()
        report_xml = to_xml(report.report)
        if settings.xsd is not None:
            validate_xsd(report_xml, settings.xsd)
        self.store.refuse_duplicates(report)
        for draft in report.files:
            if draft.source is not None:
                _check_bytes(draft)
        return report_xml

    def _files_and_finish(self, client: Client, report: StoredReport, remote: int) -> None:
        for index, draft in enumerate(report.files):
            if draft.source is None:
                continue
            self._file_index = index
            source = Path(draft.source)
            uploaded = client.upload(remote, draft.name, partial(_open, source))
            if not uploaded.file_id:
                raise InputError(f"upload of {draft.name}: the answer held no fileId")
            if draft.md5 and uploaded.hash and uploaded.hash != draft.md5:
                raise InputError(
                    f"upload of {draft.name}: NCMEC received bytes with MD5 {uploaded.hash}, "
                    f"ours is {draft.md5}"
                )
            details = draft.details.model_copy(
                update={"report_id": remote, "file_id": uploaded.file_id}
            )
            client.fileinfo(to_xml(details))  # at most once per file: never in a loop
        self._file_index = None
        done = client.finish(remote)
        self._set(report.id, FINISHED, finished_at=_now(), receipt=done.body)

    def _undo(self, client: Client, report: StoredReport, reason: str) -> None:
        """Retract the open report after ``reason``; the draft is kept as failed."""
        self._file_index = None
        try:
            client.retract(self._remote or 0)
            note = f"report {self._remote} retracted at NCMEC"
        except ApiError as exc:
            if exc.response is not None and exc.response.code == ALREADY_FINISHED:
                # The finish went through though its answer was lost: it is filed.
                self._set(report.id, FINISHED, finished_at=_now(), reason=None)
                return
            if exc.response is not None and exc.response.code in (
                REPORT_DOES_NOT_EXIST,
                ALREADY_RETRACTED,
            ):
                note = f"report {self._remote} no longer exists at NCMEC"
            else:
                note = (
                    f"retract failed too ({exc.message}); NCMEC deletes report {self._remote} "
                    "unfinished within 24 h"
                )
        self._set(report.id, FAILED, reason=f"{reason}; {note}")

    def _maybe_still_open(self, report: StoredReport) -> bool:
        if report.remote_id is None:
            return False
        gone = (REPORT_DOES_NOT_EXIST, ALREADY_RETRACTED)
        return not any(
            s.step == "retract" and (s.outcome == "ok" or s.response_code in gone)
            for s in self.store.steps(report.id)
            if s.attempt == report.attempts
        )

    def _retract_remote(self, report: StoredReport, *, reason: str) -> None:
        self._report_id, self._attempt = report.id, report.attempts
        self._remote = report.remote_id
        with self._client() as client:
            self._undo(client, report, reason)

    # -- bookkeeping ----------------------------------------------------------------------

    def _requested(self, report: StoredReport, verb: str) -> None:
        """The request itself, before anything is checked or sent: who asked for what."""
        detail = f"status {report.status}, attempts {report.attempts}"
        self.audit(AuditEvent(report.id, "request", verb, report.remote_id, detail))

    def _needed_settings(self) -> Settings:
        if self.settings is None:
            raise UsageError(
                "this step talks to NCMEC: set SAFELIGHT_CYBERTIP_USER and "
                "SAFELIGHT_CYBERTIP_PASSWORD",
                code="no_credentials",
            )
        return self.settings

    def _client(self) -> Client:
        return Client(
            self._needed_settings(), retry=self.retry, on_try=self._on_try, transport=self.transport
        )

    def _on_try(self, attempt: Try) -> None:
        response = attempt.response
        file_id = response.file_id if response is not None else None
        self.store.record_step(
            self._report_id,
            attempt=self._attempt,
            step=attempt.step,
            try_number=attempt.number,
            outcome=attempt.outcome,
            http_status=attempt.http_status,
            response_code=response.code if response is not None else None,
            description=attempt.description,
            remote_id=(response.report_id if response is not None else None) or self._remote,
            file_index=self._file_index,
            file_id=file_id,
            request_id=attempt.request_id,
        )
        self.audit(
            AuditEvent(
                self._report_id,
                attempt.step,
                attempt.outcome,
                self._remote,
                attempt.description,
                {"try": attempt.number, "file_index": self._file_index, "file_id": file_id},
            )
        )

    def _set(self, report_id: int, status: str, **values: Any) -> None:
        self.store.update(report_id, status=status, **values)
        reason = values.get("reason") or ""
        self.audit(AuditEvent(report_id, "status", status, self._remote, reason))


def _now() -> datetime:
    return datetime.now(UTC)


def _open(path: Path) -> BinaryIO:
    return path.open("rb")


def _check_bytes(draft: DraftFile) -> None:
    """The file still holds the bytes that were matched (its SHA-256), or nothing is sent."""
    path = Path(draft.source or "")
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file to upload: {exc.strerror}") from None
    if draft.sha256 and digest.hexdigest() != draft.sha256:
        raise InputError(
            f"{path}: its bytes changed since they were matched (SHA-256 differs); nothing was sent"
        )
    if not draft.sha256:
        raise UsageError(f"{path}: a file to upload needs its SHA-256 recorded")
