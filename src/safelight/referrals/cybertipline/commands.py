"""``safelight cybertip``: draft, list, show, submit, retry and retract CyberTipline reports."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from safelight.errors import SafelightError, UsageError
from safelight.referrals.cybertipline.status import FAILED, OPENED, STATUSES
from safelight.referrals.cybertipline.vocab import (
    FILE_ANNOTATIONS,
    INCIDENT_TYPE_KEYS,
    REPORT_ANNOTATIONS,
    IndustryClassification,
)
from safelight.store import Database
from safelight.timestamps import utc_timestamp

if TYPE_CHECKING:  # the models, client and network analysis load only when a command runs
    from safelight.referrals.cybertipline.client import Settings
    from safelight.referrals.cybertipline.events import Audit
    from safelight.referrals.cybertipline.store import StoredReport
    from safelight.referrals.cybertipline.submit import Submission

ENV_USER = "SAFELIGHT_CYBERTIP_USER"

ENV_REPORTER_EMAIL = "SAFELIGHT_CYBERTIP_REPORTER_EMAIL"


class SubmissionFailed(SafelightError):
    default_code = "cybertip_failed"


@click.group("cybertip")
def cybertip_group() -> None:
    """NCMEC CyberTipline reports: draft from findings, submit, follow, retry."""


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{value!r} is not an ISO 8601 time", field="incident_time") from None
    if moment.tzinfo is None:
        raise UsageError(f"{value!r} has no time zone (add Z or +hh:mm)", field="incident_time")
    return moment


@cybertip_group.command("draft")
@click.option("--scan", "run_id", type=int, help="Report the matched items of this scan run.")
@click.option("--item", "items", multiple=True, help="Only this matched path (repeatable).")
@click.option("--case", "case_name", help="Report a lead of this network case.")
@click.option("--lead", type=click.IntRange(min=1), help="The lead's rank in the case.")
@click.option("--geo", "geo", multiple=True, type=click.Path(path_type=Path), help=".mmdb file.")
@click.option(
    "--email", envvar=ENV_REPORTER_EMAIL, help=f"Reporter's email [${ENV_REPORTER_EMAIL}]."
)
@click.option("--first-name")
@click.option("--last-name")
@click.option("--platform", help="The service the incident happened on.")
@click.option(
    "--incident-type",
    type=click.Choice(sorted(INCIDENT_TYPE_KEYS)),
    default="child-pornography",
    show_default=True,
)
@click.option("--incident-time", help="ISO 8601 with a zone; default: from the findings.")
@click.option("--annotation", multiple=True, type=click.Choice(REPORT_ANNOTATIONS))
@click.option("--file-annotation", multiple=True, type=click.Choice(FILE_ANNOTATIONS))
@click.option("--classification", type=click.Choice([c.value for c in IndustryClassification]))
@click.option("--viewed", is_flag=True, help="A person at your organisation viewed the files.")
@click.option("--hash-only", is_flag=True, help="Describe the files by hash; upload none.")
@click.option("--note", help="Free text for the report's additionalInfo.")
@click.option("--json", "as_json", is_flag=True)
def draft_command(
    run_id: int | None,
    items: tuple[str, ...],
    case_name: str | None,
    lead: int | None,
    geo: tuple[Path, ...],
    email: str | None,
    first_name: str | None,
    last_name: str | None,
    platform: str | None,
    incident_type: str,
    incident_time: str | None,
    annotation: tuple[str, ...],
    file_annotation: tuple[str, ...],
    classification: str | None,
    viewed: bool,
    hash_only: bool,
    note: str | None,
    as_json: bool,
) -> None:
    """Draft a report from a scan run or a network lead; nothing is sent.

    The draft is validated (required fields, enumerations, times with a zone and in the
    past, country codes) and refused when another report holds the same items."""
    if (run_id is None) == (case_name is None):
        raise UsageError("give either --scan RUN_ID or --case NAME --lead N")
    if case_name is not None and lead is None:
        raise UsageError("--case needs --lead N (the lead's rank)")
    if not email:
        raise UsageError(f"the reporter's email is required: --email or ${ENV_REPORTER_EMAIL}")
    from safelight.referrals.cybertipline.builder import Draft, Options, from_lead, from_scan
    from safelight.referrals.cybertipline.store import ReportStore

    options = Options(
        email=email,
        first_name=first_name,
        last_name=last_name,
        platform=platform,
        incident_type=INCIDENT_TYPE_KEYS[incident_type],
        incident_time=_time(incident_time),
        report_annotations=annotation,
        file_annotations=file_annotation,
        classification=classification,
        viewed=viewed,
        upload=not hash_only,
        note=note,
    )
    with Database.open() as db:
        made: Draft
        if run_id is not None:
            made = from_scan(db, run_id, options, paths=items)
        else:
            from safelight.referrals.cybertipline.leads import lead_from_case

            assert case_name is not None and lead is not None
            made = from_lead(lead_from_case(db, case_name, lead, geo_paths=geo), options)
        store = ReportStore(db, audit=_audit(db))
        report_id = store.draft(made.origin, made.report, made.files, made.items)
        stored = store.get(report_id)
    if as_json:
        click.echo(json.dumps(stored.to_dict(), indent=2))
        return
    uploads = sum(1 for f in stored.files if f.source)
    click.echo(
        f"drafted report {report_id} ({stored.origin}): {uploads} files to upload, "
        f"{len(stored.items)} items"
    )
    from safelight.referrals.cybertipline.views import warnings

    for warning in warnings(stored):
        click.echo(f"warning: {warning}")


@cybertip_group.command("ls")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--json", "as_json", is_flag=True)
def ls_command(status: str | None, as_json: bool) -> None:
    """Every report, failures first, with its status and why it failed."""
    from safelight.referrals.cybertipline.store import ReportStore

    with Database.open() as db:
        reports = ReportStore(db).list_reports(status)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
        return
    click.echo(f"{'id':>5}  {'status':<9}  {'ncmec id':>9}  {'tries':>5}  {'updated':<25}  origin")
    for r in reports:
        remote = str(r.remote_id) if r.remote_id else "-"
        click.echo(
            f"{r.id:>5}  {r.status:<9}  {remote:>9}  {r.attempts:>5}  "
            f"{utc_timestamp(r.updated_at):<25}  {r.origin}"
        )
        if r.status == FAILED and r.reason:
            click.echo(f"       reason: {r.reason}")
        if r.status == OPENED:
            expires = r.expires_at()
            assert expires is not None
            click.echo(f"       open at NCMEC; deleted unfinished after {utc_timestamp(expires)}")


@cybertip_group.command("show")
@click.argument("report_id", type=int)
@click.option("--xml", "as_xml", is_flag=True, help="Print the <report> XML as it would be sent.")
@click.option("--json", "as_json", is_flag=True)
def show_command(report_id: int, as_xml: bool, as_json: bool) -> None:
    """One report: its status, files, every API step and its receipt."""
    from safelight.referrals.cybertipline.store import ReportStore
    from safelight.referrals.cybertipline.views import report_detail
    from safelight.referrals.cybertipline.xml import to_xml

    with Database.open() as db:
        store = ReportStore(db)
        report = store.get(report_id)
        body: dict[str, Any] = report_detail(store, report_id)
    if as_xml:
        click.echo(to_xml(report.report).decode("utf-8"), nl=False)
        return
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f"report {report.id}: {report.status} ({report.origin})")
    click.echo(f"  NCMEC id {report.remote_id or '-'}, attempts {report.attempts}")
    if report.reason:
        click.echo(f"  reason   {report.reason}")
    for warning in body["warnings"]:
        click.echo(f"  warning  {warning}")
    for f in body["file_list"]:
        click.echo(f"  file     {f['name']} ({'upload' if f['upload'] else 'hash only'})")
    for s in body["steps"]:
        code = f" code {s['response_code']}" if s["response_code"] is not None else ""
        click.echo(
            f"  step     {s['at']}  #{s['attempt']} {s['step']} try {s['try']}: "
            f"{s['outcome']}{code}  {s['request_id'] or ''}"
        )
    if report.receipt:
        click.echo("  receipt  kept (show --json prints it)")


def _settings(url: str | None, xsd: Path | None) -> Settings:
    from safelight.referrals.cybertipline.client import Settings

    return Settings.from_env(url, xsd)


def _audit(db: Database) -> Audit:
    """Every step into the audit trail, by ``cli:<OS user>`` (as every command names it)."""
    from safelight.referrals.audit import cybertip_audit
    from safelight.service.commands import cli_actor

    return cybertip_audit(db, cli_actor())


def _submission(db: Database, settings: Settings | None) -> Submission:
    from safelight.referrals.cybertipline.store import ReportStore
    from safelight.referrals.cybertipline.submit import Submission

    return Submission(ReportStore(db), settings, audit=_audit(db))


def _outcome(report: StoredReport) -> None:
    remote = f" (NCMEC report {report.remote_id})" if report.remote_id else ""
    if report.status == FAILED:
        raise SubmissionFailed(
            f"report {report.id} failed: {report.reason}; "
            f"nothing is lost: `safelight cybertip retry {report.id}` sends it again"
        )
    click.echo(f"report {report.id}: {report.status}{remote}")


_url = click.option("--url", help="Service base URL [$SAFELIGHT_CYBERTIP_URL; default: test].")
_xsd = click.option(
    "--xsd",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Validate against this XSD first [$SAFELIGHT_CYBERTIP_XSD].",
)


@cybertip_group.command("submit")
@click.argument("report_id", type=int)
@_url
@_xsd
def submit_command(report_id: int, url: str | None, xsd: Path | None) -> None:
    """Send a drafted report: open, upload and describe each file, finish.

    Credentials come from $SAFELIGHT_CYBERTIP_USER and $SAFELIGHT_CYBERTIP_PASSWORD. A
    failure after the report was opened retracts it; the draft stays, status failed."""
    settings = _settings(url, xsd)
    with Database.open() as db:
        _outcome(_submission(db, settings).submit(report_id))


@cybertip_group.command("retry")
@click.argument("report_id", type=int)
@_url
@_xsd
def retry_command(report_id: int, url: str | None, xsd: Path | None) -> None:
    """Send a failed report again, as a new NCMEC report."""
    settings = _settings(url, xsd)
    with Database.open() as db:
        _outcome(_submission(db, settings).retry_report(report_id))


@cybertip_group.command("retract")
@click.argument("report_id", type=int)
@_url
def retract_command(report_id: int, url: str | None) -> None:
    """Withdraw a report that is not finished (at NCMEC too when it is open there)."""
    settings = _settings(url, None) if os.environ.get(ENV_USER) else None
    with Database.open() as db:
        _outcome(_submission(db, settings).retract(report_id))
