"""Scans: start one over server-side sources, follow it, page through its results, cancel.

Sources must lie under the ``scan_roots`` setting (safelight.service.roots says why). A scan
runs in a worker thread with the library's ``run_scan``; ``POST /api/v1/scans`` answers 202
with the run id as soon as the run exists. A token scoped to lists scans against those lists
only, and sees only runs whose lists are all in its scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from safelight.errors import ConflictError, NotFoundError
from safelight.scan.runner import ScanOptions
from safelight.scan.runs import RunInfo, RunStore
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.jobs import ScanJobs, scan_jobs
from safelight.service.roles import Principal, Role
from safelight.service.roots import allowed_source
from safelight.service.routes.lists import PAGE_MAX, in_scope
from safelight.signals.options import Mode

router = APIRouter(prefix="/api/v1/scans", tags=["scans"])

SCANNERS = (Role.ADMIN, Role.ANALYST, Role.INVESTIGATOR)
SCAN_READERS = (*SCANNERS, Role.AUDITOR)
Scanner = Annotated[Principal, requires(*SCANNERS)]
ScanReader = Annotated[Principal, requires(*SCAN_READERS)]


class NewScan(BaseModel):
    sources: list[str] = Field(min_length=1, max_length=1000)
    lists: list[str] | None = Field(
        default=None, description="Lists to match (default: every enabled list in scope)."
    )
    mode: Mode = "default"


def jobs(ctx: ServiceContext) -> ScanJobs:
    return scan_jobs(ctx.extensions, ctx.db, ctx.settings.scan_workers)


def visible_run(ctx: ServiceContext, who: Principal, run_id: int) -> RunInfo:
    info = RunStore(ctx.db).get(run_id)
    if who.lists is not None and not {e["name"] for e in info.lists} <= who.lists:
        raise NotFoundError(f"scan run {run_id} not found", code="run_not_found")
    return info


def run_dict(ctx: ServiceContext, info: RunInfo) -> dict[str, Any]:
    return {**info.to_dict(), "active": jobs(ctx).is_running(info.id)}


@router.post("", status_code=202, summary="Start a scan; answers with its run id at once")
def start_scan(body: NewScan, who: Scanner, ctx: Context) -> dict[str, Any]:
    sources = [allowed_source(s, ctx.settings.scan_roots) for s in body.sources]
    lists = body.lists
    if lists is not None:
        for name in lists:
            in_scope(who, name)
    elif who.lists is not None:
        enabled = {hl.name for hl in ctx.lists.list() if hl.enabled}
        lists = sorted(who.lists & enabled)
    options = ScanOptions(sources=sources, lists=lists, mode=body.mode, jobs=1)
    run_id = jobs(ctx).start(options)
    details = {"run": run_id, "sources": sources, "lists": lists, "mode": body.mode}
    ctx.audit.record(who.actor, "scan.start", str(run_id), details)
    return run_dict(ctx, RunStore(ctx.db).get(run_id))


@router.get("", summary="Recent scan runs, newest first")
def list_scans(
    who: ScanReader, ctx: Context, limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50
) -> list[dict[str, Any]]:
    runs = RunStore(ctx.db).list_runs(limit)
    if who.lists is not None:
        runs = [r for r in runs if {e["name"] for e in r.lists} <= who.lists]
    return [run_dict(ctx, info) for info in runs]


@router.get("/{run_id}", summary="A scan run's status and totals")
def scan_status(run_id: int, who: ScanReader, ctx: Context) -> dict[str, Any]:
    return run_dict(ctx, visible_run(ctx, who, run_id))


@router.get("/{run_id}/results", summary="A run's items in order, paged with 'after'")
def scan_results(
    run_id: int,
    who: ScanReader,
    ctx: Context,
    matched: bool = False,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
) -> dict[str, Any]:
    visible_run(ctx, who, run_id)
    page = RunStore(ctx.db).results_page(run_id, after=after, limit=limit + 1, matched_only=matched)
    shown = page[:limit]
    return {
        "items": [result.to_dict() for _, result in shown],
        "next_after": shown[-1][0] if len(page) > limit else None,
    }


@router.post("/{run_id}/cancel", status_code=202, summary="Stop a running scan (resumable)")
def cancel_scan(run_id: int, who: Scanner, ctx: Context) -> Response:
    visible_run(ctx, who, run_id)
    if not jobs(ctx).cancel(run_id):
        raise ConflictError(f"scan run {run_id} is not running here", code="not_running")
    ctx.audit.record(who.actor, "scan.cancel", str(run_id))
    return Response(status_code=202)
