"""The referrals recorded in the store: what each contained, and whether it was sent.

A referral is recorded when its package is built (a draft). ``mark_sent`` records once when
and to whom it went (and, in the same transaction, puts it on the timeline of each hotline
item it carried); from then on nothing about it changes. A referral is replaced only by a
new one that points to it (``supersedes``); the old row stays as it was. Each event goes to
an ``Audit`` callable (``audit(event, details, conn)``, ``safelight.referrals.events``) in
the transaction of the change; the default records nothing, and the fronts pass the
service's hash-chained audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from safelight.errors import ConflictError, NotFoundError, UsageError
from safelight.hotline.takedown import SentPackage
from safelight.referrals.events import Audit, no_audit
from safelight.referrals.hotline_source import record_sent
from safelight.store import Database
from safelight.store.referral_tables import referral_items, referrals
from safelight.timestamps import utc_timestamp

__all__ = ["Audit", "ReferralRecord", "ReferralStore", "no_audit"]


@dataclass(frozen=True)
class ReferralRecord:
    id: int
    uid: str
    country: str
    recipient_role: str
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    sent_to: str | None
    supersedes: int | None
    superseded_by: int | None
    reason: str | None
    items_sha256: str
    manifest: str
    manifest_sha256: str
    key_fingerprint: str
    package_path: str
    sources: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    headline: dict[str, Any]
    items: int

    @property
    def status(self) -> str:
        if self.superseded_by is not None:
            return "superseded"
        return "sent" if self.sent_at is not None else "draft"

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "referral_id": self.uid,
            "country": self.country,
            "recipient_role": self.recipient_role,
            "status": self.status,
            "created_at": utc_timestamp(self.created_at),
            "created_by": self.created_by,
            "sent_at": utc_timestamp(self.sent_at) if self.sent_at else None,
            "sent_to": self.sent_to,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
            "reason": self.reason,
            "items": self.items,
            "package_path": self.package_path,
            "manifest_sha256": self.manifest_sha256,
            "key_fingerprint": self.key_fingerprint,
            "headline": self.headline,
        }
        if full:
            out |= {"sources": self.sources, "fields": self.fields, "manifest": self.manifest}
        return out


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite gives naive times back; every time written here is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class ReferralStore:
    def __init__(self, db: Database, audit: Audit = no_audit) -> None:
        self.db = db
        self.audit = audit

    def duplicate_of(
        self,
        country: str,
        role: str,
        items_sha256: str,
        *,
        replacing: int | None = None,
        conn: Connection | None = None,
    ) -> ReferralRecord | None:
        """A live referral (not superseded) of the same items to the same recipient (country
        and role: the police and the hotline of one country are two recipients), other
        than ``replacing`` (the one a new referral supersedes). ``conn``: inside the
        caller's transaction (the builder checks again just before it records)."""
        if conn is None:
            with self.db.connect() as own:
                return self.duplicate_of(country, role, items_sha256, replacing=replacing, conn=own)
        rows = conn.execute(
            select(referrals.c.id).where(
                referrals.c.country == country,
                referrals.c.recipient_role == role,
                referrals.c.items_sha256 == items_sha256,
            )
        ).all()
        for (rid,) in rows:
            record = self._load(conn, rid)
            if record.id != replacing and record.status != "superseded":
                return record
        return None

    def add(self, conn: Connection, row: dict[str, Any], items: Iterable[str]) -> int:
        """Record a built referral inside the caller's transaction (the package is renamed
        into place in the same one); returns its id."""
        key = conn.execute(insert(referrals).values(**row)).inserted_primary_key
        assert key is not None
        rid = int(key[0])
        keys = sorted(items)
        if keys:
            conn.execute(insert(referral_items), [{"referral_id": rid, "item": k} for k in keys])
        return rid

    def get(self, referral_id: int) -> ReferralRecord:
        with self.db.connect() as conn:
            return self._load(conn, referral_id)

    def items(self, referral_id: int) -> list[str]:
        self.get(referral_id)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(referral_items.c.item)
                .where(referral_items.c.referral_id == referral_id)
                .order_by(referral_items.c.item)
            )
            return [str(r[0]) for r in rows]

    def list(self, *, country: str | None = None, limit: int = 100) -> list[ReferralRecord]:
        query = select(referrals.c.id).order_by(referrals.c.id.desc()).limit(limit)
        if country:
            query = query.where(referrals.c.country == country)
        with self.db.connect() as conn:
            return [self._load(conn, int(r[0])) for r in conn.execute(query)]

    def mark_sent(
        self, referral_id: int, *, sent_to: str, by: str, at: datetime | None = None
    ) -> ReferralRecord:
        """Record that the referral was sent: once, and only while it is a draft."""
        if not sent_to.strip():
            raise UsageError("say to whom the referral was sent", field="sent_to")
        moment = at or datetime.now(UTC)
        if moment.tzinfo is None:
            raise UsageError("the time it was sent needs a time zone", field="at")
        if moment > datetime.now(UTC):
            raise UsageError(f"sent at {utc_timestamp(moment)} is in the future", field="at")
        with self.db.begin(lock=True) as conn:
            record = self._load(conn, referral_id)
            if record.status != "draft":
                raise ConflictError(
                    f"referral {referral_id} is {record.status}: a sent referral cannot be "
                    "changed, only superseded by a new one",
                    code="referral_sent",
                )
            done = conn.execute(
                update(referrals)
                .where(referrals.c.id == referral_id, referrals.c.sent_at.is_(None))
                .values(sent_at=moment, sent_to=sent_to)
            )
            if done.rowcount != 1:  # another process marked it in between
                raise ConflictError(f"referral {referral_id} was marked sent meanwhile")
            details = {
                "id": referral_id,
                "referral_id": record.uid,
                "country": record.country,
                "role": record.recipient_role,
                "sent_to": sent_to,
                "sent_at": utc_timestamp(moment),
                "manifest_sha256": record.manifest_sha256,
                "by": by,
            }
            self.audit("referral.sent", details, conn)
            package = SentPackage(
                record.id, record.uid, record.country, record.recipient_role, sent_to, moment
            )
            keys = conn.execute(
                select(referral_items.c.item).where(referral_items.c.referral_id == referral_id)
            ).scalars()
            record_sent(conn, package, keys, by=by, audit=self.audit)
        return self.get(referral_id)

    def _load(self, conn: Connection, referral_id: int) -> ReferralRecord:
        row = conn.execute(select(referrals).where(referrals.c.id == referral_id)).first()
        if row is None:
            raise NotFoundError(f"no referral {referral_id}", code="no_referral")
        successor = conn.execute(
            select(referrals.c.id).where(referrals.c.supersedes_id == referral_id)
        ).scalar()
        count = conn.execute(
            select(func.count()).where(referral_items.c.referral_id == referral_id)
        ).scalar_one()
        m = row._mapping
        return ReferralRecord(
            id=int(m["id"]),
            uid=str(m["uid"]),
            country=str(m["country"]),
            recipient_role=str(m["recipient_role"]),
            created_at=_aware(m["created_at"]) or datetime.now(UTC),
            created_by=str(m["created_by"]),
            sent_at=_aware(m["sent_at"]),
            sent_to=m["sent_to"],
            supersedes=m["supersedes_id"],
            superseded_by=int(successor) if successor is not None else None,
            reason=m["reason"],
            items_sha256=str(m["items_sha256"]),
            manifest=str(m["manifest"]),
            manifest_sha256=str(m["manifest_sha256"]),
            key_fingerprint=str(m["key_fingerprint"]),
            package_path=str(m["package_path"]),
            sources=json.loads(m["sources"]),
            fields=json.loads(m["fields"]),
            headline=json.loads(m["headline"]),
            items=int(count),
        )
