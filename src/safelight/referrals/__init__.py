"""Referrals: findings handed to who can act. This package: referral packages per jurisdiction,
signed and recorded; ``referrals.cybertipline``: reports to NCMEC's CyberTipline.

``build_referral`` gathers a country's part of the sources (a network case, a scan run, the
hotline's items assessed illegal; each a ``ReferralSource``), keeps the fields the
recipient's role may receive, writes the package (``referral.json``, CSVs, ``summary.pdf``,
``MANIFEST`` signed with the organisation's Ed25519 key) and records it. ``verify_package``
names every altered, missing or added file and checks the signature. ``ReferralStore`` lists,
shows and marks referrals sent; a sent one is never changed, only superseded
(``supersede_referral``). Each act goes to an ``audit`` callable (``events``; default: none;
``audit.audit_log`` writes the service's hash-chained log).
docs/referrals.md describes it all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safelight.referrals.countries import ISO_3166_ALPHA2, validate_country
    from safelight.referrals.events import Audit, no_audit
    from safelight.referrals.hotline_source import HotlineSource
    from safelight.referrals.keys import Organisation, create_key, import_key
    from safelight.referrals.manifest import Verification, verify_package
    from safelight.referrals.package import SCHEMA, BuildRequest, Built, build_referral
    from safelight.referrals.records import ReferralRecord, ReferralStore
    from safelight.referrals.roles import DEFAULT_ROLE, ROLES
    from safelight.referrals.sources import (
        NetworkCaseSource,
        ReferralSource,
        ScanRunSource,
        source_from_description,
    )
    from safelight.referrals.supersede import supersede_referral

# name -> module (imported on first use, PEP 562): the store imports this package's tables, and
# every command would otherwise load cryptography, reportlab and the network analysis.
_HOMES = {
    "Audit": "safelight.referrals.events",
    "BuildRequest": "safelight.referrals.package",
    "Built": "safelight.referrals.package",
    "DEFAULT_ROLE": "safelight.referrals.roles",
    "HotlineSource": "safelight.referrals.hotline_source",
    "ISO_3166_ALPHA2": "safelight.referrals.countries",
    "NetworkCaseSource": "safelight.referrals.sources",
    "Organisation": "safelight.referrals.keys",
    "ROLES": "safelight.referrals.roles",
    "ReferralRecord": "safelight.referrals.records",
    "ReferralSource": "safelight.referrals.sources",
    "ReferralStore": "safelight.referrals.records",
    "SCHEMA": "safelight.referrals.package",
    "ScanRunSource": "safelight.referrals.sources",
    "Verification": "safelight.referrals.manifest",
    "build_referral": "safelight.referrals.package",
    "create_key": "safelight.referrals.keys",
    "import_key": "safelight.referrals.keys",
    "no_audit": "safelight.referrals.events",
    "source_from_description": "safelight.referrals.sources",
    "supersede_referral": "safelight.referrals.supersede",
    "validate_country": "safelight.referrals.countries",
    "verify_package": "safelight.referrals.manifest",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'safelight.referrals' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_ROLE",
    "ISO_3166_ALPHA2",
    "ROLES",
    "SCHEMA",
    "Audit",
    "BuildRequest",
    "Built",
    "HotlineSource",
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
