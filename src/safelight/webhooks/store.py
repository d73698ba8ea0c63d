"""Webhook endpoints per list and their delivery log, in the store (docs/webhooks.md).

A delivery is written ``pending`` with its final body when a match is enqueued, so a
restart loses nothing and a replay sends the same bytes (re-signed at send time). Workers
claim due deliveries with a conditional update, so several workers never send one twice at
once.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row, delete, select, update

from safelight.errors import NotFoundError, UsageError
from safelight.lists.store import HashListStore, utc_now
from safelight.match.results import MATCH_FORMAT, Match
from safelight.store import Database
from safelight.store.lists_tables import hash_lists, webhook_deliveries, webhook_endpoints

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
# Version of the webhook body (docs/webhooks.md); bumped on any incompatible change.
WEBHOOK_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    list_name: str
    url: str
    enabled: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Never the secret: it is shown once, by ``add``."""
        return {
            "id": self.id,
            "list": self.list_name,
            "url": self.url,
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    endpoint_id: int
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "delivered_at": None if self.delivered_at is None else self.delivered_at.isoformat(),
            "event_id": json.loads(self.body).get("event_id"),
        }


def _delivery(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        m["id"],
        m["endpoint_id"],
        m["body"],
        m["status"],
        m["attempts"],
        m["next_attempt_at"],
        m["last_status_code"],
        m["last_error"],
        m["created_at"],
        m["delivered_at"],
    )


