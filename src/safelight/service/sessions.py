"""Browser sessions: a random id in a Secure, HttpOnly, SameSite=Strict cookie, stored as
its SHA-256, with a synchronizer CSRF token that unsafe requests must echo in a header.

The CSRF token is returned by login (and by ``GET /api/v1/me``) and sent in a readable
cookie as well, so a page script can copy it into ``X-CSRF-Token``; a cross-site page can
neither read it nor set the header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from safelight.service.audit import utc_now
from safelight.service.users import User, user_from_row
from safelight.store import Database
from safelight.store.service_tables import service_sessions, service_users

SESSION_COOKIE = "safelight_session"
CSRF_COOKIE = "safelight_csrf"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)


class SessionStore:
    def __init__(
        self,
        db: Database,
        *,
        lifetime: timedelta = timedelta(hours=8),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.lifetime = lifetime
        self.clock = clock

    def create(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``: its id (for the cookie, never stored) and record."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        session = Session(user, secrets.token_urlsafe(32), now + self.lifetime)
        with self.db.begin(lock=True) as conn:
            conn.execute(service_sessions.delete().where(service_sessions.c.expires_at <= now))
            conn.execute(
                service_sessions.insert().values(
                    id_sha256=_digest(session_id),
                    user_id=user.id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return session_id, session

    def resolve(self, session_id: str) -> Session | None:
        """The live session of this id whose user is still enabled, else None."""
        query = (
            select(
                service_users,
                service_sessions.c.csrf_token,
                service_sessions.c.expires_at.label("session_expires_at"),
            )
            .join(service_users, service_users.c.id == service_sessions.c.user_id)
            .where(service_sessions.c.id_sha256 == _digest(session_id))
        )
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.session_expires_at <= self.clock() or row.disabled:
            return None
        return Session(user_from_row(row), row.csrf_token, row.session_expires_at)

    def end(self, session_id: str) -> None:
        with self.db.begin(lock=True) as conn:
            conn.execute(
                delete(service_sessions).where(service_sessions.c.id_sha256 == _digest(session_id))
            )

    def end_all(self, user: User) -> None:
        """Sign a user out everywhere (on disable or a role change)."""
        with self.db.begin(lock=True) as conn:
            conn.execute(delete(service_sessions).where(service_sessions.c.user_id == user.id))
