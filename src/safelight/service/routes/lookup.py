"""Native lookups: hashes (one or a batch) and uploads, against the lists in memory.

Every value is typed by its request (``signal_type``, a registry name or alias): a bare
64-hex value is PDQ or SHA-256 only by declaration (docs/model.md). A batch never fails on
one bad query: that query carries an error and the others their matches. Answers are
documented in docs/service.md ("Lookups").
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from safelight.constants import MATCH_MIN_QUALITY
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.fastpath import FastAnswer
from safelight.service.lookup import LookupEngine, LookupHit
from safelight.service.roles import Principal, Role
from safelight.signals.types import registry
from safelight.webhooks.service import observe_and_submit

router = APIRouter(prefix="/api/v1", tags=["lookup"])

LOOKUP_ROLES = (Role.ADMIN, Role.ANALYST, Role.INVESTIGATOR, Role.API_CLIENT)
MAX_BATCH = 1_000
_COPY_CHUNK = 1 << 20
# Multipart framing around the file: a Content-Length beyond the limit plus this is refused
# before a byte is read.
_MULTIPART_SLACK = 64 * 1024


class LookupQuery(BaseModel):
    signal_type: str = Field(description="A signal type name or alias: pdq, md5, sha256...")
    value: str = Field(description="The hash, in hex.")


class LookupRequest(BaseModel):
    queries: list[LookupQuery] = Field(min_length=1, max_length=MAX_BATCH)
    lists: list[str] | None = Field(
        default=None, description="Only these lists (default: every enabled list in scope)."
    )


def engine_of(ctx: ServiceContext) -> LookupEngine:
    engine: LookupEngine = ctx.extensions["lookup"]
    return engine


def scope(who: Principal, asked: Sequence[str] | None) -> list[str] | None:
    """The lists a lookup may use: those asked for (default all) within the caller's scope."""
    if asked is None:
        return None if who.lists is None else sorted(who.lists)
    return [name for name in dict.fromkeys(asked) if who.can_use_list(name)]


def run_queries(
    ctx: ServiceContext,
    who: Principal,
    queries: Sequence[LookupQuery],
    lists: list[str] | None,
    route: str = "/api/v1/lookup",
) -> list[dict[str, Any]]:
    """One answer per query: its normalised value and matches, or its error; audited
    (who, what, the result) in the next batch of lookup entries."""
    answers: list[dict[str, Any]] = []
    good: list[tuple[str, str]] = []
    where: list[int] = []
    engine = engine_of(ctx)
    for position, query in enumerate(queries):
        answer: dict[str, Any] = {"signal_type": query.signal_type, "value": query.value}
        try:
            kind = registry.get(query.signal_type)
            if kind.name not in engine.signal_types:
                raise ValueError(f"{kind.name} values are not looked up by hash here")
            normalised = kind.normalise(query.value)
        except ValueError as exc:
            answer.update(matches=[], error={"code": "invalid_query", "message": str(exc)})
        else:
            answer.update(signal_type=kind.name, value=normalised.value, error=None)
            good.append((kind.name, normalised.value))
            where.append(position)
        answers.append(answer)
    hits = engine.lookup_hits(good, scope(who, lists))
    for position, asked, found in zip(where, good, hits, strict=True):
        answers[position]["matches"] = [hit.to_dict() for hit in found]
        # Flood counting and webhooks, in memory (written by a background thread).
        observe_and_submit(ctx, asked, [hit.match for hit in found], {"actor": who.actor})
    count(ctx, [hit for found in hits for hit in found], len(good))
    audit(ctx, who, route, answers, dict(zip(where, hits, strict=True)))
    return answers


def audit(
    ctx: ServiceContext,
    who: Principal,
    route: str,
    answers: list[dict[str, Any]],
    hits: dict[int, list[LookupHit]],
) -> None:
    """The lookup's audit entry: each query and its matches (list, entry id, distance)."""
    ctx.lookup_audit.record(
        who.actor,
        "lookup",
        route,
        {
            "queries": [{"signal_type": a["signal_type"], "value": a["value"]} for a in answers],
            "matches": [
                [
                    [hit.match.list_name, hit.match.entry_id, hit.match.distance]
                    for hit in hits.get(position, ())
                ]
                for position in range(len(answers))
            ],
        },
    )


