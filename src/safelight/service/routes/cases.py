"""Network cases: ingest sighting logs, analyze, fetch the report, list cases.

Ingest takes either an upload (multipart ``file``, CSV/TSV, JSON lines or Parquet by its
suffix, with ``lists`` comma-separated) or JSON ``{"paths": [...], "lists": [...]}`` naming
server-side logs under ``scan_roots`` (safelight.service.roots). An upload lives in a
temporary file for the ingest only; the case keeps its own parsed parts, as with the CLI.
``analyze`` runs the library's ``analyze_case`` and keeps the report in the case's folder,
replaced whole by the next analysis; ``report`` returns report.json, ``report.zip`` every
file of it (report.html, one CSV per table, referrals). Reports hold IP addresses: only
investigators, admins and auditors may read them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from safelight.constants import NETWORK_LOUVAIN_RESOLUTION
from safelight.errors import NotFoundError, UsageError
from safelight.network.sightings import Case, get_case, list_cases
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.roots import allowed_source, is_uri
from safelight.service.routes.lists import in_scope
from safelight.service.uploads import form_file, form_text, read_form, saved_upload

router = APIRouter(prefix="/api/v1/cases", tags=["network"])

INVESTIGATORS = (Role.ADMIN, Role.INVESTIGATOR)
CASE_READERS = (*INVESTIGATORS, Role.AUDITOR)
Investigator = Annotated[Principal, requires(*INVESTIGATORS)]
CaseReader = Annotated[Principal, requires(*CASE_READERS)]
LOG_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".pq")
INGEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "lists": {"type": "string"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["paths"],
                    "properties": {
                        "paths": {"type": "array", "items": {"type": "string"}},
                        "lists": {"type": "array", "items": {"type": "string"}},
                    },
                }
            },
        },
    }
}


class ServerLogs(BaseModel):
    paths: list[str] = Field(min_length=1, max_length=1000)
    lists: list[str] = []


class Analysis(BaseModel):
    entity: Literal["ip", "ip-port", "peer"] = "ip"
    resolution: float = Field(default=NETWORK_LOUVAIN_RESOLUTION, gt=0)


def case_lists(who: Principal, given: list[str]) -> list[str]:
    """The lists a case matches against: those given (in scope), or a scoped token's own."""
    for name in given:
        in_scope(who, name)
    if not given and who.lists is not None:
        return sorted(who.lists)
    return given


def visible_case(ctx: ServiceContext, who: Principal, name: str) -> Case:
    case = get_case(ctx.db, name, ctx.home)
    if who.lists is not None and not (case.lists and set(case.lists) <= who.lists):
        raise NotFoundError(f"no network case named {name!r}: ingest logs into it first")
    return case


def report_folder(case: Case) -> Path:
    return case.folder / "report"


@router.get("", summary="Every case: ingests, rows kept and rejected, lists")
def cases(who: CaseReader, ctx: Context) -> list[dict[str, Any]]:
    found = list_cases(ctx.db)
    if who.lists is not None:
        found = [c for c in found if c.lists and set(c.lists) <= who.lists]
    return [case.to_dict() for case in found]


@router.post(
    "/{name}/ingest",
    summary="Ingest sighting logs: an upload, or server-side paths under scan_roots",
    openapi_extra=INGEST_BODY,
)
async def ingest_logs(
    name: str, request: Request, who: Investigator, ctx: Context
) -> list[dict[str, Any]]:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        summaries = await _ingest_upload(name, request, who, ctx)
    else:
        summaries = await _ingest_paths(name, request, who, ctx)
    details = {
        "files": [s["source"] for s in summaries],
        "rows_good": sum(int(s["rows_good"]) for s in summaries),
        "rows_bad": sum(int(s["rows_bad"]) for s in summaries),
    }
    ctx.audit.record(who.actor, "case.ingest", name, details)
    return summaries


async def _ingest_paths(
    name: str, request: Request, who: Principal, ctx: ServiceContext
) -> list[dict[str, Any]]:
    try:
        body = ServerLogs.model_validate_json(await request.body())
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise UsageError(f"invalid request: {where}: {first['msg']}", field=where) from None
    paths = []
    for source in body.paths:
        if is_uri(source):
            raise UsageError(f"{source!r}: ingest reads files, not URIs", field="paths")
        paths.append(Path(allowed_source(source, ctx.settings.scan_roots)))
    lists = case_lists(who, body.lists)

    def run() -> list[dict[str, Any]]:
        from safelight.network.pipeline import ingest  # pandas & co: only when used

        _, summaries = ingest(ctx.db, name, paths, lists=lists, home=ctx.home)
        return [s.to_dict() for s in summaries]

    return await run_in_threadpool(run)


async def _ingest_upload(
    name: str, request: Request, who: Principal, ctx: ServiceContext
) -> list[dict[str, Any]]:
    limit = ctx.settings.import_max_bytes
    form = await read_form(request, limit)
    try:
        upload = form_file(form)
        shown = (upload.filename or "upload").replace("\n", " ")[:255]
        suffix = PurePath(shown).suffix.lower()
        if suffix not in LOG_SUFFIXES:
            raise UsageError(
                f"{shown!r}: a sighting log ends in one of {', '.join(LOG_SUFFIXES)}",
                field="file",
            )
        given = [n.strip() for n in (form_text(form, "lists") or "").split(",") if n.strip()]
        lists = case_lists(who, given)

        def run() -> list[dict[str, Any]]:
            from safelight.network.pipeline import ingest

            with saved_upload(upload, limit) as path:
                named = path.with_name(path.name + suffix)  # the reader goes by the suffix
                path.rename(named)
                try:
                    _, summaries = ingest(ctx.db, name, [named], lists=lists, home=ctx.home)
                finally:
                    named.unlink(missing_ok=True)
            return [{**s.to_dict(), "source": shown} for s in summaries]

        return await run_in_threadpool(run)
    finally:
        await form.close()


@router.post("/{name}/analyze", summary="Analyze a case; returns report.json")
def analyze(name: str, body: Analysis, who: Investigator, ctx: Context) -> dict[str, Any]:
    case = visible_case(ctx, who, name)
    from safelight.network.pipeline import analyze_case

    run = analyze_case(
        ctx.db,
        name,
        report_folder(case),
        mode=body.entity,
        resolution=body.resolution,
        home=ctx.home,
    )
    ctx.audit.record(
        who.actor, "case.analyze", name, {**body.model_dump(), **run.report["headline"]}
    )
    return run.report


@router.get("/{name}/report", summary="The latest analysis's report.json")
def report(name: str, who: CaseReader, ctx: Context) -> Response:
    path = report_folder(visible_case(ctx, who, name)) / "report.json"
    if not path.is_file():
        raise NotFoundError(f"case {name!r} has not been analyzed yet", code="no_report")
    ctx.audit.record(who.actor, "case.report", name, {"what": "report.json"})
    return FileResponse(path, media_type="application/json")


@router.get(
    "/{name}/report.zip",
    summary="The latest report as a zip: report.html, report.json, CSVs, referrals",
    response_class=Response,
)
def report_zip(name: str, who: CaseReader, ctx: Context) -> Response:
    folder = report_folder(visible_case(ctx, who, name))
    if not (folder / "report.json").is_file():
        raise NotFoundError(f"case {name!r} has not been analyzed yet", code="no_report")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, path.relative_to(folder).as_posix())
    ctx.audit.record(who.actor, "case.export", name, {"what": "report.zip"})
    headers = {"Content-Disposition": 'attachment; filename="case-report.zip"'}
    return Response(buffer.getvalue(), media_type="application/zip", headers=headers)
