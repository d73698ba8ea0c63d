"""Reviewer wellness: reveals, viewing time, the daily limit and break reminders.

Captures are shown blurred (``hotline.media_render``); seeing one as it is takes a *reveal*,
which opens a viewing: from the reveal until "blur again", the viewer's next reveal, or the
cap (``reveal_minutes``, and never past the day's remaining time), whichever comes first.
Only a viewing that is open serves the original. Viewing time is the union of a viewer's
viewings, counted per local day in their time zone (``hotline.viewing_time``).

- Daily limit: once today's viewing reaches the limit in force, reveals are refused
  (PermissionDeniedError ``daily_limit``) until the viewer's midnight.
- Known material (``hotline.known.needs_viewing`` false) is never revealed
  (``no_viewing_needed``).
- Break reminder: ``break_due`` once the viewing since the last break of ``break_minutes``
  reaches ``break_after_minutes``; pages show a banner until such a break is taken.

Every reveal, refusal and "blur again" is audited with who, when and which capture.
Reveals of one viewer are serialised (their settings row is locked), so two tabs cannot
both pass the limit check at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from safelight.errors import ConflictError, PermissionDeniedError, SafelightError
from safelight.hotline.media import Capture
from safelight.hotline.viewing_time import Interval, day_bounds, since_break, total_within
from safelight.hotline.wellness_settings import (
    ViewerSettings,
    WellnessDefaults,
    checked_admin_limit,
    checked_changes,
    effective,
)
from safelight.store import Database
from safelight.store.hotline_media_tables import hotline_viewings, hotline_wellness

if TYPE_CHECKING:  # the service imports the hotline, never the reverse at run time
    from safelight.service.audit import AuditLog

LOOK_BACK = timedelta(hours=26)  # a day (DST: 25 h) plus the longest viewing


@dataclass(frozen=True)
class Viewing:
    id: int
    viewer: str
    capture_id: int | None
    item_id: int
    opened_at: datetime
    ends_at: datetime
    closed_at: datetime | None
    closed_by: str | None

    def end(self, now: datetime) -> datetime:
        """When it stopped counting (or ``now`` while it goes on)."""
        return self.closed_at if self.closed_at is not None else min(self.ends_at, now)

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and self.ends_at > now

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "capture_id": self.capture_id,
            "item_id": self.item_id,
            "opened_at": self.opened_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "closed_by": self.closed_by,
        }


@dataclass(frozen=True)
class WellnessStatus:
    """Where a viewer stands today."""

    settings: ViewerSettings
    now: datetime
    day_start: datetime
    day_end: datetime
    viewed: timedelta
    since_break: timedelta
    last_viewing_end: datetime | None  # None while viewing (or nothing viewed lately)
    open_viewing: Viewing | None

    @property
    def limit(self) -> timedelta:
        return timedelta(minutes=self.settings.daily_limit_minutes)

    @property
    def remaining(self) -> timedelta:
        return max(self.limit - self.viewed, timedelta())

    @property
    def limit_reached(self) -> bool:
        return self.remaining <= timedelta()

    @property
    def break_due(self) -> bool:
        return self.since_break >= timedelta(minutes=self.settings.break_after_minutes)

    @property
    def break_until(self) -> datetime | None:
        """When the break due will have been long enough (None: none due, or viewing)."""
        if not self.break_due or self.last_viewing_end is None:
            return None
        return self.last_viewing_end + timedelta(minutes=self.settings.break_minutes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "viewer": self.settings.viewer,
            "now": self.now.isoformat(),
            "day_start": self.day_start.isoformat(),
            "day_end": self.day_end.isoformat(),
            "viewed_seconds": round(self.viewed.total_seconds()),
            "limit_minutes": self.settings.daily_limit_minutes,
            "remaining_seconds": round(self.remaining.total_seconds()),
            "limit_reached": self.limit_reached,
            "since_break_seconds": round(self.since_break.total_seconds()),
            "break_due": self.break_due,
            "break_until": self.break_until.isoformat() if self.break_until else None,
            "open_viewing": self.open_viewing.to_dict() if self.open_viewing else None,
            "settings": self.settings.to_dict(),
        }


class WellnessStore:
    """Viewings and wellness settings in the store."""

    def __init__(
        self,
        db: Database,
        defaults: WellnessDefaults,
        *,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.defaults = defaults
        self.audit = audit
        self.clock = clock

    # --- settings ------------------------------------------------------------------------

    def settings(self, viewer: str, *, conn: Connection | None = None) -> ViewerSettings:
        if conn is None:
            with self.db.connect() as own:
                return self.settings(viewer, conn=own)
        row = conn.execute(
            select(hotline_wellness).where(hotline_wellness.c.viewer == viewer)
        ).first()
        return effective(viewer, dict(row._mapping) if row else None, self.defaults)

    def update_own(self, viewer: str, changes: dict[str, Any], *, by: str) -> ViewerSettings:
        """Change ``viewer``'s own settings (None resets one); audited."""
        with self.db.begin(lock=True) as conn:
            current = self._locked_settings(conn, viewer, by)
            values = checked_changes(changes, current, self.defaults)
            self._write(conn, viewer, values, by)
            self.audit.record(by, "wellness.settings", viewer, values, conn=conn)
        return self.settings(viewer)

    def set_admin_limit(self, viewer: str, minutes: Any, *, by: str) -> ViewerSettings:
        """An admin's daily limit for ``viewer`` (None: the organisation's); audited."""
        value = checked_admin_limit(minutes)
        with self.db.begin(lock=True) as conn:
            self._locked_settings(conn, viewer, by)
            self._write(conn, viewer, {"admin_limit_minutes": value}, by)
            details = {"admin_limit_minutes": value}
            self.audit.record(by, "wellness.admin_limit", viewer, details, conn=conn)
        return self.settings(viewer)

    def _write(self, conn: Connection, viewer: str, values: dict[str, Any], by: str) -> None:
        conn.execute(
            update(hotline_wellness)
            .where(hotline_wellness.c.viewer == viewer)
            .values(**values, updated_at=self.clock(), updated_by=by)
        )

    def _locked_settings(self, conn: Connection, viewer: str, by: str) -> ViewerSettings:
        """The viewer's settings, their row created if need be and locked (PostgreSQL:
        FOR UPDATE; SQLite: the caller's BEGIN IMMEDIATE) until the transaction ends."""
        query = select(hotline_wellness).where(hotline_wellness.c.viewer == viewer)
        row = conn.execute(query.with_for_update()).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(hotline_wellness).values(
                            viewer=viewer, updated_at=self.clock(), updated_by=by
                        )
                    )
            except IntegrityError:  # another transaction created it first
                pass
            row = conn.execute(query.with_for_update()).one()
        return effective(viewer, dict(row._mapping), self.defaults)

    # --- viewing time --------------------------------------------------------------------

    def status(self, viewer: str) -> WellnessStatus:
        with self.db.connect() as conn:
            return self._status(conn, viewer, self.settings(viewer, conn=conn), self.clock())

    def _status(
        self, conn: Connection, viewer: str, settings: ViewerSettings, now: datetime
    ) -> WellnessStatus:
        start, end = day_bounds(now, settings.time_zone)
        viewings = self._viewings(conn, viewer, min(start, now - LOOK_BACK))
        intervals = [Interval(v.opened_at, v.end(now)) for v in viewings]
        viewed = total_within(intervals, start, end)
        streak, last_end = since_break(intervals, now, timedelta(minutes=settings.break_minutes))
        current = next((v for v in reversed(viewings) if v.is_open(now)), None)
        return WellnessStatus(settings, now, start, end, viewed, streak, last_end, current)

    def _viewings(self, conn: Connection, viewer: str, since: datetime) -> list[Viewing]:
        rows = conn.execute(
            select(hotline_viewings)
            .where(hotline_viewings.c.viewer == viewer, hotline_viewings.c.opened_at >= since)
            .order_by(hotline_viewings.c.opened_at, hotline_viewings.c.id)
        )
        return [Viewing(**dict(row._mapping)) for row in rows]

    def open_viewing(self, viewer: str, capture_id: int) -> Viewing | None:
        """The viewer's viewing of this capture if it is open now (it serves the original)."""
        now = self.clock()
        with self.db.connect() as conn:
            rows = conn.execute(
                select(hotline_viewings).where(
                    hotline_viewings.c.viewer == viewer,
                    hotline_viewings.c.capture_id == capture_id,
                    hotline_viewings.c.closed_at.is_(None),
                    hotline_viewings.c.ends_at > now,
                )
            )
            found = [Viewing(**dict(row._mapping)) for row in rows]
        return found[-1] if found else None

    # --- reveal and blur again -----------------------------------------------------------

    def reveal(self, viewer: str, capture: Capture, *, needed: bool) -> Viewing:
        """Open a viewing of ``capture`` for ``viewer``, or refuse (audited either way)."""
        target = f"capture:{capture.id}"
        with self.db.begin(lock=True) as conn:
            settings = self._locked_settings(conn, viewer, viewer)
            now = self.clock()
            status = self._status(conn, viewer, settings, now)
            refusal = _refusal(status, needed)
            if refusal is not None:
                details = {"item": capture.item_id, "reason": refusal.code}
                details["viewed_seconds"] = round(status.viewed.total_seconds())
                self.audit.record(
                    viewer, "hotline.capture.reveal_refused", target, details, conn=conn
                )
            else:
                viewing = self._open(conn, viewer, capture, now, status)
        if refusal is not None:
            raise refusal
        return viewing

    def _open(
        self,
        conn: Connection,
        viewer: str,
        capture: Capture,
        now: datetime,
        status: WellnessStatus,
    ) -> Viewing:
        self._close(conn, viewer, now, "next_reveal")
        length = min(timedelta(minutes=status.settings.reveal_minutes), status.remaining)
        values: dict[str, Any] = {
            "viewer": viewer,
            "capture_id": capture.id,
            "item_id": capture.item_id,
            "opened_at": now,
            "ends_at": now + length,
        }
        viewing_id = conn.execute(
            insert(hotline_viewings).returning(hotline_viewings.c.id), values
        ).scalar_one()
        details = {
            "item": capture.item_id,
            "viewing": viewing_id,
            "ends_at": values["ends_at"].isoformat(),
            "viewed_seconds": round(status.viewed.total_seconds()),
        }
        self.audit.record(
            viewer, "hotline.capture.reveal", f"capture:{capture.id}", details, conn=conn
        )
        return Viewing(
            viewing_id, viewer, capture.id, capture.item_id, now, now + length, None, None
        )

    def blur(self, viewer: str, capture: Capture) -> int:
        """ "Blur again": end the viewer's open viewing of ``capture``; audited. The number
        of viewings ended (0 when none was open: nothing to record)."""
        with self.db.begin(lock=True) as conn:
            now = self.clock()
            ended = self._close(conn, viewer, now, "blur", capture.id)
            if ended:
                details = {"item": capture.item_id, "viewings": ended}
                self.audit.record(
                    viewer, "hotline.capture.blur", f"capture:{capture.id}", details, conn=conn
                )
        return len(ended)

    @staticmethod
    def _close(
        conn: Connection, viewer: str, now: datetime, why: str, capture_id: int | None = None
    ) -> list[int]:
        open_now = and_(
            hotline_viewings.c.viewer == viewer,
            hotline_viewings.c.closed_at.is_(None),
            hotline_viewings.c.ends_at > now,
        )
        if capture_id is not None:
            open_now = and_(open_now, hotline_viewings.c.capture_id == capture_id)
        ids = [row.id for row in conn.execute(select(hotline_viewings.c.id).where(open_now))]
        if ids:
            conn.execute(
                update(hotline_viewings)
                .where(hotline_viewings.c.id.in_(ids))
                .values(closed_at=now, closed_by=why)
            )
        return ids


def _refusal(status: WellnessStatus, needed: bool) -> SafelightError | None:
    if not needed:
        return ConflictError(
            "this item's material is already known and classified: it needs no viewing",
            code="no_viewing_needed",
        )
    if status.limit_reached:
        minutes = status.settings.daily_limit_minutes
        return PermissionDeniedError(
            f"you have reached today's viewing limit of {minutes} minutes; reveals are "
            f"refused until midnight ({status.settings.time_zone}). Please take a rest from "
            "viewing.",
            code="daily_limit",
        )
    return None


__all__ = ["Viewing", "WellnessStatus", "WellnessStore"]
