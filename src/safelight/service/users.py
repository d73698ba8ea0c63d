"""Service users: argon2-hashed passwords, roles, lockout after repeated failed logins.

Every change is written to the audit trail in the same transaction as the change itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.exc import IntegrityError

from safelight.constants import MIN_PASSWORD_LENGTH
from safelight.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    StoreError,
)
from safelight.service.audit import AuditLog, utc_now
from safelight.service.roles import Role
from safelight.store import Database
from safelight.store.service_tables import service_users

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")
BAD_LOGIN = "wrong username or password, or the account is disabled or locked"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    roles: frozenset[Role]
    disabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "roles": sorted(role.value for role in self.roles),
            "disabled": self.disabled,
            "failed_logins": self.failed_logins,
            "locked_until": None if self.locked_until is None else self.locked_until.isoformat(),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Lockout:
    """``threshold`` failed logins in a row lock an account for ``duration``."""

    threshold: int = 5
    duration: timedelta = timedelta(minutes=15)


class UserStore:
    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog | None = None,
        hasher: PasswordHasher | None = None,
        lockout: Lockout | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.audit = audit or AuditLog(db, clock=clock)
        self.hasher = hasher or PasswordHasher()
        self.lockout = lockout or Lockout()
        self.clock = clock

    def add(self, username: str, password: str, roles: frozenset[Role], *, by: str) -> User:
        if not USERNAME.match(username):
            raise InputError(
                f"user name {username!r} must be 1-150 letters, digits or . _ @ - "
                "(starting with a letter or digit)",
                field="username",
            )
        check_password(password)
        now = self.clock()
        values = {
            "username": username,
            "password_hash": self.hasher.hash(password),
            "roles": _roles_json(roles),
            "disabled": False,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self.db.begin(lock=True) as conn:
                conn.execute(service_users.insert().values(**values))
                self.audit.record(by, "user.add", username, {"roles": _names(roles)}, conn=conn)
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # the name is taken (maybe just now)
                raise ConflictError(f"user {username!r} already exists", field="username") from None
            raise
        return self.get(username)

    def get(self, username: str) -> User:
        with self.db.connect() as conn:
            return self._get(conn, username)

    def list(self) -> list[User]:
        with self.db.connect() as conn:
            rows = conn.execute(select(service_users).order_by(service_users.c.username))
            return [user_from_row(row) for row in rows]

    def count(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(service_users)).scalar_one())

    def set_disabled(self, username: str, disabled: bool, *, by: str) -> User:
        action = "user.disable" if disabled else "user.enable"
        with self.db.begin(lock=True) as conn:
            self._get(conn, username)
            values: dict[str, Any] = {"disabled": disabled, "updated_at": self.clock()}
            if not disabled:
                values.update(failed_logins=0, locked_until=None)
            self._update(conn, username, values)
            self.audit.record(by, action, username, conn=conn)
        return self.get(username)

    def set_roles(self, username: str, roles: frozenset[Role], *, by: str) -> User:
        with self.db.begin(lock=True) as conn:
            before = self._get(conn, username).roles
            self._update(conn, username, {"roles": _roles_json(roles), "updated_at": self.clock()})
            details = {"from": _names(before), "to": _names(roles)}
            self.audit.record(by, "user.roles", username, details, conn=conn)
        return self.get(username)

    def set_password(self, username: str, password: str, *, by: str) -> User:
        """A new password for ``username``; a lock from failed logins is lifted with it."""
        check_password(password)
        with self.db.begin(lock=True) as conn:
            self._get(conn, username)
            values = {
                "password_hash": self.hasher.hash(password),
                "failed_logins": 0,
                "locked_until": None,
                "updated_at": self.clock(),
            }
            self._update(conn, username, values)
            self.audit.record(by, "user.password", username, conn=conn)
        return self.get(username)

    def authenticate(self, username: str, password: str, *, client: str = "") -> User:
        """The user, if the password is right and the account enabled and not locked; else
        AuthenticationError with one message whatever the reason (no account enumeration).
        Every attempt is audited; failures count towards the lockout."""
        now = self.clock()
        actor = f"user:{username[:150]}"  # the name is the caller's: keep it to the column
        with self.db.connect() as conn:  # the slow hash check runs outside any lock
            row = conn.execute(
                select(service_users).where(service_users.c.username == username)
            ).first()
        user = None if row is None else user_from_row(row)
        reason = self._refusal(user, row, password, now)
        details = {"client": client}
        with self.db.begin(lock=True) as conn:
            if reason is None:
                assert user is not None and row is not None
                self._update(conn, username, self._after_success(row, password))
                self.audit.record(actor, "login.ok", username, details, conn=conn)
                return user
            if user is not None and reason == "wrong_password":
                locked = self._count_failure(conn, user, now)
                reason = "locked_now" if locked else reason
            details["reason"] = reason
            self.audit.record(actor, "login.failed", username[:150], details, conn=conn)
        raise AuthenticationError(BAD_LOGIN, code="invalid_credentials")

    def _refusal(
        self, user: User | None, row: Row[Any] | None, password: str, now: datetime
    ) -> str | None:
        if user is None or row is None:
            self._burn(password)  # the same time for an unknown name as for a wrong password
            return "unknown_user"
        if user.disabled:
            return "disabled"
        if user.locked_until is not None and now < user.locked_until:
            return "locked"
        try:
            self.hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return "wrong_password"
        return None

    def _after_success(self, row: Row[Any], password: str) -> dict[str, Any]:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if self.hasher.check_needs_rehash(row.password_hash):
            values["password_hash"] = self.hasher.hash(password)
        return values

    def _count_failure(self, conn: Connection, user: User, now: datetime) -> bool:
        """One more failure, counted in the database (concurrent failures all count)."""
        where = service_users.c.id == user.id
        conn.execute(
            update(service_users)
            .where(where)
            .values(failed_logins=service_users.c.failed_logins + 1)
        )
        failures = conn.execute(select(service_users.c.failed_logins).where(where)).scalar_one()
        if failures < self.lockout.threshold:
            return False
        until = now + self.lockout.duration
        conn.execute(update(service_users).where(where).values(failed_logins=0, locked_until=until))
        self.audit.record(
            "service", "user.locked", user.username, {"until": until.isoformat()}, conn=conn
        )
        return True

    def _burn(self, password: str) -> None:
        try:
            self.hasher.verify(
                _DUMMY_HASHES.setdefault(id(self.hasher), self.hasher.hash("x")), password
            )
        except VerificationError:
            pass

    def _get(self, conn: Connection, username: str) -> User:
        row = conn.execute(
            select(service_users).where(service_users.c.username == username)
        ).first()
        if row is None:
            raise NotFoundError(f"user {username!r} does not exist", field="username")
        return user_from_row(row)

    def _update(self, conn: Connection, username: str, values: dict[str, Any]) -> None:
        conn.execute(
            update(service_users).where(service_users.c.username == username).values(**values)
        )


_DUMMY_HASHES: dict[int, str] = {}


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
        )


def _names(roles: frozenset[Role]) -> list[str]:
    return sorted(role.value for role in roles)


def _roles_json(roles: frozenset[Role]) -> str:
    return json.dumps(_names(roles))


def user_from_row(row: Row[Any]) -> User:
    return User(
        id=int(row.id),
        username=str(row.username),
        roles=frozenset(Role(name) for name in json.loads(row.roles)),
        disabled=bool(row.disabled),
        failed_logins=int(row.failed_logins),
        locked_until=row.locked_until,
        created_at=row.created_at,
    )
