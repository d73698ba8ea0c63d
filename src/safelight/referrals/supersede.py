"""Superseding a referral: a new one built again from the sources the old one recorded."""

from __future__ import annotations

from pathlib import Path

from safelight.referrals.package import BuildRequest, Built, build_referral
from safelight.referrals.records import Audit, ReferralStore, no_audit
from safelight.referrals.sources import source_from_description
from safelight.store import Database


def supersede_referral(
    db: Database,
    referral_id: int,
    out: Path,
    *,
    reason: str,
    created_by: str,
    home: Path,
    passphrase: str,
    case_home: Path | None = None,
    recipient_role: str | None = None,
    audit: Audit = no_audit,
) -> Built:
    """A new referral built again from the sources the old one recorded, pointing to it."""
    old = ReferralStore(db).get(referral_id)
    sources = [source_from_description(db, d, case_home) for d in old.sources]
    request = BuildRequest(
        country=old.country,
        sources=sources,
        out=out,
        created_by=created_by,
        recipient_role=recipient_role or old.recipient_role,
        supersedes=referral_id,
        reason=reason,
    )
    return build_referral(db, request, home=home, passphrase=passphrase, audit=audit)