def count(ctx: ServiceContext, hits: list[LookupHit], lookups: int) -> None:
    ctx.metrics.lookups.labels(list="*").inc(lookups)
    for hit in hits:
        ctx.metrics.matches.labels(list=hit.match.list_name).inc()


@router.post("/lookup", summary="Look up hashes (one or a batch) in the lists")
def lookup_batch(
    who: Annotated[Principal, requires(*LOOKUP_ROLES)], ctx: Context, body: LookupRequest
) -> dict[str, Any]:
    return {"results": run_queries(ctx, who, body.queries, body.lists)}


# On the event loop: one hash is a fraction of a millisecond of memory work (no I/O), less
# than a hop to a worker thread and back. The answer holds plain JSON values, rendered as
# FastAPI renders them, without its per-value encoding pass.
@router.get("/lookup", summary="Look up one hash in the lists", response_model=dict[str, Any])
async def lookup_one(
    who: Annotated[Principal, requires(*LOOKUP_ROLES)],
    ctx: Context,
    signal_type: Annotated[str, Query(description="pdq, md5, sha256... (or an alias)")],
    value: Annotated[str, Query(description="The hash, in hex.")],
    lists: Annotated[list[str] | None, Query(description="Only these lists.")] = None,
) -> JSONResponse:
    return JSONResponse(lookup_one_answer(ctx, who, signal_type, value, lists))


def lookup_one_answer(
    ctx: ServiceContext, who: Principal, signal_type: str, value: str, lists: list[str] | None
) -> dict[str, Any]:
    """GET /api/v1/lookup's answer, for the route and its fast path alike."""
    query = LookupQuery.model_construct(signal_type=signal_type, value=value)
    return run_queries(ctx, who, [query], lists)[0]


def fast_lookup_one(ctx: ServiceContext, who: Principal, params: QueryParams) -> FastAnswer | None:
    """GET /api/v1/lookup in the fast path (``service/fastpath.py``) when the route would
    accept it as it is; None leaves the request to the route (a missing parameter is its
    422, an index still loading its 503)."""
    signal_type, value = params.get("signal_type"), params.get("value")
    if signal_type is None or value is None or not engine_of(ctx).ready:
        return None
    lists = params.getlist("lists") or None

    async def answer() -> dict[str, Any]:
        return lookup_one_answer(ctx, who, signal_type, value, lists)

    return answer


@router.post(
    "/lookup/upload",
    summary="Hash an uploaded file (content sniffed, never kept) and look up its signals",
    responses={413: {"description": "The file is larger than upload_max_bytes"}},
)
async def lookup_upload(
    who: Annotated[Principal, requires(*LOOKUP_ROLES)],
    ctx: Context,
    request: Request,
    file: Annotated[UploadFile, File(description="The file to hash.")],
    lists: Annotated[list[str] | None, Query(description="Only these lists.")] = None,
) -> dict[str, Any]:
    limit = ctx.settings.upload_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
        raise HTTPException(413, f"upload is larger than the limit of {limit} bytes")
    return await run_in_threadpool(_hash_and_look_up, ctx, who, file, limit, lists)


def _hash_and_look_up(
    ctx: ServiceContext, who: Principal, upload: UploadFile, limit: int, lists: list[str] | None
) -> dict[str, Any]:
    from safelight.signals.files import hash_file

    # A neutral name: the content decides what the file is (safelight.signals.sniff).
    handle, path = tempfile.mkstemp(prefix="safelight-upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            _copy_limited(upload, out, limit)
        record = hash_file(path)
    finally:
        os.unlink(path)  # hashes only: the upload is never kept
    low = record.pdq is not None and record.pdq.quality < MATCH_MIN_QUALITY
    queries = [LookupQuery(signal_type=t, value=h) for t, h in sorted(record.digests.items())]
    if record.pdq is not None and not low:
        queries.append(LookupQuery(signal_type="pdq", value=record.pdq.hex))
    answers = run_queries(ctx, who, queries, lists, "/api/v1/lookup/upload") if queries else []
    described = record.to_dict()
    described.pop("path", None)
    return {
        "file": {**described, "name": upload.filename},
        "low_quality": low,
        "results": answers,
        "error": record.error.to_dict() if record.error else None,
    }


def _copy_limited(upload: UploadFile, out: Any, limit: int) -> None:
    copied = 0
    while chunk := upload.file.read(_COPY_CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise HTTPException(413, f"upload is larger than the limit of {limit} bytes")
        out.write(chunk)
