"""Referral packages over HTTP: build one for a country, list, show, verify, download as a
zip, mark sent, supersede (docs/referrals.md; the library ``safelight.referrals`` does the
work, the workspace pages call the same helpers).

Who: investigators and admins build from any source; analysts build from the hotline's
items only, and see only referrals made of hotline items (a referral holding network or scan
findings answers 404 to them, as if it did not exist); auditors read and verify. Packages
the service builds are written under the home (``<home>/referrals/``), signed with the key
there (passphrase: the ``key_passphrase`` setting). Every act is audited in the service's
hash-chained log, by the caller.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from safelight.errors import NotFoundError, PermissionDeniedError, UsageError
from safelight.referrals import BuildRequest, ReferralRecord, ReferralStore, build_referral
from safelight.referrals.audit import audit_log
from safelight.referrals.countries import validate_country
from safelight.referrals.hotline_source import KIND as HOTLINE_KIND
from safelight.referrals.hotline_source import HotlineSource
from safelight.referrals.roles import DEFAULT_ROLE
from safelight.referrals.sources import NetworkCaseSource, ReferralSource, ScanRunSource
from safelight.referrals.stored import new_package_folder, package_zip, verify_recorded
from safelight.referrals.supersede import supersede_referral
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role
from safelight.service.roots import allowed_source, is_uri
from safelight.service.routes.cases import visible_case
from safelight.service.routes.scans import visible_run

router = APIRouter(prefix="/api/v1/referrals", tags=["referrals"])

BUILDERS = (Role.ADMIN, Role.INVESTIGATOR, Role.ANALYST)
READERS = (*BUILDERS, Role.AUDITOR)
# Who may see and build referrals of network and scan findings (they hold IP addresses).
ALL_SOURCES = (Role.ADMIN, Role.INVESTIGATOR, Role.AUDITOR)
Builder = Annotated[Principal, requires(*BUILDERS)]
Reader = Annotated[Principal, requires(*READERS)]


class CaseChoice(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1)
    geo: list[str] = Field(
        default=[],
        description="Geolocation .mmdb files under scan_roots (as a network analysis uses).",
    )


class HotlineChoice(BaseModel):
    model_config = {"extra": "forbid"}

    references: list[str] | None = Field(
        default=None, description="Only the URLs these reports named."
    )
    items: list[int] | None = Field(default=None, description="Exactly these hotline items.")


class NewReferral(BaseModel):
    model_config = {"extra": "forbid"}

    country: str = Field(description="ISO 3166-1 alpha-2 code of the recipient.")
    recipient_role: str = DEFAULT_ROLE
    case: CaseChoice | None = None
    scan: int | None = Field(default=None, description="Scan run whose matches to refer.")
    hotline: HotlineChoice | None = Field(
        default=None,
        description="Hotline items assessed illegal and hosted in the country ({} for all).",
    )


class Sent(BaseModel):
    model_config = {"extra": "forbid"}

    to: str = Field(min_length=1, max_length=500, description="Who received it.")
    at: datetime | None = Field(default=None, description="When (default: now).")


class Supersede(BaseModel):
    model_config = {"extra": "forbid"}

    reason: str = Field(min_length=1, max_length=2000)
    recipient_role: str | None = None


def sees_all(who: Principal) -> bool:
    return who.has_any(ALL_SOURCES)


def hotline_only(record: ReferralRecord) -> bool:
    return all(source.get("kind") == HOTLINE_KIND for source in record.sources)


def visible_referral(ctx: ServiceContext, who: Principal, referral_id: int) -> ReferralRecord:
    """The referral, or 404 for an analyst when it holds more than hotline items."""
    record = ReferralStore(ctx.db).get(referral_id)
    if not sees_all(who) and not hotline_only(record):
        raise NotFoundError(f"no referral {referral_id}", code="no_referral")
    return record


def visible_referrals(
    ctx: ServiceContext, who: Principal, country: str | None, limit: int
) -> list[ReferralRecord]:
    found = ReferralStore(ctx.db).list(country=country, limit=limit)
    return found if sees_all(who) else [r for r in found if hotline_only(r)]


def passphrase(ctx: ServiceContext) -> str:
    secret = ctx.settings.key_passphrase
    if secret is None or not secret.get_secret_value():
        raise UsageError(
            "this service signs no referral packages: set SAFELIGHT_KEY_PASSPHRASE "
            "(key_passphrase) to the signing key's passphrase",
            code="no_passphrase",
        )
    return secret.get_secret_value()


def chosen_sources(ctx: ServiceContext, who: Principal, body: NewReferral) -> list[ReferralSource]:
    """The sources the body names, each checked against the caller's rights."""
    if (body.case is not None or body.scan is not None) and not who.has_any(
        (Role.ADMIN, Role.INVESTIGATOR)
    ):
        raise PermissionDeniedError(
            "analysts refer the hotline's items; a network case or a scan run needs an "
            "investigator or an admin"
        )
    sources: list[ReferralSource] = []
    if body.case is not None:
        case = visible_case(ctx, who, body.case.name)
        geo = []
        for path in body.case.geo:
            if is_uri(path):
                raise UsageError(f"{path!r}: a geolocation database is a file", field="case.geo")
            geo.append(Path(allowed_source(path, ctx.settings.scan_roots)))
        sources.append(NetworkCaseSource(ctx.db, case.name, geo=geo, home=ctx.home))
    if body.scan is not None:
        sources.append(ScanRunSource(ctx.db, visible_run(ctx, who, body.scan).id))
    if body.hotline is not None:
        choice = body.hotline
        sources.append(HotlineSource(ctx.db, references=choice.references, item_ids=choice.items))
    return sources


