"""Where an item assessed illegal goes: the routing rules, as pure functions.

By the item's hosting country (INHOPE/ICCAM practice, shared/reference 2.2 step 5):

1. Hosted in the organisation's own country: national law enforcement, and a notice to the
   hosting provider (notice and takedown) from the organisation itself (``national``).
2. Hosted in another country with an active partner hotline: forwarded to that hotline,
   which notifies its police and the host (``partner_hotline``; ICCAM's "forward").
3. No hotline there, but an active law-enforcement contact in that country: to it
   (``partner_law_enforcement``).
4. No partner in that country: the configured fallback partner, e.g. INTERPOL or the
   organisation's own police, as the IWF sends such items to the UK's NCA (``fallback``).

An item whose hosting country is not known yet cannot be routed: it needs resolving first
(``RoutingError`` with code ``hosting_unknown``). Where one country has several partners of
the kind chosen, the one entered first (lowest id) is chosen and the others are offered as
alternatives; the analyst may refer to any active partner instead (recorded as
``analyst_choice``, beside the rule's suggestion).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from safelight.errors import ConflictError, UsageError
from safelight.hotline.partners import Partner, PartnerKind, name_key
from safelight.referrals.countries import validate_country


class RouteReason(StrEnum):
    NATIONAL = "national"
    PARTNER_HOTLINE = "partner_hotline"
    PARTNER_LAW_ENFORCEMENT = "partner_law_enforcement"
    FALLBACK = "fallback"
    ANALYST_CHOICE = "analyst_choice"  # the analyst picked another partner than the rule


class RoutingError(ConflictError):
    """The item cannot be routed yet: what is missing is in ``code`` and ``field``."""


@dataclass(frozen=True)
class RoutingPolicy:
    """The organisation's side of the rules: its own country, and the fallback partner's
    name (None: none configured)."""

    own_country: str | None
    fallback_partner: str | None = None


@dataclass(frozen=True)
class Routing:
    hosting_country: str
    reason: RouteReason
    partner: Partner
    alternatives: tuple[Partner, ...] = ()  # other active partners the same rule fits

    @property
    def notifies_law_enforcement(self) -> bool:
        return self.partner.kind == PartnerKind.LAW_ENFORCEMENT

    @property
    def notify_host(self) -> bool:
        """Whether the organisation itself sends the hosting provider its notice (only for
        material hosted at home: a partner hotline notifies hosts in its own country)."""
        return self.reason == RouteReason.NATIONAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "hosting_country": self.hosting_country,
            "reason": self.reason.value,
            "partner": self.partner.to_dict(),
            "alternatives": [partner.to_dict() for partner in self.alternatives],
            "notifies_law_enforcement": self.notifies_law_enforcement,
            "notify_host": self.notify_host,
        }


def route(
    hosting_country: str | None, policy: RoutingPolicy, partners: Iterable[Partner]
) -> Routing:
    """The partner an item hosted in ``hosting_country`` goes to, and why; RoutingError
    when the country is unknown or the directory has no one to send it to."""
    country = _hosting_country(hosting_country)
    own = _own_country(policy)
    active = [partner for partner in partners if partner.active]
    if country == own:
        police = _of(active, own, PartnerKind.LAW_ENFORCEMENT)
        if not police:
            raise RoutingError(
                f"no active law-enforcement contact for {own}, the organisation's own country: "
                "add one to the partners directory",
                code="no_national_contact",
                field="partner",
            )
        return Routing(country, RouteReason.NATIONAL, police[0], tuple(police[1:]))
    for kind, reason in (
        (PartnerKind.HOTLINE, RouteReason.PARTNER_HOTLINE),
        (PartnerKind.LAW_ENFORCEMENT, RouteReason.PARTNER_LAW_ENFORCEMENT),
    ):
        found = _of(active, country, kind)
        if found:
            return Routing(country, reason, found[0], tuple(found[1:]))
    return Routing(country, RouteReason.FALLBACK, _fallback(policy, active, country))


def chosen(suggested: Routing, partner: Partner) -> Routing:
    """The analyst's choice of ``partner`` instead of the suggestion (which it keeps as
    the only alternative, so the record shows what the rule said)."""
    if not partner.active:
        raise RoutingError(
            f"partner {partner.name!r} is inactive", code="partner_inactive", field="partner_id"
        )
    if partner.id == suggested.partner.id:
        return suggested
    return Routing(
        suggested.hosting_country, RouteReason.ANALYST_CHOICE, partner, (suggested.partner,)
    )


def _hosting_country(value: str | None) -> str:
    if value is None or not value.strip():
        raise RoutingError(
            "the item's hosting country is not known: resolve its host first",
            code="hosting_unknown",
            field="hosting_country",
        )
    try:
        return validate_country(value)
    except UsageError as exc:
        raise RoutingError(
            f"the item's hosting country cannot be routed: {exc.message}",
            code="hosting_unknown",
            field="hosting_country",
        ) from None


def _own_country(policy: RoutingPolicy) -> str:
    if not policy.own_country:
        raise RoutingError(
            "the organisation's own country is not configured",
            code="own_country_unset",
            field="organisation_country",
        )
    return validate_country(policy.own_country)


def _of(partners: list[Partner], country: str, kind: PartnerKind) -> list[Partner]:
    return sorted(
        (p for p in partners if p.country == country and p.kind == kind), key=lambda p: p.id
    )


def _fallback(policy: RoutingPolicy, active: list[Partner], country: str) -> Partner:
    wanted = name_key(policy.fallback_partner or "")
    if not wanted:
        raise RoutingError(
            f"no active partner for {country} and no fallback partner is configured",
            code="no_partner",
            field="partner",
        )
    for partner in active:
        if name_key(partner.name) == wanted:
            return partner
    raise RoutingError(
        f"no active partner for {country}, and the fallback partner "
        f"{policy.fallback_partner!r} is not an active partner in the directory",
        code="no_partner",
        field="partner",
    )
