"""The partners directory: hotlines and law-enforcement contacts, per country.

An item assessed illegal is referred to a partner (``safelight.hotline.routing`` chooses
which). Each partner has a country (ISO 3166-1 alpha-2), a kind (``hotline`` or
``law_enforcement``), a name unique in the directory (case-insensitively: the fallback
setting names a partner by it), a contact (an e-mail address or an http(s) URL), notes and
an ``active`` flag. Partners are never deleted, since referrals name them; one that no longer
takes referrals is made inactive. Only admins change the directory (the routes say so);
every change is written to the audit trail in the transaction that makes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from safelight.constants import (
    HOTLINE_MAX_URL_LENGTH,
    HOTLINE_PARTNER_MAX_NAME,
    HOTLINE_PARTNER_MAX_NOTES,
)
from safelight.errors import (
    ConflictError,
    NotFoundError,
    StoreError,
    UsageError,
    ValidationError,
)
from safelight.hotline.urls import UrlProblem, parse_url
from safelight.referrals.countries import validate_country
from safelight.service.audit import AuditLog
from safelight.store import Database
from safelight.store.routing_tables import hotline_partners

EMAIL_MAX = 254  # RFC 5321 section 4.5.3.1.3: a forward path of 256 octets, less "<" ">"
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@([A-Za-z0-9-]+\.)+[A-Za-z0-9-]{2,}$")
EDITABLE = ("country", "kind", "name", "contact", "notes", "active")


class PartnerKind(StrEnum):
    HOTLINE = "hotline"  # a hotline (INHOPE member or not): takes forwarded reports
    LAW_ENFORCEMENT = "law_enforcement"  # police, a national centre, INTERPOL


@dataclass(frozen=True)
class Partner:
    id: int
    country: str
    kind: PartnerKind
    name: str
    contact: str
    notes: str
    active: bool
    updated_at: datetime
    updated_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "kind": self.kind.value,
            "name": self.name,
            "contact": self.contact,
            "notes": self.notes,
            "active": self.active,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


class PartnerProblem(NamedTuple):
    field: str
    code: str  # "country", "kind", "name_empty", ... (pages word it in the analyst's language)
    message: str  # English


class PartnerRejected(ValidationError):
    """A partner's fields that break the rules; ``partner_problems`` lists every problem."""

    def __init__(self, problems: list[PartnerProblem]) -> None:
        super().__init__(
            "the partner was not saved: " + "; ".join(f"{p.field}: {p.message}" for p in problems),
            [(p.field, p.message) for p in problems],
            codes=frozenset(p.code for p in problems),
        )
        self.partner_problems = problems


def check_contact(text: str) -> str:
    """An e-mail address (``mailto:`` dropped) or an http(s) URL, as stored; ValueError."""
    contact = text.strip()
    if contact.lower().startswith("mailto:"):
        contact = contact[len("mailto:") :]
    if re.match(r"^https?://", contact, re.IGNORECASE):
        try:
            return parse_url(contact).url
        except UrlProblem as problem:
            raise ValueError(f"not a usable URL: {problem}") from None
    if len(contact) > EMAIL_MAX or not _EMAIL.match(contact):
        raise ValueError("give an e-mail address (name@example.org) or an http(s):// URL")
    return contact


