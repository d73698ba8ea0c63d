"""The analyst's desk: the queue, who holds which item, and where each item is hosted.

An item is held by at most one analyst (``assignee``, since ``claimed_at``):

- ``claim``: take an unheld item (or one already yours: nothing changes). An item held by
  someone else is a ConflictError (``held_by_other``) naming the holder: only an admin
  reassigns it (``assign``). A claimed item still ``received`` moves to ``in_review``; an
  item never located is located right after the claim (DNS only, see ``resolver``).
- ``assign``: give an item to an analyst (an enabled user with the analyst role). Its
  holder may hand it on and anyone may assign an unheld one; taking an item from its holder
  is for admins.
- ``release``: its holder, or an admin, puts it back in the queue unheld (status kept).
- ``resolve``: locate the item's host again; the latest successful answer is kept on the
  item, every attempt (failures too) in ``hotline_resolutions``.

Each change is written with its audit entry in one transaction (``hotline.claim``,
``hotline.assign``, ``hotline.release``, ``hotline.resolve``; target ``hotline_item:<id>``).
The conditional updates (``WHERE assignee IS NULL`` / the holder seen) make two analysts
claiming at once end with one holder and one clear conflict, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, insert, select, update

from safelight.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from safelight.hotline.item_view import ItemView, item_view
from safelight.hotline.model import ItemStatus, item_target, utc
from safelight.hotline.queue import QueuePage, QueueQuery, list_items
from safelight.hotline.resolver import HostResolver, Resolution
from safelight.store import Database
from safelight.store.hotline_queue_tables import hotline_resolutions
from safelight.store.hotline_tables import hotline_items
from safelight.store.service_tables import service_users

if TYPE_CHECKING:  # the service imports the hotline, never the reverse at run time
    from safelight.service.roles import Principal

ADMIN, ANALYST = "admin", "analyst"  # role names (safelight.service.roles.Role)


class AuditTrail(Protocol):
    """What the desk needs of the audit log (``safelight.service.audit.AuditLog``)."""

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        details: Mapping[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> Any: ...


class AnalystDesk:
    """``resolver`` is called at each resolve for the resolver to use (so one set on the
    service's extensions, as tests do, takes effect at once)."""

    def __init__(
        self,
        db: Database,
        *,
        audit: AuditTrail,
        resolver: Callable[[], HostResolver],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.resolver = resolver
        self.clock = clock

    # --- reading ----------------------------------------------------------------------------

    def queue(self, query: QueueQuery, *, me: str) -> QueuePage:
        with self.db.connect() as conn:
            return list_items(conn, query, me=me, now=self.clock())

    def item(self, item_id: int) -> dict[str, Any]:
        with self.db.connect() as conn:
            return _item(conn, item_id)

    def view(self, item_id: int) -> ItemView:
        with self.db.connect() as conn:
            return item_view(conn, item_id)

    # --- holding ----------------------------------------------------------------------------

    def claim(self, item_id: int, by: Principal) -> dict[str, Any]:
        _must_be_person(by)
        with self.db.begin(lock=True) as conn:
            item = _item(conn, item_id)
            holder = item["assignee"]
            if holder == by.name:
                return item
            if holder is not None:
                raise _held(item, "an admin can reassign it")
            self._hold(conn, item, by.name, by, "hotline.claim")
        if item["resolved_at"] is None and not self._ever_resolved(item_id):
            self.resolve(item_id, by)  # the analyst will want to know where it is
        return self.item(item_id)

    def assign(self, item_id: int, to: str, by: Principal) -> dict[str, Any]:
        _must_be_person(by)
        with self.db.begin(lock=True) as conn:
            _must_be_analyst(conn, to)
            item = _item(conn, item_id)
            holder = item["assignee"]
            if holder == to:
                return item
            if holder not in (None, by.name) and ADMIN not in by.roles:
                raise _held(item, "only its holder or an admin can give it to someone else")
            self._hold(conn, item, to, by, "hotline.assign")
        return self.item(item_id)

    def release(self, item_id: int, by: Principal) -> dict[str, Any]:
        _must_be_person(by)
        with self.db.begin(lock=True) as conn:
            item = _item(conn, item_id)
            holder = item["assignee"]
            if holder is None:
                return item
            if holder != by.name and ADMIN not in by.roles:
                raise _held(item, "only its holder or an admin can release it")
            changed = conn.execute(
                update(hotline_items)
                .where(hotline_items.c.id == item_id, hotline_items.c.assignee == holder)
                .values(assignee=None, claimed_at=None)
            ).rowcount
            if changed != 1:
                raise _changed(item_id)
            self.audit.record(
                by.actor, "hotline.release", item_target(item_id), {"previous": holder}, conn=conn
            )
        return self.item(item_id)

    def _hold(
        self, conn: Connection, item: dict[str, Any], to: str, by: Principal, action: str
    ) -> None:
        holder = item["assignee"]
        status = ItemStatus(item["status"])
        if status == ItemStatus.RECEIVED:
            status = ItemStatus.IN_REVIEW
        seen = (
            hotline_items.c.assignee.is_(None)
            if holder is None
            else hotline_items.c.assignee == holder
        )
        changed = conn.execute(
            update(hotline_items)
            .where(hotline_items.c.id == item["id"], seen)
            .values(assignee=to, claimed_at=self.clock(), status=status.value)
        ).rowcount
        if changed != 1:
            raise _changed(item["id"])
        details = {"assignee": to, "previous": holder, "status": status.value}
        self.audit.record(by.actor, action, item_target(item["id"]), details, conn=conn)

    # --- where it is hosted -----------------------------------------------------------------

    def resolve(self, item_id: int, by: Principal) -> Resolution:
        """Locate the item's host now (DNS and the offline geolocation database only; the
        reported content is never fetched). A failed lookup is recorded, not raised."""
        host = self.item(item_id)["host"]
        found = self.resolver().resolve(host)
        with self.db.begin() as conn:
            _item(conn, item_id)
            conn.execute(insert(hotline_resolutions).values(**_attempt(item_id, found, by)))
            if found.ok:
                conn.execute(
                    update(hotline_items)
                    .where(hotline_items.c.id == item_id)
                    .values(
                        hosting_ip=found.primary.ip if found.primary else None,
                        hosting_country=found.country,
                        hosting_asn=_fits_item(found.asn),
                        hosting_network=found.network,
                        resolved_at=found.resolved_at,
                    )
                )
            details = {
                "host": host,
                "outcome": found.outcome.value,
                "ips": list(found.ips),
                "country": found.country,
                "asn": found.asn,
            }
            self.audit.record(by.actor, "hotline.resolve", item_target(item_id), details, conn=conn)
        return found

    def _ever_resolved(self, item_id: int) -> bool:
        with self.db.connect() as conn:
            return (
                conn.execute(
                    select(hotline_resolutions.c.id)
                    .where(hotline_resolutions.c.item_id == item_id)
                    .limit(1)
                ).first()
                is not None
            )


def _fits_item(asn: int | None) -> int | None:
    """``hotline_items.hosting_asn`` is a 32-bit signed column: an AS number above 2^31 - 1
    (private use, RFC 6996) is kept in ``hotline_resolutions`` only."""
    return asn if asn is not None and asn < 2**31 else None


def _attempt(item_id: int, found: Resolution, by: Principal) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "host": found.host,
        "resolved_at": found.resolved_at,
        "outcome": found.outcome.value,
        "addresses": json.dumps([address.to_dict() for address in found.addresses]),
        "country": found.country,
        "asn": found.asn,
        "network": found.network,
        "message": found.message,
        "source": found.source,
        "actor": by.actor,
    }


def _item(conn: Connection, item_id: int) -> dict[str, Any]:
    row = (
        conn.execute(select(hotline_items).where(hotline_items.c.id == item_id))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFoundError(f"hotline item {item_id} does not exist", code="unknown_item")
    return dict(row)


def _must_be_analyst(conn: Connection, username: str) -> None:
    user = conn.execute(
        select(service_users.c.roles, service_users.c.disabled).where(
            service_users.c.username == username
        )
    ).first()
    if user is None:
        raise InputError(f"user {username!r} does not exist", field="assignee")
    if user.disabled or ANALYST not in json.loads(user.roles):
        raise InputError(
            f"user {username!r} is not an enabled analyst: items go to analysts",
            field="assignee",
        )


def _must_be_person(by: Principal) -> None:
    if by.kind != "user":
        raise PermissionDeniedError(
            "items are held by people: sign in as an analyst (API tokens cannot hold items)"
        )


def _held(item: dict[str, Any], rule: str) -> ConflictError:
    since = "" if item["claimed_at"] is None else f" since {utc(item['claimed_at']).isoformat()}"
    return ConflictError(
        f"hotline item {item['id']} is held by {item['assignee']}{since}: {rule}",
        code="held_by_other",
    )


def _changed(item_id: int) -> ConflictError:
    return ConflictError(
        f"hotline item {item_id} changed hands at this moment: reload it and try again",
        code="held_by_other",
    )
