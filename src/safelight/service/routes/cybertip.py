"""CyberTipline reports over HTTP: every report with its status (drafted, opened, finished,
failed with its reason, retracted), one report with every API step, and retry.

A failed submission that nobody sees is a known fault of reporting tools: the list puts
failures first, each with its reason, and ``retry`` sends a failed (or crash-opened) report
again as a new NCMEC report (docs/cybertipline.md). Credentials come from the settings
(``cybertip_user``, ``cybertip_password``), never from a request. Every request and every
API try is audited by the caller.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from safelight.errors import UsageError
from safelight.referrals.audit import cybertip_audit
from safelight.referrals.cybertipline.client import Settings as ApiSettings
from safelight.referrals.cybertipline.status import STATUSES
from safelight.referrals.cybertipline.store import ReportStore
from safelight.referrals.cybertipline.submit import Submission
from safelight.referrals.cybertipline.views import report_detail, report_summary
from safelight.referrals.cybertipline.vocab import TEST_URL
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role

router = APIRouter(prefix="/api/v1/cybertip", tags=["cybertip"])

SUBMITTERS = (Role.ADMIN, Role.INVESTIGATOR)
READERS = (*SUBMITTERS, Role.AUDITOR)
Submitter = Annotated[Principal, requires(*SUBMITTERS)]
Reader = Annotated[Principal, requires(*READERS)]


def api_settings(ctx: ServiceContext) -> ApiSettings:
    """Where and as whom to report, from the service's settings."""
    settings = ctx.settings
    password = settings.cybertip_password.get_secret_value() if settings.cybertip_password else ""
    if not settings.cybertip_user or not password:
        raise UsageError(
            "this service has no CyberTipline credentials: set SAFELIGHT_CYBERTIP_USER and "
            "SAFELIGHT_CYBERTIP_PASSWORD",
            code="no_credentials",
        )
    return ApiSettings(
        url=(settings.cybertip_url or TEST_URL).rstrip("/"),
        user=settings.cybertip_user,
        password=password,
        xsd=settings.cybertip_xsd,
    )


def reports(ctx: ServiceContext, status: str | None) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise UsageError(f"status {status!r}: one of {', '.join(STATUSES)}", field="status")
    return [report_summary(r) for r in ReportStore(ctx.db).list_reports(status)]


def retry(ctx: ServiceContext, who: Principal, report_id: int) -> dict[str, Any]:
    """Send the report again; answers the report as it ended (``failed`` again, with the
    new reason, is an answer too)."""
    store = ReportStore(ctx.db)
    submission = Submission(store, api_settings(ctx), audit=cybertip_audit(ctx.audit, who.actor))
    submission.retry_report(report_id)
    return report_detail(store, report_id)


@router.get("/reports", summary="Every report, failures first, with status and reason")
def list_reports(who: Reader, ctx: Context, status: str | None = None) -> list[dict[str, Any]]:
    return reports(ctx, status)


@router.get("/reports/{report_id}", summary="One report with every API step")
def show_report(report_id: int, who: Reader, ctx: Context) -> dict[str, Any]:
    return report_detail(ReportStore(ctx.db), report_id)


@router.post("/reports/{report_id}/retry", summary="Send a failed report again")
def retry_report(report_id: int, who: Submitter, ctx: Context) -> dict[str, Any]:
    return retry(ctx, who, report_id)