def check_url(url: str) -> str:
    """http(s) with a host; anything else is a UsageError (never echoing a secret query)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("webhook URL must be http:// or https:// with a host")
    return url


class WebhookStore:
    """Endpoints, enqueueing and the delivery log of one store."""

    def __init__(self, db: Database, *, clock: Any = utc_now) -> None:
        self.db = db
        self.clock = clock
        self.lists = HashListStore(db, clock=clock)
        self._by_list: dict[str, list[int]] | None = None

    # --- endpoints ---------------------------------------------------------------------

    def add(self, list_name: str, url: str, *, secret: str | None = None) -> tuple[Endpoint, str]:
        """A new endpoint for a list; returns it with its secret (generated when not given:
        32 random bytes, URL-safe base64). Matches on allow lists never call webhooks, so
        an allow list takes none."""
        hash_list = self.lists.get(list_name)
        if hash_list.is_allow:
            raise UsageError(f"{list_name} is an allow list: its matches call no webhooks")
        check_url(url)
        secret = secret or secrets.token_urlsafe(32)
        if len(secret) < 16 or len(secret) > 128:
            raise UsageError("webhook secret must be 16 to 128 characters")
        with self.db.begin() as conn:
            new_id = conn.execute(
                webhook_endpoints.insert().values(
                    list_id=hash_list.id,
                    url=url,
                    secret=secret,
                    enabled=True,
                    created_at=self.clock(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        self._by_list = None
        return self.get(int(new_id)), secret

    def endpoints(self, list_name: str | None = None) -> list[Endpoint]:
        query = (
            select(webhook_endpoints, hash_lists.c.name)
            .join(hash_lists, hash_lists.c.id == webhook_endpoints.c.list_id)
            .order_by(webhook_endpoints.c.id)
        )
        if list_name is not None:
            query = query.where(hash_lists.c.name == list_name)
        with self.db.connect() as conn:
            return [
                Endpoint(r.id, r.name, r.url, bool(r.enabled), r.created_at)
                for r in conn.execute(query)
            ]

    def get(self, endpoint_id: int) -> Endpoint:
        for endpoint in self.endpoints():
            if endpoint.id == endpoint_id:
                return endpoint
        raise NotFoundError(f"no webhook {endpoint_id}")

    def remove(self, endpoint_id: int) -> None:
        """Remove an endpoint with its delivery log."""
        with self.db.begin() as conn:
            gone = conn.execute(
                delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
            ).rowcount
        if not gone:
            raise NotFoundError(f"no webhook {endpoint_id}")
        self._by_list = None

    def secret_of(self, endpoint_id: int) -> str:
        with self.db.connect() as conn:
            found = conn.execute(
                select(webhook_endpoints.c.secret).where(webhook_endpoints.c.id == endpoint_id)
            ).scalar()
        if found is None:
            raise NotFoundError(f"no webhook {endpoint_id}")
        return str(found)

    def url_of(self, endpoint_id: int) -> str:
        return self.get(endpoint_id).url

    # --- enqueueing --------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read which lists have endpoints (after ``add``/``remove`` elsewhere)."""
        self._by_list = None

    def _endpoints_by_list(self) -> dict[str, list[int]]:
        if self._by_list is None:
            by_list: dict[str, list[int]] = {}
            for endpoint in self.endpoints():
                if endpoint.enabled:
                    by_list.setdefault(endpoint.list_name, []).append(endpoint.id)
            self._by_list = by_list
        return self._by_list

    def wants(self, matches: Sequence[Match]) -> bool:
        """Whether any of the matches is on a list with an endpoint."""
        by_list = self._endpoints_by_list()
        return any(match.list_name in by_list for match in matches)

    def has_endpoints(self) -> bool:
        return bool(self._endpoints_by_list())

    def enqueue(
        self,
        query: Mapping[str, Any],
        matches: Sequence[Match],
        context: Mapping[str, Any] | None = None,
    ) -> int:
        """Pending deliveries for one query's matches on lists with endpoints, one per
        (match, endpoint). Pass only *served* matches (``Ruled.matches``): allow-list,
        suppressed and paused matches are never sent. Returns how many were queued."""
        by_list = self._endpoints_by_list()
        now = self.clock()
        rows = []
        for match in matches:
            for endpoint_id in by_list.get(match.list_name, ()):
                body = {
                    "event": "match",
                    "format": WEBHOOK_FORMAT,
                    "match_format": MATCH_FORMAT,
                    "event_id": str(uuid.uuid4()),
                    "created_at": now.isoformat(),
                    "query": dict(query),
                    "match": match.to_dict(),
                    "context": dict(context or {}),
                }
                rows.append(
                    {
                        "endpoint_id": endpoint_id,
                        "body": json.dumps(body, sort_keys=True, separators=(",", ":")),
                        "status": PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        if rows:
            with self.db.begin() as conn:
                conn.execute(webhook_deliveries.insert(), rows)
        return len(rows)

    # --- the delivery log --------------------------------------------------------------

    def deliveries(
        self,
        *,
        status: str | None = None,
        endpoint_id: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Newest first."""
        if status is not None and status not in STATUSES:
            raise UsageError(f"status must be one of {', '.join(STATUSES)}")
        query = select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(webhook_deliveries.c.status == status)
        if endpoint_id is not None:
            query = query.where(webhook_deliveries.c.endpoint_id == endpoint_id)
        with self.db.connect() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def delivery(self, delivery_id: int) -> Delivery:
        with self.db.connect() as conn:
            row = conn.execute(
                select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no webhook delivery {delivery_id}")
        return _delivery(row)

    def replay(self, delivery_ids: Sequence[int]) -> int:
        """Send deliveries again (the same body, re-signed): pending, due now, attempts 0."""
        for delivery_id in delivery_ids:
            self.delivery(delivery_id)  # NotFoundError naming a bad id, before any change
        with self.db.begin() as conn:
            done = conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id.in_(list(delivery_ids)))
                .values(status=PENDING, attempts=0, next_attempt_at=self.clock(), last_error=None)
            ).rowcount
        return int(done)

    def claim_due(self, *, limit: int, lease: timedelta) -> list[Delivery]:
        """Due pending deliveries, each claimed for ``lease`` (its next attempt moved past
        the lease, so another worker skips it; a worker killed mid-send leaves it due again
        when the lease ends)."""
        now = self.clock()
        with self.db.connect() as conn:
            due = [
                _delivery(r)
                for r in conn.execute(
                    select(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.status == PENDING,
                        webhook_deliveries.c.next_attempt_at <= now,
                    )
                    .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
                    .limit(limit)
                )
            ]
        claimed = []
        for d in due:
            with self.db.begin() as conn:
                won = conn.execute(
                    update(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.id == d.id,
                        webhook_deliveries.c.status == PENDING,
                        webhook_deliveries.c.next_attempt_at == d.next_attempt_at,
                    )
                    .values(next_attempt_at=now + lease)
                ).rowcount
            if won:
                claimed.append(d)
        return claimed

    def record_attempt(
        self,
        delivery: Delivery,
        *,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> str:
        """Log one attempt; ``next_attempt_at`` None after a failure means no retry left.
        Returns the new status."""
        ok = error is None
        status = DELIVERED if ok else (PENDING if next_attempt_at is not None else FAILED)
        now = self.clock()
        with self.db.begin() as conn:
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery.id)
                .values(
                    status=status,
                    attempts=webhook_deliveries.c.attempts + 1,
                    last_status_code=status_code,
                    last_error=error,
                    next_attempt_at=next_attempt_at or now,
                    delivered_at=now if ok else None,
                )
            )
        return status
