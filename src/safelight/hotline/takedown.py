"""Referral and takedown of items assessed illegal, and the timeline they leave.

The steps an analyst records (each an event in ``hotline_item_events`` with when it
happened, when it was recorded and who recorded it, and an audit entry written in the same
transaction):

- ``refer``: the routing decision (partner and the rule that chose it) for an item assessed
  illegal; the item becomes ``referred``; ``le_notified_at`` is set when the partner is law
  enforcement. A referred item may be referred again to another partner (a hotline that
  declines, escalation to INTERPOL), never twice to the same one.
- ``notify_host``: a notice to the hosting provider. The first sets ``hp_notified_at``;
  each, first or re-sent, adds one to ``notice_count`` (C3P re-sends every 24 hours until
  the material is gone).
- ``recheck``: the URL checked again, still online, or removed: then ``removed_at`` is set
  and the item becomes ``removed``.

A referral package marked sent (``safelight.referrals``) is recorded on each hotline item it
carried (``record_package_sent``: event ``package_sent`` naming the referral, audited as
``hotline.package_sent``). It changes no status and no date of the item: the rules above
decide those, and a package is not a partner's referral.

Times are checked: none in the future, none before the item was reported (or assessed, for
a referral), a re-sent notice not before the previous one, a removal not before a re-check
that found the material still online. A time without a zone is read as UTC. The timeline
adds "reported" (each report that named the item) and "assessed" from the item itself, by
the classification that assessed it (``classification.assessed_by``): who classified, and
who confirmed it where four eyes applied (or the list entry of known material).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from safelight.constants import HOTLINE_EVENT_MAX_NOTE
from safelight.errors import ConflictError, InputError, NotFoundError
from safelight.hotline.classification import CONFIRMED, KNOWN, assessed_by
from safelight.hotline.item_view import register_item_section
from safelight.hotline.model import ItemStatus
from safelight.hotline.partners import PartnerDirectory, PartnerKind
from safelight.hotline.references import parse_reference
from safelight.hotline.routing import (
    RouteReason,
    Routing,
    RoutingError,
    RoutingPolicy,
    chosen,
    route,
)
from safelight.service.audit import AuditLog
from safelight.store import Database
from safelight.store.hotline_tables import hotline_item_reports, hotline_items, hotline_reports
from safelight.store.referral_tables import referrals
from safelight.store.routing_tables import hotline_item_events, hotline_partners

Row = dict[str, Any]  # a row read with .mappings(), as a plain dict
ACTIONABLE = frozenset({ItemStatus.ILLEGAL, ItemStatus.REFERRED})  # assessed illegal, not gone


class EventKind(StrEnum):
    """Timeline steps, in the order they sort when two share a moment."""

    REPORTED = "reported"
    ASSESSED = "assessed"
    REFERRED = "referred"
    PACKAGE_SENT = "package_sent"
    HOST_NOTIFIED = "host_notified"
    STILL_ONLINE = "still_online"
    REMOVED = "removed"


ORDER = {kind: position for position, kind in enumerate(EventKind)}


@dataclass(frozen=True)
class TimelineEvent:
    item_id: int
    url: str
    event: EventKind
    occurred_at: datetime
    actor: str | None  # None where another part of the workspace recorded it
    recorded_at: datetime | None = None
    partner: Mapping[str, Any] | None = None  # id, name, country, kind
    reason: str | None = None
    notice: int | None = None
    note: str = ""
    reference: str | None = None  # the report, for "reported"
    confirmed_by: str | None = None  # "assessed": the second analyst (four eyes)
    known: Mapping[str, Any] | None = None  # "assessed" as known material: list, entry_id
    package: Mapping[str, Any] | None = None  # "package_sent": the referral (SentPackage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "url": self.url,
            "event": self.event.value,
            "occurred_at": self.occurred_at.isoformat(),
            "actor": self.actor,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
            "partner": dict(self.partner) if self.partner else None,
            "reason": self.reason,
            "notice": self.notice,
            "note": self.note,
            "reference": self.reference,
            "confirmed_by": self.confirmed_by,
            "known": dict(self.known) if self.known else None,
            "package": dict(self.package) if self.package else None,
        }


@dataclass(frozen=True)
class SentPackage:
    """A referral package as it was sent: the record's id and referral id (its UUID), the
    country and role of the recipient, to whom (as the sender wrote it), and when."""

    id: int
    referral_id: str
    country: str
    recipient_role: str
    sent_to: str
    sent_at: datetime


# (action, details, connection): the caller's audit trail, its actor and target bound in by
# the caller (the referral library's ``Audit``; details name the item: ``item_id``).
PackageAudit = Callable[[str, dict[str, Any], Connection], None]


def record_package_sent(
    conn: Connection,
    package: SentPackage,
    item_ids: Iterable[int],
    *,
    actor: str,
    audit: PackageAudit,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[int]:
    """One ``package_sent`` event on each of the items (those that exist), in the caller's
    transaction, each audited there (``hotline.package_sent``); the items recorded."""
    wanted = sorted({int(item_id) for item_id in item_ids})
    recorded: list[int] = []
    if wanted:
        found = conn.execute(select(hotline_items.c.id).where(hotline_items.c.id.in_(wanted)))
        recorded = sorted(int(item_id) for item_id in found.scalars())
    moment, now = _utc(package.sent_at), clock()
    for item_id in recorded:
        conn.execute(
            insert(hotline_item_events).values(
                item_id=item_id,
                event=EventKind.PACKAGE_SENT.value,
                occurred_at=moment,
                recorded_at=now,
                actor=actor,
                referral_id=package.id,
                note="",
            )
        )
        details = {
            "item_id": item_id,
            "id": package.id,
            "referral_id": package.referral_id,
            "country": package.country,
            "recipient_role": package.recipient_role,
            "sent_to": package.sent_to,
            "at": moment.isoformat(),
        }
        audit("hotline.package_sent", details, conn)
    return recorded


class Takedown:
    """Referral, notices and re-checks of one store's items, and their timelines."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        policy: RoutingPolicy,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.policy = policy
        self.clock = clock
        self.partners = PartnerDirectory(db, audit, clock=clock)

    def item(self, item_id: int, *, conn: Connection | None = None) -> dict[str, Any]:
        """The hotline_items row (NotFoundError if there is none)."""
        if conn is not None:
            return _item(conn, item_id)
        with self.db.connect() as own:
            return _item(own, item_id)

    # --- routing ---------------------------------------------------------------------------

    def suggest(self, item_id: int) -> Routing:
        """Where the rules send the item (RoutingError when they cannot yet)."""
        with self.db.connect() as conn:
            item = _item(conn, item_id)
        return route(item["hosting_country"], self.policy, self.partners.all(active_only=True))

    def refer(
        self,
        actor: str,
        item_id: int,
        *,
        partner_id: int | None = None,
        at: datetime | None = None,
        note: str = "",
    ) -> Routing:
        """Refer the item as routed (or to ``partner_id``, the analyst's choice)."""
        note = _note(note)
        with self.db.begin(lock=True) as conn:
            item = _item(conn, item_id, for_update=True)
            _actionable(item, "referred")
            moment = self._moment(at, "referred_at")
            _not_before(moment, item["reported_at"], "referred_at", "the item was reported")
            _not_before(moment, item["assessed_at"], "referred_at", "the item was assessed")
            routing = self._routing(conn, item, partner_id)
            if routing.partner.id in _referred_to(conn, item_id):
                raise ConflictError(
                    f"item {item_id} is already referred to {routing.partner.name!r}",
                    code="already_referred",
                    field="partner_id",
                )
            self._event(conn, item_id, EventKind.REFERRED, moment, actor, note, routing=routing)
            values: dict[str, Any] = {"status": ItemStatus.REFERRED.value}
            if routing.notifies_law_enforcement and item["le_notified_at"] is None:
                values["le_notified_at"] = moment
            conn.execute(update(hotline_items).where(hotline_items.c.id == item_id).values(values))
            details = {
                "partner_id": routing.partner.id,
                "partner": routing.partner.name,
                "partner_kind": routing.partner.kind.value,
                "hosting_country": routing.hosting_country,
                "reason": routing.reason.value,
                "alternatives": [partner.id for partner in routing.alternatives],
                "at": moment.isoformat(),
            }
            self.audit.record(actor, "hotline.refer", f"item:{item_id}", details, conn=conn)
        return routing

    def _routing(
        self, conn: Connection, item: Mapping[str, Any], partner_id: int | None
    ) -> Routing:
        directory = self.partners.all(active_only=True)
        try:
            suggested = route(item["hosting_country"], self.policy, directory)
        except RoutingError as exc:
            if partner_id is None or exc.code == "hosting_unknown":
                raise
            # No rule fits (no partner, no fallback), but the analyst named one.
            partner = self.partners.get(partner_id, conn=conn)
            country = str(item["hosting_country"])
            return chosen(Routing(country, RouteReason.ANALYST_CHOICE, partner), partner)
        if partner_id is None:
            return suggested
        return chosen(suggested, self.partners.get(partner_id, conn=conn))

    # --- takedown --------------------------------------------------------------------------

    def notify_host(
        self, actor: str, item_id: int, *, at: datetime | None = None, note: str = ""
    ) -> int:
        """Record a notice to the hosting provider; the number of this notice (1, 2 ...)."""
        note = _note(note)
        with self.db.begin(lock=True) as conn:
            item = _item(conn, item_id, for_update=True)
            _actionable(item, "host_notified")
            moment = self._moment(at, "hp_notified_at")
            _not_before(moment, item["reported_at"], "hp_notified_at", "the item was reported")
            previous = _last(conn, item_id, EventKind.HOST_NOTIFIED)
            _not_before(moment, previous, "hp_notified_at", "the previous notice")
            notice = int(item["notice_count"]) + 1
            self._event(conn, item_id, EventKind.HOST_NOTIFIED, moment, actor, note, notice=notice)
            values: dict[str, Any] = {"notice_count": notice}
            if item["hp_notified_at"] is None:
                values["hp_notified_at"] = moment
            conn.execute(update(hotline_items).where(hotline_items.c.id == item_id).values(values))
            details = {"notice": notice, "at": moment.isoformat()}
            self.audit.record(actor, "hotline.host_notice", f"item:{item_id}", details, conn=conn)
        return notice

    def recheck(
        self,
        actor: str,
        item_id: int,
        *,
        online: bool,
        at: datetime | None = None,
        note: str = "",
    ) -> EventKind:
        """Record a re-check of the URL: still online, or removed (the item is then done)."""
        note = _note(note)
        field = "checked_at" if online else "removed_at"
        kind = EventKind.STILL_ONLINE if online else EventKind.REMOVED
        with self.db.begin(lock=True) as conn:
            item = _item(conn, item_id, for_update=True)
            _actionable(item, kind.value)
            moment = self._moment(at, field)
            _not_before(moment, item["reported_at"], field, "the item was reported")
            if not online:
                seen = _last(conn, item_id, EventKind.STILL_ONLINE)
                _not_before(moment, seen, field, "a re-check that found it still online")
            self._event(conn, item_id, kind, moment, actor, note)
            if not online:
                conn.execute(
                    update(hotline_items)
                    .where(hotline_items.c.id == item_id)
                    .values(status=ItemStatus.REMOVED.value, removed_at=moment)
                )
            details = {"online": online, "at": moment.isoformat()}
            self.audit.record(actor, "hotline.recheck", f"item:{item_id}", details, conn=conn)
        return kind

    # --- timelines -------------------------------------------------------------------------

    def item_timeline(self, item_id: int, *, conn: Connection | None = None) -> list[TimelineEvent]:
        if conn is not None:
            return _timeline(conn, [_item(conn, item_id)])
        with self.db.connect() as own:
            return _timeline(own, [_item(own, item_id)])

    def report_timeline(self, reference_text: str) -> list[TimelineEvent]:
        """Every event of every item a report named (a report's own "reported" among them)."""
        reference = parse_reference(reference_text)
        with self.db.connect() as conn:
            report_id = (
                conn.execute(
                    select(hotline_reports.c.id).where(hotline_reports.c.reference == reference)
                ).scalar_one_or_none()
                if reference
                else None
            )
            if report_id is None:
                raise NotFoundError("no report has this reference", code="unknown_reference")
            items = [
                dict(item)
                for item in conn.execute(
                    select(hotline_items)
                    .join(
                        hotline_item_reports, hotline_item_reports.c.item_id == hotline_items.c.id
                    )
                    .where(hotline_item_reports.c.report_id == report_id)
                    .order_by(hotline_items.c.id)
                ).mappings()
            ]
            return _timeline(conn, items)

    # --- helpers ---------------------------------------------------------------------------

    def _moment(self, at: datetime | None, field: str) -> datetime:
        now = self.clock()
        if at is None:
            return now
        moment = _utc(at)
        if moment > now:
            raise InputError(
                f"{field}: {moment.isoformat()} is in the future (now {now.isoformat()})",
                code="in_future",
                field=field,
            )
        return moment

    def _event(
        self,
        conn: Connection,
        item_id: int,
        kind: EventKind,
        moment: datetime,
        actor: str,
        note: str,
        *,
        routing: Routing | None = None,
        notice: int | None = None,
    ) -> None:
        conn.execute(
            insert(hotline_item_events).values(
                item_id=item_id,
                event=kind.value,
                occurred_at=moment,
                recorded_at=self.clock(),
                actor=actor,
                partner_id=routing.partner.id if routing else None,
                reason=routing.reason.value if routing else None,
                notice=notice,
                note=note,
            )
        )


