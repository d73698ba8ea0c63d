"""Recorded packages on the sender's side: where the service writes them, checking one against
its record, and handing it out as a zip.

A package the store recorded is checked against more than its own manifest: the ``MANIFEST``
on disk must be the one recorded when it was built, and its signature must be by the key
recorded then. So a package someone rebuilt and re-signed in place (with our key) is still
caught. A package that does not verify is never handed out.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from safelight.errors import ConflictError
from safelight.referrals.events import Audit, no_audit
from safelight.referrals.keys import own_public
from safelight.referrals.manifest import MANIFEST, SIGNATURE, Verification, verify_package
from safelight.referrals.records import ReferralRecord

PACKAGES = "referrals"  # the folder under the home where the service writes packages


def new_package_folder(home: Path, country: str, now: datetime | None = None) -> Path:
    """A fresh folder name under ``home/referrals`` (not created: the builder renames the
    finished package into it): ``<CC>-<UTC time>-<random>``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    name = f"{country}-{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    return home / PACKAGES / name


def verify_recorded(record: ReferralRecord, home: Path, *, audit: Audit = no_audit) -> Verification:
    """The recorded package checked against its manifest, its signature (with our key), the
    manifest recorded at build time and the key recorded then (``referral.verified``)."""
    folder = Path(record.package_path)
    trusted = own_public(home)
    result = verify_package(folder, trusted, "own" if trusted is not None else "none")
    manifest = folder / MANIFEST
    if manifest.is_file() and manifest.read_bytes() != record.manifest.encode("utf-8"):
        result.problems.append(
            f"{MANIFEST} differs from the manifest recorded when the referral was built"
        )
    if result.key is not None and result.key != record.key_fingerprint:
        result.problems.append(
            f"checked with key {result.key}, but the referral was signed with "
            f"{record.key_fingerprint}"
        )
    details = {"id": record.id, "referral_id": record.uid, "folder": str(folder)}
    audit("referral.verified", {**details, **result.to_dict()}, None)
    return result


def package_zip(record: ReferralRecord, home: Path, *, audit: Audit = no_audit) -> bytes:
    """The package as a zip (every file under ``referral-<id>/``), only when it verifies
    against its record; the export is audited (``referral.exported``)."""
    result = verify_recorded(record, home)
    if not result.ok:
        found = [
            f"{kind}: {', '.join(names)}"
            for kind, names in (
                ("altered", result.altered),
                ("missing", result.missing),
                ("added", result.added),
            )
            if names
        ]
        found += result.problems
        if result.signature != "valid":
            found.append(f"signature {result.signature}")
        raise ConflictError(
            f"the package of referral {record.id} does not verify ({'; '.join(found)}): "
            "it is not handed out",
            code="package_altered",
        )
    folder = Path(record.package_path)
    buffer = io.BytesIO()
    root = f"referral-{record.id}"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        names = sorted(record_files(record))
        for name in names:
            archive.write(folder / name, f"{root}/{name}")
    data = buffer.getvalue()
    details = {
        "id": record.id,
        "referral_id": record.uid,
        "manifest_sha256": record.manifest_sha256,
        "bytes": len(data),
        "zip_sha256": hashlib.sha256(data).hexdigest(),
    }
    audit("referral.exported", details, None)
    return data


def record_files(record: ReferralRecord) -> list[str]:
    """The files of a recorded package: those its manifest lists, the manifest, the
    signature."""
    listed = [line.partition("  ")[2] for line in record.manifest.splitlines() if line]
    return [*listed, MANIFEST, SIGNATURE]
