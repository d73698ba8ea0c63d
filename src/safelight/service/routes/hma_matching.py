"""HMA's matching routes: ``/m/raw_lookup``, ``/m/lookup`` (GET, POST), ``/m/index/status``,
``/m/compare``. Lookups go through the lookup engine (``hma_common.engine``); these routes
only turn HMA's parameters into queries and Safelight's matches into HMA's shapes."""

from __future__ import annotations

import random
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from safelight.hma.banks import LookupFacts
from safelight.hma.lookup import Hit, bank_filter, bank_map, content_hits
from safelight.hma.signals import HmaError, HmaSignalType, hma_type, hma_types
from safelight.match.results import Match
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.fastpath import FastAnswer
from safelight.service.roles import Principal
from safelight.service.routes.hma_common import (
    MATCHERS,
    VOCABULARY,
    Form,
    JsonBody,
    banks_of,
    engine,
    family_b,
    form_body,
    index_figures,
    json_body,
    pydantic_bool,
    query_dict,
    query_params,
)
from safelight.service.routes.hma_hashing import hash_form, hash_url
from safelight.webhooks.service import observe_and_submit

router = APIRouter(prefix="/m", tags=["hma"])


class _SignalQuery(BaseModel):
    signal: str
    signal_type: str


def parse_signal(signal_type: str, signal: str) -> tuple[HmaSignalType, str]:
    """Steps 1-2 of HMA's lookup pipeline: the type, then the normalised value."""
    kind = hma_type(signal_type)
    if kind is None:
        raise HmaError.message(400, f"No such SignalType {signal_type!r}")
    try:
        return kind, kind.normalise(signal)
    except ValueError as exc:
        raise HmaError.message(400, f"invalid signal: {exc}") from None


def find(
    ctx: ServiceContext, who: Principal, signals: list[tuple[HmaSignalType, str]]
) -> list[list[Hit]]:
    """Each signal's matches as content items, within the principal's list scope."""
    return content_of(ctx, search(ctx, who, signals))


def search(
    ctx: ServiceContext, who: Principal, signals: list[tuple[HmaSignalType, str]]
) -> list[list[Match]]:
    """Each signal's matches, within the principal's list scope (no SQL for hash types)."""
    scope = None if who.lists is None else sorted(who.lists)
    queries = [(kind.kind.name, value) for kind, value in signals]
    found = engine(ctx).lookup(queries, scope)
    searched = scope or ["*"]  # "*": every enabled list
    for name in searched:
        ctx.metrics.lookups.labels(list=name).inc(len(queries))
    for query, matches in zip(queries, found, strict=True):
        # Flood counting and webhooks, as for native lookups (in memory; a thread writes).
        observe_and_submit(ctx, query, matches, {"actor": who.actor})
    return found


def content_of(ctx: ServiceContext, found: list[list[Match]]) -> list[list[Hit]]:
    """Matches as HMA's content items (reads the store only when something matched)."""
    entry_ids = [m.entry_id for ms in found for m in ms]
    content_ids = facts_of(ctx).content_ids(version_of(ctx), entry_ids) if entry_ids else {}
    hits = [content_hits(ms, content_ids) for ms in found]
    for matches in found:
        for m in matches:
            ctx.metrics.matches.labels(list=m.list_name).inc()
    return hits


def audit_lookup(
    ctx: ServiceContext,
    who: Principal,
    route: str,
    signals: list[tuple[HmaSignalType, str]],
    hits: list[list[Hit]],
) -> None:
    ctx.lookup_audit.record(
        who.actor,
        "lookup",
        route,
        {
            "queries": [{"signal_type": k.name, "signal": v} for k, v in signals],
            "matches": [[[h.bank, h.content_id] for h in per] for per in hits],
        },
    )


def facts_of(ctx: ServiceContext) -> LookupFacts:
    return ctx.shared("hma_lookup_facts", LookupFacts, lambda: LookupFacts(banks_of(ctx)))


def version_of(ctx: ServiceContext) -> object | None:
    """The lookup engine's version of the lists (None without an engine)."""
    lookup = ctx.extensions.get("lookup")
    return None if lookup is None else lookup.version


def coin(seed: str | None) -> float:
    """HMA's draw: the first ``random()`` of ``random.Random(seed)``, else OS-random."""
    return random.Random(seed).random() if seed is not None else random.SystemRandom().random()