def timeline_section(conn: Connection, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The item view's ``timeline``: the item's timeline, as the timeline route answers it."""
    return [event.to_dict() for event in _timeline(conn, [item])]


register_item_section("timeline", timeline_section)


def _item(conn: Connection, item_id: int, *, for_update: bool = False) -> Row:
    query = select(hotline_items).where(hotline_items.c.id == item_id)
    if for_update:  # PostgreSQL: two analysts acting at once take turns (SQLite: lock=True)
        query = query.with_for_update()
    row = conn.execute(query).mappings().one_or_none()
    if row is None:
        raise NotFoundError(f"no item {item_id}", code="unknown_item")
    return dict(row)


def _actionable(item: Mapping[str, Any], step: str) -> None:
    status = ItemStatus(item["status"])
    if status in ACTIONABLE:
        return
    if status == ItemStatus.REMOVED:
        when = _utc(item["removed_at"]).isoformat() if item["removed_at"] else "earlier"
        why = f"it was recorded as removed ({when})"
    else:
        why = f"it is {status.value}, not assessed illegal"
    raise ConflictError(
        f"item {item['id']} cannot be {step.replace('_', ' ')}: {why}",
        code="wrong_status",
        field="status",
    )


def _not_before(moment: datetime, earlier: datetime | None, field: str, what: str) -> None:
    if earlier is not None and moment < _utc(earlier):
        raise InputError(
            f"{field}: {moment.isoformat()} is before {what} ({_utc(earlier).isoformat()})",
            code="out_of_order",
            field=field,
        )


def _note(note: str) -> str:
    text = note.strip()
    if len(text) > HOTLINE_EVENT_MAX_NOTE:
        raise InputError(
            f"note: at most {HOTLINE_EVENT_MAX_NOTE} characters", code="too_long", field="note"
        )
    return text


def _last(conn: Connection, item_id: int, kind: EventKind) -> datetime | None:
    found = conn.execute(
        select(func.max(hotline_item_events.c.occurred_at)).where(
            hotline_item_events.c.item_id == item_id, hotline_item_events.c.event == kind.value
        )
    ).scalar_one_or_none()
    return None if found is None else _utc(found)


def _referred_to(conn: Connection, item_id: int) -> set[int]:
    rows = conn.execute(
        select(hotline_item_events.c.partner_id).where(
            hotline_item_events.c.item_id == item_id,
            hotline_item_events.c.event == EventKind.REFERRED.value,
        )
    ).scalars()
    return {int(partner) for partner in rows if partner is not None}


def _timeline(conn: Connection, items: list[Row]) -> list[TimelineEvent]:
    """The items' events in time order (same moment: by step, then item, then entry)."""
    urls = {int(item["id"]): str(item["url"]) for item in items}
    events = _reported(conn, urls) + _assessed(conn, items) + _recorded(conn, urls)
    events.sort(
        key=lambda pair: (pair[0].occurred_at, ORDER[pair[0].event], pair[0].item_id, pair[1])
    )
    return [event for event, _ in events]


def _reported(conn: Connection, urls: dict[int, str]) -> list[tuple[TimelineEvent, int]]:
    rows = conn.execute(
        select(
            hotline_item_reports.c.item_id,
            hotline_item_reports.c.reported_at,
            hotline_reports.c.reference,
        )
        .join(hotline_reports, hotline_reports.c.id == hotline_item_reports.c.report_id)
        .where(hotline_item_reports.c.item_id.in_(urls))
    )
    return [
        (
            TimelineEvent(
                int(row.item_id),
                urls[int(row.item_id)],
                EventKind.REPORTED,
                _utc(row.reported_at),
                None,
                reference=str(row.reference),
            ),
            0,
        )
        for row in rows
    ]


def _assessed(conn: Connection, items: list[Row]) -> list[tuple[TimelineEvent, int]]:
    assessed = [item for item in items if item["assessed_at"] is not None]
    by = assessed_by(conn, [int(item["id"]) for item in assessed])
    events = []
    for item in assessed:
        # None where no classification record took effect (assessed before they existed)
        made = by.get(int(item["id"]))
        review = made.review if made is not None else None
        known = None
        if made is not None and made.source == KNOWN:
            known = {"list": made.known_list, "entry_id": made.known_entry_id}
        event = TimelineEvent(
            int(item["id"]),
            str(item["url"]),
            EventKind.ASSESSED,
            _utc(item["assessed_at"]),
            made.by if made is not None else None,
            confirmed_by=review.by if review is not None and review.verdict == CONFIRMED else None,
            known=known,
        )
        events.append((event, 0))
    return events


def _recorded(conn: Connection, urls: dict[int, str]) -> list[tuple[TimelineEvent, int]]:
    rows = conn.execute(
        select(
            hotline_item_events,
            hotline_partners.c.name,
            hotline_partners.c.country,
            hotline_partners.c.kind,
            referrals.c.uid.label("referral_uid"),
            referrals.c.country.label("referral_country"),
            referrals.c.recipient_role,
            referrals.c.sent_to,
        )
        .outerjoin(hotline_partners, hotline_partners.c.id == hotline_item_events.c.partner_id)
        .outerjoin(referrals, referrals.c.id == hotline_item_events.c.referral_id)
        .where(hotline_item_events.c.item_id.in_(urls))
    ).mappings()
    return [(_event_of(dict(row), urls), int(row["id"])) for row in rows]


def _event_of(row: Row, urls: dict[int, str]) -> TimelineEvent:
    partner = None
    if row["partner_id"] is not None:
        partner = {
            "id": int(row["partner_id"]),
            "name": str(row["name"]),
            "country": str(row["country"]),
            "kind": PartnerKind(row["kind"]).value,
        }
    package = None
    if row["referral_id"] is not None:
        package = {
            "id": int(row["referral_id"]),
            "referral_id": str(row["referral_uid"]),
            "country": str(row["referral_country"]),
            "recipient_role": str(row["recipient_role"]),
            "sent_to": str(row["sent_to"]),
        }
    return TimelineEvent(
        item_id=int(row["item_id"]),
        url=urls[int(row["item_id"])],
        event=EventKind(row["event"]),
        occurred_at=_utc(row["occurred_at"]),
        actor=str(row["actor"]),
        recorded_at=_utc(row["recorded_at"]),
        partner=partner,
        reason=row["reason"],
        notice=row["notice"],
        note=str(row["note"]),
        package=package,
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
