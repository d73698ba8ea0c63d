"""Drafts for the CyberTipline tests: benign files the tests write, and a minimal report."""

from __future__ import annotations

import hashlib
from pathlib import Path

from safelight.referrals.cybertipline.models import FileDetails, Report
from safelight.referrals.cybertipline.store import DraftFile

REPORT = {
    "incidentSummary": {
        "incidentType": "Child Pornography (possession, manufacture, and distribution)",
        "platform": "Example Hosting",
        "incidentDateTime": "2024-05-01T10:00:00Z",
    },
    "reporter": {"reportingPerson": {"email": [{"value": "safety@example.org"}]}},
}


def report(**changes: object) -> Report:
    return Report.model_validate({**REPORT, **changes})


def benign_file(folder: Path, name: str, seed: int) -> DraftFile:
    """A file of harmless bytes (never media of any kind), with its digests."""
    data = f"benign test bytes {seed}\n".encode() * 50
    path = folder / name
    path.write_bytes(data)
    return DraftFile(
        name=name,
        source=str(path),
        size=len(data),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        details=FileDetails(
            originalFileHash=[{"value": hashlib.md5(data).hexdigest(), "hashType": "MD5"}],
            fileViewedByEsp=False,
        ),
    )
