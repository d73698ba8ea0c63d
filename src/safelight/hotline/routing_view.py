"""What the routing and takedown pages show, worded in the reader's language.

The item panel ("routing", order 50) and the item's takedown page draw the same values:
the rules' suggestion (or why there is none yet), the partners an analyst may choose
instead, the item's takedown dates, and its timeline. Problems raised by the library are
worded here by their code and field (``problem_lines``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from safelight.errors import InputError, SafelightError
from safelight.hotline.i18n import babel_locale, format_date, format_number, translations
from safelight.hotline.messages_routing import (
    CONFIRMED_BY,
    EVENTS,
    FIELDS,
    KNOWN_MATERIAL,
    LE_NOTIFIED,
    NOTICE_NUMBER,
    NOTICES_SENT,
    PACKAGE_SENT,
    PARTNER_KINDS,
    PROBLEMS,
    PUBLIC_ACTOR,
    REASONS,
    RECORDED_ELSEWHERE,
    REPORT_REFERENCE,
    SERIES,
)
from safelight.hotline.model import ItemStatus
from safelight.hotline.partners import Partner, PartnerRejected
from safelight.hotline.references import display
from safelight.hotline.routing import Routing, RoutingError, route
from safelight.hotline.takedown import ACTIONABLE, Takedown, TimelineEvent


def country_name(code: str | None, language: str) -> str:
    if not code:
        return ""
    name = babel_locale(language).territories.get(code)
    return f"{name} ({code})" if name else code


def country_choices(codes: frozenset[str], language: str) -> list[tuple[str, str]]:
    """(code, "Name (CODE)") for every code, by name in the reader's language."""
    territories = babel_locale(language).territories
    named = [(code, f"{territories.get(code, code)} ({code})") for code in codes]
    return sorted(named, key=lambda pair: pair[1].casefold())


def partner_view(partner: Partner, language: str) -> dict[str, Any]:
    gettext = translations(language).gettext
    contact = partner.contact
    return {
        **partner.to_dict(),
        "kind_name": gettext(PARTNER_KINDS[partner.kind.value]),
        "country_name": country_name(partner.country, language),
        "href": contact if contact.startswith(("http://", "https://")) else f"mailto:{contact}",
        "updated": format_date(partner.updated_at, language),
    }


def problem_lines(error: SafelightError, language: str) -> list[str]:
    """The error in the reader's words: one line per problem (a partner's fields), else one."""
    gettext = translations(language).gettext

    def line(code: str, field: str | None, fallback: str) -> str:
        template = PROBLEMS.get(code)
        if template is None:
            return fallback
        name = gettext(FIELDS[field]) if field in FIELDS else (field or "")
        return gettext(template) % {"field": name}

    if isinstance(error, PartnerRejected):
        return [line(p.code, p.field, f"{p.field}: {p.message}") for p in error.partner_problems]
    return [line(error.code, error.field, error.message)]


