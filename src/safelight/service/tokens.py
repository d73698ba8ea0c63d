"""API tokens for machines: shown once, stored hashed, scoped to roles and lists, expiring,
revocable.

A token is ``sl_`` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: with that much entropy a fast hash is enough (nothing to guess), and a lookup by
digest is one indexed query. Revocation, expiry and use are written to the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, or_, select, update
from sqlalchemy.exc import IntegrityError

from safelight.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    StoreError,
)
from safelight.lists.store import HashListStore
from safelight.service.audit import AuditLog, utc_now
from safelight.service.roles import Principal, Role
from safelight.store import Database
from safelight.store.service_tables import service_tokens

TOKEN_PREFIX = "sl_"
TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,149}$")
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Token:
    id: int
    name: str
    prefix: str
    roles: frozenset[Role]
    lists: frozenset[str] | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def is_active(self, now: datetime) -> bool:
        expired = self.expires_at is not None and now >= self.expires_at
        return self.revoked_at is None and not expired

    def principal(self) -> Principal:
        return Principal("token", self.name, self.roles, self.lists)

    def to_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "name": self.name,
            "prefix": self.prefix,
            "roles": sorted(role.value for role in self.roles),
            "lists": None if self.lists is None else sorted(self.lists),
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
        }


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_expiry(text: str, now: datetime) -> datetime:
    """``30d``, ``12h``, ``90m``, ``2w`` from now, or an ISO date or time (UTC if no zone)."""
    value = text.strip()
    found = _DURATION.match(value.lower())
    if found:
        return now + timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"expiry {text!r} is neither a duration (30d, 12h, 90m, 2w) nor an ISO date",
            field="expires",
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise InputError(f"expiry {text!r} is in the past", field="expires")
    return moment.astimezone(UTC)


class TokenStore:
    def __init__(
        self,
        db: Database,
        *,
        audit: AuditLog | None = None,
        clock: Callable[[], datetime] = utc_now,
        use_audit_interval: timedelta = timedelta(hours=1),
    ) -> None:
        self.db = db
        self.audit = audit or AuditLog(db, clock=clock)
        self.clock = clock
        # A token's use is audited on first use and then at most once per interval: a
        # lookup client calls thousands of times a second (lookups audit themselves).
        self.use_audit_interval = use_audit_interval

    def create(
        self,
        name: str,
        roles: frozenset[Role],
        *,
        by: str,
        lists: Iterable[str] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[Token, str]:
        """A new token and its secret; the secret is never stored or shown again."""
        if not TOKEN_NAME.match(name):
            raise InputError(
                f"token name {name!r} must be 1-150 letters, digits or . _ -", field="name"
            )
        scope = None if lists is None else frozenset(lists)
        if scope is not None:
            store = HashListStore(self.db)
            for list_name in sorted(scope):
                store.get(list_name)  # NotFoundError for a list that does not exist
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        values = {
            "name": name,
            "secret_sha256": secret_digest(secret),
            "prefix": secret[:10],
            "roles": json.dumps(sorted(role.value for role in roles)),
            "lists": None if scope is None else json.dumps(sorted(scope)),
            "created_by": by,
            "created_at": self.clock(),
            "expires_at": expires_at,
        }
        details = {
            "roles": sorted(role.value for role in roles),
            "lists": None if scope is None else sorted(scope),
            "expires_at": None if expires_at is None else expires_at.isoformat(),
        }
        try:
            with self.db.begin(lock=True) as conn:
                conn.execute(service_tokens.insert().values(**values))
                self.audit.record(by, "token.create", name, details, conn=conn)
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # the name is taken (maybe just now)
                raise ConflictError(
                    f"a token named {name!r} already exists", field="name"
                ) from None
            raise
        return self.get(name), secret

    def get(self, name: str) -> Token:
        with self.db.connect() as conn:
            row = conn.execute(select(service_tokens).where(service_tokens.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"token {name!r} does not exist", field="name")
        return _token(row)

    def list(self, *, include_inactive: bool = True) -> list[Token]:
        query = select(service_tokens).order_by(service_tokens.c.name)
        if not include_inactive:
            now = self.clock()
            query = query.where(service_tokens.c.revoked_at.is_(None)).where(
                or_(service_tokens.c.expires_at.is_(None), service_tokens.c.expires_at > now)
            )
        with self.db.connect() as conn:
            return [_token(row) for row in conn.execute(query)]

    def revoke(self, name: str, *, by: str) -> Token:
        with self.db.begin(lock=True) as conn:
            row = conn.execute(select(service_tokens).where(service_tokens.c.name == name)).first()
            if row is None:
                raise NotFoundError(f"token {name!r} does not exist", field="name")
            if row.revoked_at is None:
                conn.execute(
                    update(service_tokens)
                    .where(service_tokens.c.name == name)
                    .values(revoked_at=self.clock())
                )
                self.audit.record(by, "token.revoke", name, conn=conn)
        return self.get(name)

    def authenticate(self, secret: str, *, client: str = "") -> Token:
        """The active token with this secret, else AuthenticationError (one message for an
        unknown, expired or revoked token)."""
        now = self.clock()
        with self.db.connect() as conn:
            row = conn.execute(
                select(service_tokens).where(
                    service_tokens.c.secret_sha256 == secret_digest(secret)
                )
            ).first()
        token = None if row is None else _token(row)
        if token is None or not token.is_active(now):
            raise AuthenticationError(
                "the API token is unknown, expired or revoked", code="invalid_token"
            )
        last = token.last_used_at
        if last is None or now - last >= self.use_audit_interval:
            with self.db.begin(lock=True) as conn:
                conn.execute(
                    update(service_tokens)
                    .where(service_tokens.c.id == token.id)
                    .values(last_used_at=now)
                )
                self.audit.record(
                    token.principal().actor, "token.use", token.name, {"client": client}, conn=conn
                )
        return token


def _token(row: Row[Any]) -> Token:
    return Token(
        id=int(row.id),
        name=str(row.name),
        prefix=str(row.prefix),
        roles=frozenset(Role(name) for name in json.loads(row.roles)),
        lists=None if row.lists is None else frozenset(json.loads(row.lists)),
        created_by=str(row.created_by),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
