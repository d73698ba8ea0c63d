"""The analyst workspace's classification API: classify, confirm or disagree (four eyes),
item hashes, banking into a list, and what is known about an item (docs/hotline.md).

Analysts and admins only. The library (``safelight.hotline.workbench``) holds every rule and
writes every audit entry; these routes read the body and name the caller.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from safelight.constants import HOTLINE_MAX_HASH_LINES, HOTLINE_MAX_NOTES, HOTLINE_MAX_REASON
from safelight.hotline.classification import Assessment
from safelight.hotline.workbench import Workbench
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.routes.lists import in_scope

router = APIRouter(prefix="/api/v1/hotline/items/{item_id}", tags=["hotline workspace"])

Analyst = Annotated[Principal, requires(Role.ANALYST, Role.ADMIN)]


class ClassificationBody(BaseModel):
    model_config = {"extra": "forbid"}

    illegality: str | None = Field(
        default=None, description="baseline, national or not_illegal", max_length=30
    )
    age_group: str | None = Field(
        default=None, description="infant, pre_pubescent, pubescent or unknown", max_length=30
    )
    gender: str | None = Field(
        default=None, description="female, male, both or unknown", max_length=30
    )
    site_type: str | None = Field(default=None, max_length=30)
    commercial: bool | None = None
    notes: str | None = Field(default=None, max_length=HOTLINE_MAX_NOTES)


class ReviewBody(BaseModel):
    model_config = {"extra": "forbid"}

    version: int = Field(description="The classification version looked at.", ge=1)


class DisagreeBody(ReviewBody):
    reason: str = Field(max_length=HOTLINE_MAX_REASON)


class HashesBody(BaseModel):
    model_config = {"extra": "forbid"}

    hashes: list[str] | None = Field(
        default=None,
        description="'TYPE VALUE' per hash (pdq, md5, sha1, sha256, vpdq, or a registered type)",
        max_length=HOTLINE_MAX_HASH_LINES,
    )
    scan_run_id: int | None = Field(default=None, description="Take the hashes of a scan run.")


class BankBody(BaseModel):
    model_config = {"extra": "forbid"}

    list: str = Field(min_length=1, max_length=255)


def workbench(ctx: ServiceContext) -> Workbench:
    """The app's workbench (one matcher, shared by every request of the app)."""
    return ctx.shared(
        "hotline_workbench",
        Workbench,
        lambda: Workbench.build(
            ctx.db, ctx.audit, ctx.lists, four_eyes=ctx.settings.four_eyes, home=ctx.home
        ),
    )


@router.get("/classification", summary="An item's classification, history, hashes and bankings")
def read_classification(item_id: int, who: Analyst, ctx: Context) -> dict[str, Any]:
    return workbench(ctx).overview(item_id)


@router.post("/classification", status_code=201, summary="Classify an item (a new version)")
def classify(item_id: int, body: ClassificationBody, who: Analyst, ctx: Context) -> dict[str, Any]:
    assessment = Assessment.parse(
        body.illegality,
        age_group=body.age_group,
        gender=body.gender,
        site_type=body.site_type,
        commercial=body.commercial,
        notes=body.notes,
    )
    return workbench(ctx).desk.classify(item_id, assessment, by=who.actor).to_dict()


@router.post("/confirm", summary="Confirm another analyst's classification (four eyes)")
def confirm(item_id: int, body: ReviewBody, who: Analyst, ctx: Context) -> dict[str, Any]:
    return workbench(ctx).desk.confirm(item_id, body.version, by=who.actor).to_dict()


@router.post("/disagree", summary="Disagree with another analyst's classification, with a reason")
def disagree(item_id: int, body: DisagreeBody, who: Analyst, ctx: Context) -> dict[str, Any]:
    desk = workbench(ctx).desk
    return desk.disagree(item_id, body.version, by=who.actor, reason=body.reason).to_dict()


@router.get("/hashes", summary="An item's hashes, with provenance, and where they were banked")
def read_hashes(item_id: int, who: Analyst, ctx: Context) -> dict[str, Any]:
    bench = workbench(ctx)
    return {
        "hashes": [h.to_dict() for h in bench.hashes.list(item_id)],
        "bankings": bench.banker.bankings(item_id),
        **bench.known_state(item_id),
    }


@router.post("/hashes", summary="Add hashes to an item, or take them from a scan run")
async def add_hashes(
    item_id: int, body: HashesBody, who: Analyst, ctx: Context, response: Response
) -> dict[str, Any]:
    text = None if body.hashes is None else "\n".join(body.hashes)
    added = await run_in_threadpool(
        workbench(ctx).add_hashes, item_id, by=who.actor, text=text, scan_run_id=body.scan_run_id
    )
    response.status_code = 201 if added["added"] else 200
    return added


@router.post("/bank", summary="Bank an illegal item's hashes into a list, with provenance")
def bank(item_id: int, body: BankBody, who: Analyst, ctx: Context) -> dict[str, Any]:
    in_scope(who, body.list)
    return workbench(ctx).bank(item_id, body.list, by=who.actor)


@router.get("/known", summary="List entries with a classification that the item's hashes match")
def read_known(item_id: int, who: Analyst, ctx: Context) -> dict[str, Any]:
    return workbench(ctx).known_state(item_id)


@router.post("/known/check", summary="Match the item's hashes against the lists again")
async def check_known(item_id: int, who: Analyst, ctx: Context) -> dict[str, Any]:
    bench = workbench(ctx)
    await run_in_threadpool(bench.known.check, item_id, by=who.actor)
    return bench.known_state(item_id)