def parse_form_time(text: str | None, field: str) -> datetime | None:
    """A ``datetime-local`` field's value (UTC), None when empty; InputError naming it."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{field}: not a date and time", code="bad_time", field=field) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def takedown_view(
    takedown: Takedown,
    item: Mapping[str, Any],
    language: str,
    *,
    can_act: bool,
    conn: Connection | None = None,
) -> dict[str, Any]:
    """The panel's and the takedown page's values for one item."""
    gettext = translations(language).gettext
    partners = takedown.partners.all(active_only=True, conn=conn)
    suggestion: dict[str, Any] | None = None
    problem = ""
    try:
        routing = route(item["hosting_country"], takedown.policy, partners)
    except RoutingError as error:
        problem = problem_lines(error, language)[0]
    else:
        suggestion = _suggestion(routing, language)
    status = ItemStatus(item["status"])
    events = takedown.item_timeline(int(item["id"]), conn=conn)
    # a partner is referred to once: the form offers only the others
    referred = {int(e.partner["id"]) for e in events if e.partner and e.event.value == "referred"}
    if suggestion and suggestion["partner"]["id"] in referred:
        suggestion["already_referred"] = True
    choices = [p for p in partners if p.id not in referred]
    return {
        "item_id": int(item["id"]),
        "url": item["url"],
        "status": status.value,
        "hosting_country": country_name(item["hosting_country"], language),
        "suggestion": suggestion,
        "routing_problem": problem,
        "partners": [partner_view(p, language) for p in choices],
        "can_act": can_act and status in ACTIONABLE,
        "is_referred": status == ItemStatus.REFERRED,
        "dates": _dates(item, language),
        "timeline": timeline_rows(events, language),
        "now": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"),
        "event_names": {key: gettext(name) for key, name in EVENTS.items()},
    }


def _suggestion(routing: Routing, language: str) -> dict[str, Any]:
    gettext = translations(language).gettext
    return {
        "partner": partner_view(routing.partner, language),
        "reason": gettext(REASONS[routing.reason.value]),
        "alternatives": [partner_view(p, language) for p in routing.alternatives],
        "notify_host": routing.notify_host,
        "police": routing.notifies_law_enforcement,
    }


def _dates(item: Mapping[str, Any], language: str) -> list[tuple[str, str]]:
    gettext = translations(language).gettext

    def when(name: str) -> str:
        value = item[name]
        if value is None:
            return "—"
        return format_date(value if value.tzinfo else value.replace(tzinfo=UTC), language)

    return [
        (gettext(EVENTS["reported"]), when("reported_at")),
        (gettext(EVENTS["assessed"]), when("assessed_at")),
        (gettext(LE_NOTIFIED), when("le_notified_at")),
        (gettext(EVENTS["host_notified"]), when("hp_notified_at")),
        (gettext(NOTICES_SENT), format_number(int(item["notice_count"]), language)),
        (gettext(SERIES["removed"]), when("removed_at")),
    ]


def timeline_rows(events: list[TimelineEvent], language: str) -> list[dict[str, Any]]:
    gettext = translations(language).gettext
    rows = []
    for event in events:
        details: list[str] = []
        if event.partner:
            kind = gettext(PARTNER_KINDS[str(event.partner["kind"])])
            country = country_name(str(event.partner["country"]), language)
            details.append(f"{event.partner['name']} ({kind}, {country})")
        if event.reason:
            details.append(gettext(REASONS[event.reason]))
        if event.notice:
            number = format_number(event.notice, language)
            details.append(gettext(NOTICE_NUMBER) % {"number": number})
        if event.reference:
            details.append(gettext(REPORT_REFERENCE) % {"reference": display(event.reference)})
        if event.confirmed_by:
            details.append(gettext(CONFIRMED_BY) % {"name": _name(event.confirmed_by)})
        if event.known:
            known = {"list": event.known["list"], "entry": event.known["entry_id"]}
            details.append(gettext(KNOWN_MATERIAL) % known)
        if event.package:
            sent = {
                "id": format_number(int(event.package["id"]), language),
                "recipient": event.package["sent_to"],
                "country": country_name(str(event.package["country"]), language),
            }
            details.append(gettext(PACKAGE_SENT) % sent)
        rows.append(
            {
                "item_id": event.item_id,
                "url": event.url,
                "event": event.event.value,
                "step": gettext(EVENTS[event.event.value]),
                "when": format_date(event.occurred_at, language),
                "iso": event.occurred_at.isoformat(),
                "by": _actor(event, gettext),
                "details": details,
                "note": event.note,
            }
        )
    return rows


def _name(actor: str) -> str:
    """A person's name as the audit trail writes it ("user:alice"), without its kind."""
    return actor.partition(":")[2] or actor


def _actor(event: TimelineEvent, gettext: Callable[[str], str]) -> str:
    if event.actor:
        return _name(event.actor)
    return gettext(PUBLIC_ACTOR if event.event.value == "reported" else RECORDED_ELSEWHERE)
