"""Routing rules (safelight.hotline.routing): who an item assessed illegal goes to, and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safelight.hotline.partners import Partner, PartnerKind
from safelight.hotline.routing import (
    RouteReason,
    Routing,
    RoutingError,
    RoutingPolicy,
    chosen,
    route,
)

WHEN = datetime(2025, 1, 1, tzinfo=UTC)
HOTLINE, POLICE = PartnerKind.HOTLINE, PartnerKind.LAW_ENFORCEMENT


def partner(pid: int, country: str, kind: PartnerKind, name: str, active: bool = True) -> Partner:
    return Partner(pid, country, kind, name, "desk@example.org", "", active, WHEN, "user:admin")


DIRECTORY = [
    partner(1, "GB", POLICE, "National Crime Agency"),
    partner(2, "DE", HOTLINE, "eco"),
    partner(3, "DE", HOTLINE, "jugendschutz.net"),
    partner(4, "FR", HOTLINE, "Point de Contact", active=False),
    partner(5, "FR", POLICE, "OFMIN"),
    partner(6, "NL", HOTLINE, "Offlimits", active=False),
    partner(7, "FR", POLICE, "INTERPOL"),
    partner(8, "GB", HOTLINE, "Internet Watch Foundation"),  # ourselves, in this table
    partner(9, "GB", POLICE, "Regional police", active=False),
]
POLICY = RoutingPolicy(own_country="GB", fallback_partner="INTERPOL")

# hosting country -> (reason, partner id, alternatives, law enforcement?, we notify the host?)
RULES = [
    ("GB", RouteReason.NATIONAL, 1, (), True, True),
    ("gb", RouteReason.NATIONAL, 1, (), True, True),
    ("DE", RouteReason.PARTNER_HOTLINE, 2, (3,), False, False),
    ("FR", RouteReason.PARTNER_LAW_ENFORCEMENT, 5, (7,), True, False),  # its hotline inactive
    ("NL", RouteReason.FALLBACK, 7, (), True, False),  # only an inactive hotline there
    ("US", RouteReason.FALLBACK, 7, (), True, False),  # no partner at all
    (" jp ", RouteReason.FALLBACK, 7, (), True, False),
]


@pytest.mark.parametrize(("country", "reason", "pid", "others", "police", "host"), RULES)
def test_the_routing_rules(
    country: str,
    reason: RouteReason,
    pid: int,
    others: tuple[int, ...],
    police: bool,
    host: bool,
) -> None:
    routing = route(country, POLICY, DIRECTORY)
    assert routing.reason == reason
    assert routing.partner.id == pid
    assert tuple(p.id for p in routing.alternatives) == others
    assert routing.notifies_law_enforcement is police
    assert routing.notify_host is host
    assert routing.hosting_country == country.strip().upper()
    as_dict = routing.to_dict()
    assert as_dict["reason"] == reason.value and as_dict["partner"]["id"] == pid


@pytest.mark.parametrize(
    ("country", "policy", "directory", "code", "field", "words"),
    [
        (None, POLICY, DIRECTORY, "hosting_unknown", "hosting_country", "resolve its host"),
        ("", POLICY, DIRECTORY, "hosting_unknown", "hosting_country", "resolve its host"),
        ("UK", POLICY, DIRECTORY, "hosting_unknown", "hosting_country", "United Kingdom is GB"),
        ("XX", POLICY, DIRECTORY, "hosting_unknown", "hosting_country", "not an ISO 3166-1"),
        ("DE", RoutingPolicy(None), DIRECTORY, "own_country_unset", "organisation_country", ""),
        ("US", RoutingPolicy("GB"), DIRECTORY, "no_partner", "partner", "no fallback partner"),
        ("US", RoutingPolicy("GB", "Europol"), DIRECTORY, "no_partner", "partner", "'Europol'"),
        ("US", RoutingPolicy("GB", "Offlimits"), DIRECTORY, "no_partner", "partner", "not an"),
        ("GB", POLICY, DIRECTORY[1:], "no_national_contact", "partner", "GB"),
    ],
)
def test_what_cannot_be_routed_says_why(
    country: str | None,
    policy: RoutingPolicy,
    directory: list[Partner],
    code: str,
    field: str,
    words: str,
) -> None:
    with pytest.raises(RoutingError) as caught:
        route(country, policy, directory)
    assert caught.value.code == code and caught.value.field == field
    assert words in caught.value.message
    assert caught.value.http_status == 409


def test_the_fallback_is_found_by_name_whatever_its_case_and_spacing() -> None:
    routing = route("US", RoutingPolicy("gb", "  interpol "), DIRECTORY)
    assert routing.partner.name == "INTERPOL" and routing.reason == RouteReason.FALLBACK


def test_the_analysts_choice_keeps_the_rules_suggestion() -> None:
    suggested = route("DE", POLICY, DIRECTORY)
    assert chosen(suggested, DIRECTORY[1]) is suggested  # the same partner: the rule stands
    other = chosen(suggested, DIRECTORY[6])
    assert other.reason == RouteReason.ANALYST_CHOICE and other.partner.name == "INTERPOL"
    assert other.alternatives == (suggested.partner,) and other.notifies_law_enforcement
    with pytest.raises(RoutingError) as caught:
        chosen(suggested, DIRECTORY[3])
    assert caught.value.code == "partner_inactive" and caught.value.field == "partner_id"


COUNTRIES = ["GB", "DE", "FR", "NL"]


@st.composite
def directories(draw: st.DrawFn) -> list[Partner]:
    size = draw(st.integers(0, 12))
    return [
        partner(
            pid,
            draw(st.sampled_from(COUNTRIES)),
            draw(st.sampled_from(list(PartnerKind))),
            f"partner {pid}",
            draw(st.booleans()),
        )
        for pid in draw(st.permutations(range(1, size + 1)))
    ]


@given(
    directories(),
    st.sampled_from(COUNTRIES),
    st.sampled_from(COUNTRIES),
    st.one_of(st.none(), st.integers(1, 12)),
)
def test_routing_invariants(
    directory: list[Partner], own: str, hosting: str, fallback: int | None
) -> None:
    policy = RoutingPolicy(own, f"partner {fallback}" if fallback else None)
    active = [p for p in directory if p.active]

    def fits(kind: PartnerKind, country: str) -> list[Partner]:
        return sorted((p for p in active if p.kind == kind and p.country == country), key=_id)

    try:
        routing = route(hosting, policy, directory)
    except RoutingError as error:
        if hosting == own:
            assert error.code == "no_national_contact" and not fits(POLICE, own)
        else:
            assert error.code == "no_partner"
            assert not fits(HOTLINE, hosting) and not fits(POLICE, hosting)
            assert fallback is None or all(p.name != f"partner {fallback}" for p in active)
        return
    assert routing.partner.active and all(p.active for p in routing.alternatives)
    expected = _expected(routing, hosting, own, fits)
    if routing.reason == RouteReason.FALLBACK:
        assert routing.partner.name == policy.fallback_partner
    assert [routing.partner, *routing.alternatives] == expected


def _expected(routing: Routing, hosting: str, own: str, fits: object) -> list[Partner]:
    assert callable(fits)
    if hosting == own:
        assert routing.reason == RouteReason.NATIONAL and routing.notify_host
        return list(fits(POLICE, own))
    assert not routing.notify_host
    if fits(HOTLINE, hosting):
        assert routing.reason == RouteReason.PARTNER_HOTLINE
        return list(fits(HOTLINE, hosting))
    if fits(POLICE, hosting):
        assert routing.reason == RouteReason.PARTNER_LAW_ENFORCEMENT
        return list(fits(POLICE, hosting))
    assert routing.reason == RouteReason.FALLBACK
    return [routing.partner]


def _id(p: Partner) -> int:
    return p.id
