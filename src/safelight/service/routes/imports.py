"""List import: ``POST /api/v1/lists/{name}/import``, a file in any of the CLI's formats.

Multipart fields: ``file`` (required); ``format`` (lines, csv, tsv, jsonl, projectvic, vpdq;
default: from the file name, as ``lists import --input-format``); ``type`` (the signal type
of untyped values); ``labels`` (comma-separated, added to every entry); ``map`` (column
mapping, as ``--map``); ``skip_invalid`` (true: import the valid records, report the rest).
All or nothing otherwise: invalid records answer 422 ``validation`` with one
``{location: "FILE:LINE", reason}`` per record in ``details.problems``, and nothing is
imported. The upload lives in a temporary file for the import only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from safelight.errors import UsageError
from safelight.lists.models import ImportReport
from safelight.lists.records import ParseOptions, parse_column_map
from safelight.lists.values import validate_label
from safelight.service.access import requires
from safelight.service.context import Context
from safelight.service.roles import Principal
from safelight.service.routes.hashing import UPLOAD_BODY
from safelight.service.routes.lists import EDITORS, in_scope
from safelight.service.uploads import form_file, form_text, read_form, saved_upload

router = APIRouter(prefix="/api/v1/lists", tags=["lists"])

IMPORT_FIELDS = ("format", "type", "labels", "map", "skip_invalid")
IMPORT_BODY: dict[str, Any] = {"requestBody": dict(UPLOAD_BODY["requestBody"])}
IMPORT_BODY["requestBody"]["content"] = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                **{field: {"type": "string"} for field in IMPORT_FIELDS},
            },
        }
    }
}


def parse_options(labels: str | None, kind: str | None, mapping: str | None) -> ParseOptions:
    try:
        extra = frozenset(validate_label(label) for label in (labels or "").split(",") if label)
    except ValueError as exc:
        raise UsageError(str(exc), field="labels") from None
    return ParseOptions(
        default_type=kind,
        column_map=parse_column_map([mapping]) if mapping else {},
        extra_labels=extra,
    )


def truthy(text: str | None) -> bool:
    return (text or "").lower() in {"1", "true", "yes", "on"}


@router.post(
    "/{name}/import",
    summary="Import a list file (all or nothing, or skip_invalid); line errors in details",
    openapi_extra=IMPORT_BODY,
    responses={413: {"description": "Larger than import_max_bytes"}},
)
async def import_list(
    name: str, request: Request, who: Annotated[Principal, requires(*EDITORS)], ctx: Context
) -> dict[str, Any]:
    in_scope(who, name)
    limit = ctx.settings.import_max_bytes
    form = await read_form(request, limit)
    try:
        upload = form_file(form)
        source_name = (upload.filename or "upload").replace("\n", " ")[:255]
        options = parse_options(
            form_text(form, "labels"), form_text(form, "type"), form_text(form, "map")
        )
        fmt = form_text(form, "format")
        skip_invalid = truthy(form_text(form, "skip_invalid"))

        def audit(conn: Connection, report: ImportReport) -> None:
            details = {
                "import_id": report.import_id,
                "file": source_name,
                "format": report.format,
                "sha256": report.sha256,
                "records": report.records,
                "added": report.added,
                "invalid": report.invalid,
            }
            ctx.audit.record(who.actor, "list.import", name, details, conn=conn)

        def run() -> dict[str, Any]:
            with saved_upload(upload, limit) as path:
                report = ctx.lists.import_file(
                    name,
                    path,
                    fmt=fmt,
                    options=options,
                    skip_invalid=skip_invalid,
                    by=who.actor,
                    source_name=source_name,
                    in_transaction=audit,
                )
            return report.to_dict()

        report = await run_in_threadpool(run)
    finally:
        await form.close()
    ctx.metrics.import_rows.labels(list=name).inc(report["records"] + report["invalid"])
    return report