def flip(
    ctx: ServiceContext, hits: list[Hit], draw: float, banks: set[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """HMA's filters after Safelight's (which drop deleted and disabled content): a bank is
    kept iff its ratio >= the draw, then ``banks=`` narrows."""
    names = {h.bank for h in hits}
    ratios = facts_of(ctx).ratios(version_of(ctx), names) if names else {}
    kept = [
        h for h in hits if ratios.get(h.bank, 0.0) >= draw and (banks is None or h.bank in banks)
    ]
    return bank_map(kept)


@router.get(
    "/raw_lookup",
    summary="HMA: content ids matching one signal",
    openapi_extra=query_params(
        "signal", "signal_type", "banks", "include_distance", required=("signal", "signal_type")
    ),
)
def raw_lookup(
    who: Annotated[Principal, requires(*MATCHERS)], request: Request, ctx: Context
) -> dict[str, Any]:
    query = query_dict(request)
    family_b(_SignalQuery, query)
    include = pydantic_bool("include_distance", query.get("include_distance"), False, query)
    signals = [parse_signal(query["signal_type"], query["signal"])]
    hits = find(ctx, who, signals)[0]
    audit_lookup(ctx, who, "/m/raw_lookup", signals, [hits])
    wanted = bank_filter(query.get("banks"))
    hits = [h for h in hits if wanted is None or h.bank in wanted]
    if include:
        return {
            "matches": [{"bank_content_id": h.content_id, "distance": h.distance} for h in hits]
        }
    return {"matches": [h.content_id for h in hits]}


@router.get(
    "/lookup",
    summary="HMA: matches of one signal (or a URL), by bank",
    openapi_extra=query_params(
        "signal", "signal_type", "url", "content_type", "types", "banks", "seed", "bypass_coinflip"
    ),
)
def lookup_get(
    who: Annotated[Principal, requires(*MATCHERS)], request: Request, ctx: Context
) -> dict[str, Any]:
    query = query_dict(request)
    bypass = pydantic_bool("bypass_coinflip", query.get("bypass_coinflip"), False, query)
    signal_type, signal = query.get("signal_type"), query.get("signal")
    if query.get("url"):
        return lookup_url(ctx, who, request, bypass, signal_type)
    if not signal_type or signal is None:
        raise HmaError.message(400, "Either url or both signal and signal_type are required")
    signals = [parse_signal(signal_type, signal)]
    return signal_answer(ctx, who, signals, search(ctx, who, signals), query, bypass)


def signal_answer(
    ctx: ServiceContext,
    who: Principal,
    signals: list[tuple[HmaSignalType, str]],
    found: list[list[Match]],
    query: dict[str, str],
    bypass: bool,
) -> dict[str, Any]:
    """GET /m/lookup's answer for one signal once searched (``found``): content items,
    the audit entry, HMA's coin flip and bank filter. Reads the store only when something
    matched. For the route and its fast path alike."""
    hits = content_of(ctx, found)[0]
    audit_lookup(ctx, who, "/m/lookup", signals, [hits])
    draw = 0.0 if bypass or not hits else coin(query.get("seed"))  # no hits: nothing to flip
    return flip(ctx, hits, draw, bank_filter(query.get("banks")))


def fast_lookup_get(ctx: ServiceContext, who: Principal, params: QueryParams) -> FastAnswer | None:
    """GET /m/lookup with a hash signal in the fast path (``service/fastpath.py``) when the
    route would answer it without an error; None leaves the request to the route (a URL, a
    vPDQ signal, a bad parameter: its answer and error shapes stay in one place)."""
    query = dict(params)
    lookup = ctx.extensions.get("lookup")
    signal_type, signal = query.get("signal_type"), query.get("signal")
    if lookup is None or not lookup.ready or query.get("url") or not signal_type or signal is None:
        return None
    try:
        bypass = pydantic_bool("bypass_coinflip", query.get("bypass_coinflip"), False, query)
        signals = [parse_signal(signal_type, signal)]
    except HmaError:
        return None
    if signals[0][0].kind.name not in lookup.signal_types:
        return None

    async def answer() -> dict[str, Any]:
        found = search(ctx, who, signals)
        matched = [(m.entry_id, m.list_name) for ms in found for m in ms]
        if matched and not facts_of(ctx).holds(version_of(ctx), matched):
            # content ids and bank ratios to read from the store: off the event loop
            return await run_in_threadpool(signal_answer, ctx, who, signals, found, query, bypass)
        return signal_answer(ctx, who, signals, found, query, bypass)

    return answer


def lookup_url(
    ctx: ServiceContext, who: Principal, request: Request, bypass: bool, only: str | None
) -> dict[str, Any]:
    """GET /m/lookup with ``url``: hashed as GET /h/hash, keyed by signal type; narrowed
    to one type's bank map when ``signal_type`` is given too (``{}`` if not produced)."""
    query = query_dict(request)
    produced = hash_url(ctx, request)
    out = by_type(ctx, who, produced, query, bypass)
    if only:
        return dict(out.get(only, {}))
    return out


def by_type(
    ctx: ServiceContext,
    who: Principal,
    produced: dict[str, str],
    query: dict[str, str],
    bypass: bool,
) -> dict[str, Any]:
    signals = [parse_signal(name, value) for name, value in produced.items()]
    hits = find(ctx, who, signals)
    audit_lookup(ctx, who, "/m/lookup", signals, hits)
    wanted = bank_filter(query.get("banks"))
    return {
        kind.name: flip(ctx, per, 0.0 if bypass else coin(query.get("seed")), wanted)
        for (kind, _), per in zip(signals, hits, strict=True)
    }


@router.post(
    "/lookup",
    summary="HMA: hash one uploaded file and look it up, by signal type",
    openapi_extra=query_params("types", "banks", "seed", "bypass_coinflip"),
)
def lookup_post(
    who: Annotated[Principal, requires(*MATCHERS)],
    form: Annotated[Form, Depends(form_body)],
    request: Request,
    ctx: Context,
) -> dict[str, Any]:
    query = query_dict(request)
    produced = hash_form(form, query.get("types"))
    bypass = query.get("bypass_coinflip", "").lower() in {"true", "1", "yes", "on", "t", "y"}
    return by_type(ctx, who, produced, query, bypass)


@router.get(
    "/index/status",
    summary="HMA: each signal type's index",
    openapi_extra=query_params("signal_type"),
)
def index_status(
    who: Annotated[Principal, requires(*VOCABULARY)], request: Request, ctx: Context
) -> dict[str, Any]:
    chosen = chosen_types(request.query_params.get("signal_type"))
    state = engine(ctx).state()
    out = {}
    for kind in chosen:
        size, built_to = index_figures(state, kind.kind.name)
        present = kind.kind.name in state
        out[kind.name] = {"built_to": built_to, "present": present, "size": size}
    return out


def chosen_types(raw: str | None) -> tuple[HmaSignalType, ...]:
    """Every type, or the one named (400 ``No such signal type`` if unknown or empty)."""
    if raw is None:
        return hma_types()
    kind = hma_type(raw) if raw else None
    if kind is None:
        raise HmaError.message(400, f"No such signal type {raw!r}")
    return (kind,)


@router.post("/compare", summary="HMA: compare pairs of hashes, per signal type")
def compare(
    who: Annotated[Principal, requires(*MATCHERS)],
    body: Annotated[JsonBody, Depends(json_body)],
) -> dict[str, Any]:
    data = body.require()
    if not isinstance(data, dict):
        raise HmaError.message(400, "Request input was not a dict")
    out: dict[str, Any] = {}
    for name, pair in data.items():
        if not isinstance(pair, list):
            raise HmaError.message(400, f"Comparison hashes for {name} was not a list")
        if len(pair) != 2:
            raise HmaError.message(400, "Comparison hash list length must be exactly 2")
        kind = hma_type(name)
        if kind is None:
            raise HmaError.message(400, f"No such SignalType {name!r}")
        try:
            left, right = (kind.normalise(value) for value in pair)
        except ValueError as exc:
            raise HmaError.message(400, f"Invalid {name} hash: {exc}") from None
        distance = kind.distance(left, right)
        if distance is None:  # exact types have no distance: HMA answers 500 here
            out[name] = [left == right, {}]
        else:
            out[name] = [distance <= kind.threshold, {"distance": distance}]
    return out
