"""The organisation's signing key: Ed25519, private key encrypted at rest.

Files under ``$SAFELIGHT_HOME/keys/`` (folder 0700, files 0600):

- ``signing_key.pem``: the private key, PKCS#8 PEM encrypted with the passphrase
  (``cryptography``'s best available encryption: AES-256-CBC, scrypt-derived key);
- ``signing_key.pub.pem``: its public key (SubjectPublicKeyInfo PEM);
- ``organisation.json``: the organisation's name and contact, which packages name as sender.

The passphrase is given by the front (the CLI reads ``SAFELIGHT_KEY_PASSPHRASE`` or
prompts); the library never reads the environment for it, so it is never logged or stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safelight.errors import ConflictError, InputError, NotFoundError, UsageError
from safelight.referrals.events import Audit, no_audit

PRIVATE_NAME = "signing_key.pem"
PUBLIC_NAME = "signing_key.pub.pem"
ORG_NAME = "organisation.json"
MIN_PASSPHRASE = 8


@dataclass(frozen=True)
class Organisation:
    name: str
    contact: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "contact": self.contact}


def key_folder(home: Path) -> Path:
    return home / "keys"


def fingerprint(public: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw 32-byte public key: how packages and messages name it."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)  # whatever the umask said


def _check_passphrase(passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(
            f"the key passphrase must have at least {MIN_PASSPHRASE} characters",
            code="weak_passphrase",
        )
    return passphrase.encode("utf-8")


def _store(home: Path, key: Ed25519PrivateKey, passphrase: str, org: Organisation) -> str:
    folder = key_folder(home)
    if (folder / PRIVATE_NAME).exists():
        raise ConflictError(
            f"a signing key exists already in {folder}: packages signed with it could no "
            "longer be verified against a new one; move it away first if you mean to",
            code="key_exists",
        )
    secret = _check_passphrase(passphrase)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret),
    )
    _write_private(folder / ORG_NAME, json.dumps(org.to_dict(), indent=1).encode())
    _write_private(folder / PUBLIC_NAME, public_pem(key.public_key()))
    _write_private(folder / PRIVATE_NAME, encrypted)  # last: its presence means complete
    return fingerprint(key.public_key())


def create_key(home: Path, passphrase: str, org: Organisation, *, audit: Audit = no_audit) -> str:
    """A new key pair for ``org``; returns its fingerprint (audited: ``key.created``)."""
    if not org.name.strip():
        raise UsageError("the organisation needs a name", field="organisation")
    found = _store(home, Ed25519PrivateKey.generate(), passphrase, org)
    audit("key.created", _key_details(home, found, org), None)
    return found


def import_key(
    home: Path,
    pem: bytes,
    passphrase: str,
    org: Organisation,
    *,
    file_passphrase: str | None,
    audit: Audit = no_audit,
) -> str:
    """Take an existing Ed25519 private key (PEM, encrypted with ``file_passphrase`` or not)
    and store it encrypted with ``passphrase``; returns its fingerprint (``key.imported``)."""
    secret = file_passphrase.encode("utf-8") if file_passphrase else None
    try:
        key = serialization.load_pem_private_key(pem, password=secret)
    except (ValueError, TypeError) as exc:
        raise InputError(f"cannot read the private key: {exc}", code="bad_key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("the key is not an Ed25519 private key", code="bad_key")
    found = _store(home, key, passphrase, org)
    audit("key.imported", _key_details(home, found, org), None)
    return found


def export_public(home: Path, encoding: str, *, audit: Audit = no_audit) -> tuple[str, bytes]:
    """Our public key as ``pem`` or ``raw`` (base64 of the 32 bytes), with its fingerprint
    (audited: ``key.exported``)."""
    public = own_public(home)
    if public is None:
        raise NotFoundError("no signing key: create one with safelight keys create", code="no_key")
    if encoding not in ("pem", "raw"):
        raise UsageError(f"encoding {encoding!r}: pem or raw", field="encoding")
    found = fingerprint(public)
    audit("key.exported", {"fingerprint": found, "encoding": encoding}, None)
    return found, public_pem(public) if encoding == "pem" else public_raw(public)


def _key_details(home: Path, found: str, org: Organisation) -> dict[str, object]:
    return {"fingerprint": found, "organisation": org.name, "folder": str(key_folder(home))}


def load_private(home: Path, passphrase: str) -> Ed25519PrivateKey:
    path = key_folder(home) / PRIVATE_NAME
    if not path.is_file():
        raise NotFoundError(f"no signing key in {path.parent}", code="no_key")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), passphrase.encode("utf-8"))
    except (ValueError, TypeError):
        raise UsageError(f"cannot unlock {path}: wrong passphrase", code="bad_passphrase") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 key", code="bad_key")
    return key


def load_organisation(home: Path) -> Organisation:
    path = key_folder(home) / ORG_NAME
    if not path.is_file():
        raise NotFoundError(f"no signing key in {path.parent}", code="no_key")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Organisation(str(data["name"]), data.get("contact"))


def own_public(home: Path) -> Ed25519PublicKey | None:
    path = key_folder(home) / PUBLIC_NAME
    return read_public(path.read_bytes(), str(path)) if path.is_file() else None


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_raw(public: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes, base64 on one line (what other Ed25519 tools take)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw) + b"\n"


def _raw_candidates(data: bytes) -> list[bytes]:
    """The 32 bytes a key file may hold: as they are, in base64, or in hex."""
    text = data.strip()
    found = [data]
    try:
        found.append(base64.b64decode(text, validate=True))
    except ValueError:
        pass
    try:
        found.append(bytes.fromhex(text.decode("ascii")))
    except ValueError:
        pass
    return [raw for raw in found if len(raw) == 32]


def read_public(data: bytes, where: str) -> Ed25519PublicKey:
    """A public key as PEM, or raw 32 bytes in base64 or hex, or the raw bytes themselves."""
    if data.strip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(data.strip())
        except ValueError as exc:
            raise InputError(
                f"{where}: cannot read the public key: {exc}", code="bad_key"
            ) from None
        if isinstance(key, Ed25519PublicKey):
            return key
        raise InputError(f"{where}: not an Ed25519 public key", code="bad_key")
    for raw in _raw_candidates(data):
        return Ed25519PublicKey.from_public_bytes(raw)
    raise InputError(f"{where}: not an Ed25519 public key (PEM or 32 raw bytes)", code="bad_key")


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def signature_valid(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
