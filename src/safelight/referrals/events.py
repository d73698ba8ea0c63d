"""What the referral library tells the audit trail: ``audit(event, details, conn)``.

Every act on a referral or the signing key (``referral.built``, ``referral.superseded``,
``referral.sent``, ``referral.verified``, ``referral.exported``, ``key.created``,
``key.imported``, ``key.exported``) is passed to an ``Audit`` callable with its details
(never a secret) and, where the act changes the store, the connection of its transaction so
the entry commits with the change or not at all. The library records nothing by itself
(``no_audit``); the fronts pass ``safelight.referrals.audit.audit_log(db, actor)``, which
writes the service's hash-chained log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

Audit = Callable[[str, dict[str, Any], Connection | None], None]


def no_audit(event: str, details: dict[str, Any], conn: Connection | None = None) -> None:
    """The default audit: records nothing (fronts pass the service's audit log)."""