def build_for(ctx: ServiceContext, who: Principal, body: NewReferral) -> ReferralRecord:
    """Build, sign and record the package under the home; audited by the caller."""
    country = validate_country(body.country)
    request = BuildRequest(
        country=country,
        sources=chosen_sources(ctx, who, body),
        out=new_package_folder(ctx.home, country),
        created_by=who.actor,
        recipient_role=body.recipient_role,
    )
    built = build_referral(
        ctx.db,
        request,
        home=ctx.home,
        passphrase=passphrase(ctx),
        audit=audit_log(ctx.audit, who.actor),
    )
    return built.record


def mark_sent(ctx: ServiceContext, who: Principal, referral_id: int, body: Sent) -> ReferralRecord:
    visible_referral(ctx, who, referral_id)
    store = ReferralStore(ctx.db, audit_log(ctx.audit, who.actor))
    return store.mark_sent(referral_id, sent_to=body.to, by=who.actor, at=body.at)


def supersede(
    ctx: ServiceContext, who: Principal, referral_id: int, body: Supersede
) -> ReferralRecord:
    old = visible_referral(ctx, who, referral_id)
    if not hotline_only(old) and not who.has_any((Role.ADMIN, Role.INVESTIGATOR)):
        raise PermissionDeniedError("only investigators and admins rebuild this referral")
    built = supersede_referral(
        ctx.db,
        referral_id,
        new_package_folder(ctx.home, old.country),
        reason=body.reason,
        created_by=who.actor,
        home=ctx.home,
        passphrase=passphrase(ctx),
        case_home=ctx.home,
        recipient_role=body.recipient_role,
        audit=audit_log(ctx.audit, who.actor),
    )
    return built.record


def verify(ctx: ServiceContext, who: Principal, referral_id: int) -> dict[str, Any]:
    record = visible_referral(ctx, who, referral_id)
    result = verify_recorded(record, ctx.home, audit=audit_log(ctx.audit, who.actor))
    return result.to_dict()


@router.post("", status_code=201, summary="Build, sign and record a package for a country")
def build(body: NewReferral, who: Builder, ctx: Context) -> dict[str, Any]:
    return build_for(ctx, who, body).to_dict(full=True)


@router.get("", summary="Referrals, newest first, with their status")
def list_referrals(
    who: Reader,
    ctx: Context,
    country: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    code = validate_country(country) if country else None
    return [r.to_dict() for r in visible_referrals(ctx, who, code, limit)]


@router.get("/{referral_id}", summary="One referral: sources, fields, manifest, status")
def show(referral_id: int, who: Reader, ctx: Context, items: bool = False) -> dict[str, Any]:
    record = visible_referral(ctx, who, referral_id).to_dict(full=True)
    if items:
        record["item_keys"] = ReferralStore(ctx.db).items(referral_id)
    return record


@router.post("/{referral_id}/verify", summary="Check the package against its record")
def verify_route(referral_id: int, who: Reader, ctx: Context) -> dict[str, Any]:
    return verify(ctx, who, referral_id)


@router.get(
    "/{referral_id}/package.zip",
    summary="The package as a zip (only when it verifies)",
    response_class=Response,
)
def download(referral_id: int, who: Reader, ctx: Context) -> Response:
    record = visible_referral(ctx, who, referral_id)
    data = package_zip(record, ctx.home, audit=audit_log(ctx.audit, who.actor))
    name = f"referral-{record.id}-{record.country}.zip"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type="application/zip", headers=headers)


@router.post("/{referral_id}/sent", summary="Record that it was sent; it never changes again")
def sent(referral_id: int, body: Sent, who: Builder, ctx: Context) -> dict[str, Any]:
    return mark_sent(ctx, who, referral_id, body).to_dict()


@router.post(
    "/{referral_id}/supersede",
    status_code=201,
    summary="Build a new referral from the old one's sources, pointing to it",
)
def supersede_route(
    referral_id: int, body: Supersede, who: Builder, ctx: Context
) -> dict[str, Any]:
    return supersede(ctx, who, referral_id, body).to_dict(full=True)
