"""Referral acts into the service's hash-chained audit log, from any front.

``audit_log(db, actor)`` is the ``Audit`` callable (``safelight.referrals.events``) the CLI
and the service pass to the referral library: each event becomes one ``AuditLog`` entry
(actor, action = the event, target ``referral:<id>``, ``key:<fingerprint>`` or, for a
hotline item's event such as ``hotline.package_sent``, ``item:<id>``; the details),
written in the transaction of the change when the library passes one. ``cybertip_audit``
does the same for CyberTipline reports (target ``cybertip:<id>``; actions ``cybertip.draft``,
``cybertip.submit``/``retry``/``retract`` for requests, ``cybertip.call`` for each API try,
``cybertip.status`` for each change of status).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from safelight.referrals.cybertipline.events import Audit as CybertipAudit
from safelight.referrals.cybertipline.events import AuditEvent
from safelight.referrals.events import Audit
from safelight.service.audit import AuditLog
from safelight.store import Database


def referral_target(event: str, details: dict[str, Any]) -> str:
    if event.startswith("hotline.") and details.get("item_id") is not None:
        return f"item:{details['item_id']}"  # a hotline item's event (a package sent)
    if event.startswith("key."):
        return f"key:{details.get('fingerprint', '')}"
    if details.get("id") is not None:
        return f"referral:{details['id']}"
    if details.get("referral_id"):
        return f"referral:{details['referral_id']}"
    return str(details.get("folder", ""))


def _log(where: AuditLog | Database) -> AuditLog:
    return where if isinstance(where, AuditLog) else AuditLog(where)


def audit_log(where: AuditLog | Database, actor: str) -> Audit:
    """The referral library's events as entries of the audit log (``where``: the log, or
    the store whose log it is), by ``actor``."""
    log = _log(where)

    def record(event: str, details: dict[str, Any], conn: Connection | None = None) -> None:
        log.record(actor, event, referral_target(event, details), details, conn=conn)

    return record


def cybertip_action(event: AuditEvent) -> str:
    if event.step in ("draft", "status"):
        return f"cybertip.{event.step}"
    if event.step == "request":
        return f"cybertip.{event.outcome}"
    return "cybertip.call"


def cybertip_audit(where: AuditLog | Database, actor: str) -> CybertipAudit:
    """A CyberTipline report's events as entries of the audit log, by ``actor``."""
    log = _log(where)

    def record(event: AuditEvent) -> None:
        details: dict[str, Any] = {
            "step": event.step,
            "outcome": event.outcome,
            "ncmec_id": event.remote_id,
            "detail": event.detail,
            **event.extra,
        }
        log.record(actor, cybertip_action(event), f"cybertip:{event.report}", details)

    return record
