"""What a CyberTipline report's life tells the audit trail (``AuditEvent``).

``step`` says what happened: ``draft`` (a report was drafted), ``request`` (someone asked to
``submit``, ``retry`` or ``retract`` it: the verb is the ``outcome``), an API call
(``submit``, ``upload``, ``fileinfo``, ``finish``, ``retract``: one event per try, the
outcome ``ok``, ``transient`` or ``failed``) or ``status`` (the new status is the outcome).
The library records nothing itself (``no_audit``); the fronts pass
``safelight.referrals.audit.cybertip_audit(db, actor)``, which writes the service's
hash-chained log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AuditEvent:
    """One step of one report, for the audit log: what was done and how it ended."""

    report: int
    step: str  # draft, request, submit, upload, fileinfo, finish, retract, or status
    outcome: str  # ok, transient, failed; the new status; the verb requested
    remote_id: int | None = None
    detail: str = ""  # already stripped of credentials
    extra: dict[str, Any] = field(default_factory=dict)


Audit = Callable[[AuditEvent], None]


def no_audit(_event: AuditEvent) -> None:
    """The default: audit nothing (the fronts wire the hash-chained log here)."""
