"""A report as people and programs read it: ``cybertip show --json``, the service's JSON and
the workspace page all show the same fields."""

from __future__ import annotations

from typing import Any

from safelight.referrals.cybertipline.status import FAILED, OPENED
from safelight.referrals.cybertipline.store import ReportStore, StoredReport
from safelight.timestamps import utc_timestamp

# What can be done next, by status (docs/cybertipline.md, the lifecycle table).
RETRYABLE = frozenset({FAILED, OPENED})


def warnings(report: StoredReport) -> list[str]:
    """What the API accepts but NCMEC may not act on (reference 1.3)."""
    out = []
    suspect = report.report.person_or_user_reported
    if suspect is None and not report.report.internet_details:
        out.append(
            "no reported user, IP or location: NCMEC may treat the report as informational "
            "and not refer it"
        )
    return out


def report_summary(report: StoredReport) -> dict[str, Any]:
    """One line of the list: the stored fields, when NCMEC deletes an open report, and
    whether ``retry`` applies."""
    expires = report.expires_at()
    return {
        **report.to_dict(),
        "expires_at": utc_timestamp(expires) if expires else None,
        "can_retry": report.status in RETRYABLE,
    }


def report_detail(store: ReportStore, report_id: int) -> dict[str, Any]:
    """One report with its warnings, its files and every try of every API call."""
    report = store.get(report_id)
    return {
        **report_summary(report),
        "warnings": warnings(report),
        "file_list": [
            {"name": f.name, "upload": f.source is not None, "sha256": f.sha256}
            for f in report.files
        ],
        "steps": [
            {
                "attempt": s.attempt,
                "step": s.step,
                "try": s.try_number,
                "outcome": s.outcome,
                "http_status": s.http_status,
                "response_code": s.response_code,
                "description": s.description,
                "ncmec_id": s.remote_id,
                "file_id": s.file_id,
                "request_id": s.request_id,
                "at": utc_timestamp(s.at),
            }
            for s in store.steps(report_id)
        ],
    }