def check_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields of a partner, cleaned, or PartnerRejected naming every bad one."""
    problems: list[PartnerProblem] = []
    clean: dict[str, Any] = {}
    unknown = sorted(set(values) - set(EDITABLE))
    for name in unknown:
        problems.append(PartnerProblem(name, "unknown_field", f"one of: {', '.join(EDITABLE)}"))
    if "country" in values:
        try:
            clean["country"] = validate_country(str(values["country"] or ""))
        except UsageError as exc:
            problems.append(PartnerProblem("country", "country", exc.message))
    if "kind" in values:
        try:
            clean["kind"] = PartnerKind(str(values["kind"] or "")).value
        except ValueError:
            known = ", ".join(kind.value for kind in PartnerKind)
            problems.append(PartnerProblem("kind", "kind", f"one of: {known}"))
    if "name" in values:
        name = " ".join(str(values["name"] or "").split())
        if not name:
            problems.append(PartnerProblem("name", "name_empty", "give the partner's name"))
        elif len(name) > HOTLINE_PARTNER_MAX_NAME:
            limit = HOTLINE_PARTNER_MAX_NAME
            problems.append(PartnerProblem("name", "too_long", f"at most {limit} characters"))
        clean["name"] = name
    if "contact" in values:
        try:
            clean["contact"] = check_contact(str(values["contact"] or ""))
        except ValueError as exc:
            problems.append(PartnerProblem("contact", "contact", str(exc)))
        else:
            if len(clean["contact"]) > HOTLINE_MAX_URL_LENGTH:
                limit = HOTLINE_MAX_URL_LENGTH
                problems.append(PartnerProblem("contact", "too_long", f"at most {limit} chars"))
    if "notes" in values:
        clean["notes"] = str(values["notes"] or "").strip()
        if len(clean["notes"]) > HOTLINE_PARTNER_MAX_NOTES:
            limit = HOTLINE_PARTNER_MAX_NOTES
            problems.append(PartnerProblem("notes", "too_long", f"at most {limit} characters"))
    if "active" in values:
        if not isinstance(values["active"], bool):
            problems.append(PartnerProblem("active", "active", "true or false"))
        clean["active"] = values["active"]
    if problems:
        raise PartnerRejected(problems)
    return clean


class PartnerDirectory:
    """The partners in one store; changes are audited with the actor who made them."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.clock = clock

    def all(
        self,
        *,
        country: str | None = None,
        active_only: bool = False,
        conn: Connection | None = None,
    ) -> list[Partner]:
        """Every partner (of ``country``), by country, kind and name."""
        query = select(hotline_partners).order_by(
            hotline_partners.c.country, hotline_partners.c.kind, hotline_partners.c.name_key
        )
        if country is not None:
            query = query.where(hotline_partners.c.country == validate_country(country))
        if active_only:
            query = query.where(hotline_partners.c.active.is_(True))
        if conn is not None:
            return [_partner(dict(row)) for row in conn.execute(query).mappings()]
        with self.db.connect() as own:
            return [_partner(dict(row)) for row in own.execute(query).mappings()]

    def get(self, partner_id: int, *, conn: Connection | None = None) -> Partner:
        if conn is None:
            with self.db.connect() as own:
                return self.get(partner_id, conn=own)
        row = (
            conn.execute(select(hotline_partners).where(hotline_partners.c.id == partner_id))
            .mappings()
            .one_or_none()
        )
        if row is None:
            raise NotFoundError(f"no partner {partner_id}", code="unknown_partner")
        return _partner(dict(row))

    def by_name(self, name: str) -> Partner | None:
        with self.db.connect() as conn:
            row = (
                conn.execute(
                    select(hotline_partners).where(hotline_partners.c.name_key == name_key(name))
                )
                .mappings()
                .one_or_none()
            )
        return None if row is None else _partner(dict(row))

    def add(self, actor: str, values: Mapping[str, Any]) -> Partner:
        """A new partner from ``values`` (country, kind, name, contact required; notes and
        active optional, active by default)."""
        given = {"notes": "", "active": True, **values}
        missing = [name for name in ("country", "kind", "name", "contact") if name not in given]
        if missing:
            raise PartnerRejected([PartnerProblem(name, "missing", "required") for name in missing])
        clean = check_fields(given)
        now = self.clock()
        with _name_is_free(clean["name"]), self.db.begin(lock=True) as conn:
            key = conn.execute(
                insert(hotline_partners).values(
                    **clean,
                    name_key=name_key(clean["name"]),
                    created_at=now,
                    updated_at=now,
                    updated_by=actor,
                )
            ).inserted_primary_key
            assert key is not None
            partner = self.get(int(key[0]), conn=conn)
            self.audit.record(actor, "partner.add", _target(partner), _details(clean), conn=conn)
        return partner

    def update(self, actor: str, partner_id: int, values: Mapping[str, Any]) -> Partner:
        """Change the given fields of a partner; only what changed is written and audited."""
        clean = check_fields(values)
        with _name_is_free(clean.get("name", "")), self.db.begin(lock=True) as conn:
            before = self.get(partner_id, conn=conn).to_dict()
            changes = {name: value for name, value in clean.items() if before[name] != value}
            if not changes:
                return self.get(partner_id, conn=conn)
            extra = {"name_key": name_key(changes["name"])} if "name" in changes else {}
            conn.execute(
                update(hotline_partners)
                .where(hotline_partners.c.id == partner_id)
                .values(**changes, **extra, updated_at=self.clock(), updated_by=actor)
            )
            partner = self.get(partner_id, conn=conn)
            details = {name: {"from": before[name], "to": value} for name, value in changes.items()}
            self.audit.record(actor, "partner.update", _target(partner), details, conn=conn)
        return partner


@contextmanager
def _name_is_free(name: str) -> Iterator[None]:
    """Turns the unique-name constraint into a ConflictError naming the field."""
    try:
        yield
    except StoreError as exc:
        if not isinstance(exc.__cause__, IntegrityError):
            raise
        raise ConflictError(
            f"a partner named {name!r} already exists", code="partner_exists", field="name"
        ) from None


def name_key(name: str) -> str:
    """How names are compared: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


def _target(partner: Partner) -> str:
    return f"partner:{partner.id}"


def _details(clean: Mapping[str, Any]) -> dict[str, Any]:
    return {name: clean[name] for name in EDITABLE if name in clean}


def _partner(row: Mapping[str, Any]) -> Partner:
    updated = row["updated_at"]
    return Partner(
        id=int(row["id"]),
        country=str(row["country"]),
        kind=PartnerKind(row["kind"]),
        name=str(row["name"]),
        contact=str(row["contact"]),
        notes=str(row["notes"]),
        active=bool(row["active"]),
        updated_at=updated if updated.tzinfo else updated.replace(tzinfo=UTC),
        updated_by=str(row["updated_by"]),
    )
