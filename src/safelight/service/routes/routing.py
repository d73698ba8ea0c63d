"""Routing and takedown over the native API: partners, referral, notices, re-checks,
timelines and metrics (docs/hotline.md, "Routing and takedown").

Admins change the partners directory; analysts (and admins) refer items and record
notices and re-checks; auditors read. Every change is audited by the library in the
transaction that makes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from safelight.constants import HOTLINE_EVENT_MAX_NOTE
from safelight.hotline.metrics import load_metrics
from safelight.hotline.references import parse_reference
from safelight.hotline.routing import RoutingPolicy
from safelight.hotline.takedown import Takedown, TimelineEvent
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role

router = APIRouter(prefix="/api/v1/hotline", tags=["hotline routing"])

READERS = (Role.ADMIN, Role.ANALYST, Role.AUDITOR)
ACTORS = (Role.ADMIN, Role.ANALYST)
Reader = Annotated[Principal, requires(*READERS)]
Actor = Annotated[Principal, requires(*ACTORS)]
Admin = Annotated[Principal, requires(Role.ADMIN)]


def takedown_of(ctx: ServiceContext) -> Takedown:
    """The app's Takedown (and through it the partners directory), made once."""

    def build() -> Takedown:
        settings = ctx.settings
        policy = RoutingPolicy(settings.organisation_country, settings.fallback_partner)
        return Takedown(ctx.db, ctx.audit, policy)

    return ctx.shared("hotline_takedown", Takedown, build)


class NewPartner(BaseModel):
    model_config = {"extra": "forbid"}

    country: str = Field(description="ISO 3166-1 alpha-2, e.g. DE")
    kind: str = Field(description="hotline or law_enforcement")
    name: str
    contact: str = Field(description="An e-mail address or an http(s) URL")
    notes: str = ""
    active: bool = True


class PartnerChanges(BaseModel):
    model_config = {"extra": "forbid"}

    country: str | None = None
    kind: str | None = None
    name: str | None = None
    contact: str | None = None
    notes: str | None = None
    active: bool | None = None


class Referral(BaseModel):
    model_config = {"extra": "forbid"}

    partner_id: int | None = Field(
        default=None, description="Another active partner than the rules' suggestion"
    )
    at: datetime | None = Field(default=None, description="When it was referred; default now")
    note: str = Field(default="", max_length=HOTLINE_EVENT_MAX_NOTE)


class HostNotice(BaseModel):
    model_config = {"extra": "forbid"}

    at: datetime | None = Field(default=None, description="When it was sent; default now")
    note: str = Field(default="", max_length=HOTLINE_EVENT_MAX_NOTE)


class Recheck(BaseModel):
    model_config = {"extra": "forbid"}

    online: bool = Field(description="true: still online; false: removed")
    at: datetime | None = Field(default=None, description="When it was checked; default now")
    note: str = Field(default="", max_length=HOTLINE_EVENT_MAX_NOTE)


@router.get("/partners", summary="The partners directory (by country, kind and name)")
def list_partners(
    _: Reader, ctx: Context, country: str | None = None, active: bool | None = None
) -> dict[str, Any]:
    partners = takedown_of(ctx).partners.all(country=country, active_only=bool(active))
    return {"partners": [partner.to_dict() for partner in partners]}


@router.post("/partners", status_code=201, summary="Add a hotline or law-enforcement contact")
def add_partner(body: NewPartner, who: Admin, ctx: Context) -> dict[str, Any]:
    return takedown_of(ctx).partners.add(who.actor, body.model_dump()).to_dict()


@router.get("/partners/{partner_id}", summary="One partner")
def read_partner(partner_id: int, _: Reader, ctx: Context) -> dict[str, Any]:
    return takedown_of(ctx).partners.get(partner_id).to_dict()


@router.patch("/partners/{partner_id}", summary="Change a partner (active: false retires it)")
def update_partner(
    partner_id: int, body: PartnerChanges, who: Admin, ctx: Context
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return takedown_of(ctx).partners.update(who.actor, partner_id, changes).to_dict()


@router.get("/items/{item_id}/routing", summary="Where the routing rules send an item")
def routing_suggestion(item_id: int, _: Reader, ctx: Context) -> dict[str, Any]:
    return takedown_of(ctx).suggest(item_id).to_dict()


@router.post("/items/{item_id}/referral", summary="Refer an item assessed illegal")
def refer_item(item_id: int, body: Referral, who: Actor, ctx: Context) -> dict[str, Any]:
    routing = takedown_of(ctx).refer(
        who.actor, item_id, partner_id=body.partner_id, at=body.at, note=body.note
    )
    return {"item_id": item_id, "status": "referred", "routing": routing.to_dict()}


@router.post("/items/{item_id}/host-notices", summary="Record a notice to the hosting provider")
def notify_host(item_id: int, body: HostNotice, who: Actor, ctx: Context) -> dict[str, Any]:
    notice = takedown_of(ctx).notify_host(who.actor, item_id, at=body.at, note=body.note)
    return {"item_id": item_id, "notice": notice}


@router.post("/items/{item_id}/rechecks", summary="Record a re-check: still online, or removed")
def recheck_item(item_id: int, body: Recheck, who: Actor, ctx: Context) -> dict[str, Any]:
    event = takedown_of(ctx).recheck(
        who.actor, item_id, online=body.online, at=body.at, note=body.note
    )
    return {"item_id": item_id, "event": event.value}


@router.get("/items/{item_id}/timeline", summary="An item's takedown timeline")
def item_timeline(item_id: int, _: Reader, ctx: Context) -> dict[str, Any]:
    return {"item_id": item_id, "events": _events(takedown_of(ctx).item_timeline(item_id))}


@router.get("/reports/{reference}/timeline", summary="The timeline of every item of a report")
def report_timeline(reference: str, _: Reader, ctx: Context) -> dict[str, Any]:
    events = takedown_of(ctx).report_timeline(reference)  # NotFoundError if malformed
    return {"reference": parse_reference(reference), "events": _events(events)}


@router.get("/metrics", summary="Reports, items and time to removal by month, country, network")
def metrics(
    _: Reader, ctx: Context, since: str | None = None, until: str | None = None
) -> dict[str, Any]:
    return load_metrics(ctx.db, since=since, until=until).to_dict()


def _events(events: list[TimelineEvent]) -> list[dict[str, Any]]:
    return [event.to_dict() for event in events]
