"""The analyst queue's JSON API: list items, read one, claim, assign, release, resolve.

Analysts and admins work the queue; auditors may read it (oversight) but change nothing.
The rules live in ``safelight.hotline.desk`` and ``safelight.hotline.queue``; these routes
read the request and call them. The host resolver is ``ctx.extensions["hotline_resolver"]``
when something (a test, a deployment's own DNS client) put one there, else the system
resolver with the geolocation database of the ``resolver_*`` settings.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from safelight.hotline.desk import AnalystDesk
from safelight.hotline.item_view import jsonable
from safelight.hotline.queue import parse_query
from safelight.hotline.resolver import HostResolver, Resolution, SystemResolver
from safelight.network.geo import open_geo
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role

router = APIRouter(prefix="/api/v1/hotline/items", tags=["hotline workspace"])

Worker = Annotated[Principal, requires(Role.ANALYST, Role.ADMIN)]
Reader = Annotated[Principal, requires(Role.ANALYST, Role.ADMIN, Role.AUDITOR)]
RESOLVER_KEY = "hotline_resolver"


def _query_parameter(name: str, description: str, many: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if many:
        schema = {"type": "array", "items": schema}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


QUEUE_PARAMETERS = [
    _query_parameter("status", "Item statuses (repeat for several).", many=True),
    _query_parameter("country", "Hosting countries, ISO alpha-2, or none.", many=True),
    _query_parameter("site_type", "Types of site named by the item's reports.", many=True),
    _query_parameter("reported_from", "First reported on or after (date or date-time)."),
    _query_parameter("reported_to", "First reported on or before (date or date-time)."),
    _query_parameter("older_than_days", "First reported at least this many days ago."),
    _query_parameter("assignee", "A user name, mine or unassigned."),
    _query_parameter("search", "Part of the URL."),
    _query_parameter("sort", "reported_at, last_reported_at, times_reported, status, country."),
    _query_parameter("order", "asc (default) or desc."),
    _query_parameter("page", "Page number, from 1."),
    _query_parameter("page_size", "Items per page (default 50, at most 200)."),
]


def resolver_of(ctx: ServiceContext) -> HostResolver:
    """The resolver set on the extensions, else the system resolver (built once)."""
    chosen = ctx.extensions.get(RESOLVER_KEY) or ctx.extensions.get("hotline_system_resolver")
    if chosen is None:
        geo = open_geo(ctx.settings.resolver_geo_paths)
        chosen = ctx.extensions["hotline_system_resolver"] = SystemResolver(
            geo, timeout=ctx.settings.resolver_timeout_seconds
        )
    resolver: HostResolver = chosen
    return resolver


def desk_of(ctx: ServiceContext) -> AnalystDesk:
    return ctx.shared(
        "hotline_desk",
        AnalystDesk,
        lambda: AnalystDesk(ctx.db, audit=ctx.audit, resolver=lambda: resolver_of(ctx)),
    )


class Assignment(BaseModel):
    model_config = {"extra": "forbid"}

    assignee: str = Field(min_length=1, max_length=150, description="An analyst's user name.")


@router.get(
    "",
    summary="The analyst queue: items filtered, sorted and paged",
    openapi_extra={"parameters": QUEUE_PARAMETERS},
)
def queue(who: Reader, request: Request, ctx: Context) -> dict[str, Any]:
    query = parse_query(request.query_params.multi_items())
    return desk_of(ctx).queue(query, me=who.name).to_dict()


@router.get("/{item_id}", summary="One item: its reports, earlier reports, where it is hosted")
def read_item(item_id: int, who: Reader, ctx: Context) -> dict[str, Any]:
    return desk_of(ctx).view(item_id).to_dict()


@router.post("/{item_id}/claim", summary="Take an item (it moves to in_review)")
def claim(item_id: int, who: Worker, ctx: Context) -> dict[str, Any]:
    return {"item": jsonable(desk_of(ctx).claim(item_id, who))}


@router.post("/{item_id}/assign", summary="Give an item to an analyst")
def assign(item_id: int, body: Assignment, who: Worker, ctx: Context) -> dict[str, Any]:
    return {"item": jsonable(desk_of(ctx).assign(item_id, body.assignee, who))}


@router.post("/{item_id}/release", summary="Put an item back in the queue, unheld")
def release(item_id: int, who: Worker, ctx: Context) -> dict[str, Any]:
    return {"item": jsonable(desk_of(ctx).release(item_id, who))}


@router.post("/{item_id}/resolve", summary="Locate the item's host again (DNS only)")
def resolve(item_id: int, who: Worker, ctx: Context) -> dict[str, Any]:
    desk = desk_of(ctx)
    found = desk.resolve(item_id, who)
    return {"resolution": resolution_dict(found), "item": jsonable(desk.item(item_id))}


def resolution_dict(found: Resolution) -> dict[str, Any]:
    return {
        "host": found.host,
        "resolved_at": found.resolved_at.isoformat(),
        "outcome": found.outcome.value,
        "addresses": [address.to_dict() for address in found.addresses],
        "ip": found.primary.ip if found.primary else None,
        "country": found.country,
        "asn": found.asn,
        "network": found.network,
        "message": found.message,
        "source": found.source,
    }
