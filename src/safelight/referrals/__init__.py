"""Referral packages: what Safelight found, per jurisdiction, signed and recorded.

``build_referral`` gathers a country's part of the sources (a network case, a scan run; the
hotline's reports later, through the same ``ReferralSource`` protocol), keeps the fields the
recipient's role may receive, writes the package (``referral.json``, CSVs, ``summary.pdf``,
``MANIFEST`` signed with the organisation's Ed25519 key) and records it. ``verify_package``
names every altered, missing or added file and checks the signature. ``ReferralStore`` lists,
shows and marks referrals sent; a sent one is never changed, only superseded
(``supersede_referral``). Each event goes to an ``audit`` callable (default: none).
docs/referrals.md describes it all.
"""

from __future__ import annotations

from pathlib import Path

from safelight.referrals.countries import ISO_3166_ALPHA2, validate_country
from safelight.referrals.keys import Organisation, create_key, import_key
from safelight.referrals.manifest import Verification, verify_package
from safelight.referrals.package import SCHEMA, BuildRequest, Built, build_referral
from safelight.referrals.records import Audit, ReferralRecord, ReferralStore, no_audit
from safelight.referrals.roles import DEFAULT_ROLE, ROLES
from safelight.referrals.sources import (
    NetworkCaseSource,
    ReferralSource,
    ScanRunSource,
    source_from_description,
)
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


__all__ = [
    "DEFAULT_ROLE",
    "ISO_3166_ALPHA2",
    "ROLES",
    "SCHEMA",
    "Audit",
    "BuildRequest",
    "Built",
    "NetworkCaseSource",
    "Organisation",
    "ReferralRecord",
    "ReferralSource",
    "ReferralStore",
    "ScanRunSource",
    "Verification",
    "build_referral",
    "create_key",
    "import_key",
    "no_audit",
    "source_from_description",
    "supersede_referral",
    "validate_country",
    "verify_package",
]
