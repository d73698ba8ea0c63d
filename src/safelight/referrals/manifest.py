"""``MANIFEST``, its signature, and checking a package against both.

``MANIFEST`` lists every file of the package but itself and its signature, one line each,
sorted by path: ``<sha256 hex>  <path>``, the format of ``sha256sum`` (so
``sha256sum -c MANIFEST`` checks it too). ``MANIFEST.sig`` holds the Ed25519 signature of the
manifest's exact bytes, base64 on one line. ``signer.pub.pem`` (listed in the manifest)
carries the signer's public key; verifying against it alone proves only that the package is
intact, so ``verify`` says which key it trusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safelight.errors import InputError, NotFoundError
from safelight.referrals.events import Audit, no_audit
from safelight.referrals.keys import fingerprint, read_public, signature_valid

MANIFEST = "MANIFEST"
SIGNATURE = "MANIFEST.sig"
SIGNER = "signer.pub.pem"
UNLISTED = frozenset({MANIFEST, SIGNATURE})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_files(folder: Path) -> list[str]:
    """Every entry below ``folder`` (links and other non-files included, never followed),
    as POSIX paths relative to it, except the manifest and its signature."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        name = path.relative_to(folder).as_posix()
        if name not in UNLISTED:
            found.append(name)
    return found


def manifest_text(folder: Path) -> str:
    lines = [f"{sha256_file(folder / name)}  {name}\n" for name in package_files(folder)]
    return "".join(lines)


def write_signed_manifest(folder: Path, key: Ed25519PrivateKey) -> bytes:
    """Write ``MANIFEST`` over the folder as it is now and sign it; returns the manifest."""
    text = manifest_text(folder).encode("utf-8")
    (folder / MANIFEST).write_bytes(text)
    (folder / SIGNATURE).write_bytes(base64.b64encode(key.sign(text)) + b"\n")
    return text


def parse_manifest(text: bytes) -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(text.decode("utf-8", "replace").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            raise InputError(f"{MANIFEST}:{number}: not '<sha256>  <path>'", code="bad_manifest")
        entries[name] = digest.lower()
    return entries


@dataclass
class Verification:
    """What ``verify`` found. ``ok`` only if nothing is altered, missing or added and the
    signature holds."""

    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    signature: str = "missing"  # valid | invalid | missing
    key: str | None = None  # fingerprint of the key the signature was checked with
    key_source: str = "none"  # given | own | package
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not (self.altered or self.missing or self.added or self.problems)
            and self.signature == "valid"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "altered": self.altered,
            "missing": self.missing,
            "added": self.added,
            "signature": self.signature,
            "key": self.key,
            "key_source": self.key_source,
            "problems": self.problems,
        }


def verify_package(
    folder: Path,
    trusted: Ed25519PublicKey | None,
    source: str,
    *,
    audit: Audit = no_audit,
) -> Verification:
    """Check every file against the manifest and the manifest against its signature.

    ``trusted`` is the key to check with (``source`` says where it came from); without one,
    the package's own ``signer.pub.pem`` is used and the result says so. The result is
    audited (``referral.verified``)."""
    if not folder.is_dir():
        raise NotFoundError(f"{folder}: no such package folder", code="no_package")
    result = _verify(folder, trusted, source)
    details = {"folder": str(folder.resolve()), "referral_id": _referral_id(folder)}
    audit("referral.verified", {**details, **result.to_dict()}, None)
    return result


def _referral_id(folder: Path) -> str | None:
    """The referral id ``referral.json`` names, if it can be read (for the audit trail)."""
    try:
        document = json.loads((folder / "referral.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = document.get("referral_id") if isinstance(document, dict) else None
    return found if isinstance(found, str) else None


def _verify(folder: Path, trusted: Ed25519PublicKey | None, source: str) -> Verification:
    result = Verification()
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        result.problems.append(f"{MANIFEST} is missing: nothing can be checked")
        result.added = package_files(folder)
        return result
    text = manifest_path.read_bytes()
    listed = parse_manifest(text)
    present = set(package_files(folder))
    for name, digest in sorted(listed.items()):
        path = folder / name
        if name not in present:
            result.missing.append(name)
        elif path.is_symlink() or not path.is_file() or sha256_file(path) != digest:
            result.altered.append(name)
    result.added = sorted(present - set(listed))
    _check_signature(folder, text, trusted, source, result)
    return result


def _check_signature(
    folder: Path,
    text: bytes,
    trusted: Ed25519PublicKey | None,
    source: str,
    result: Verification,
) -> None:
    key = trusted
    result.key_source = source
    if key is None and (folder / SIGNER).is_file():
        key = read_public((folder / SIGNER).read_bytes(), SIGNER)
        result.key_source = "package"
    if key is None:
        result.problems.append(f"no key to check the signature with (no {SIGNER})")
        return
    result.key = fingerprint(key)
    if not (folder / SIGNATURE).is_file():
        return
    try:
        signature = base64.b64decode((folder / SIGNATURE).read_bytes().strip(), validate=True)
    except (binascii.Error, ValueError):
        result.signature = "invalid"
        return
    result.signature = "valid" if signature_valid(key, signature, text) else "invalid"
