"""Captures at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256), never kept in clear.

``hotline_media_key`` holds one or more Fernet keys, comma-separated: the first seals, every
one opens (``MultiFernet``), so a key is rotated by putting the new one first and dropping
the old one once nothing sealed with it is left (captures expire after ``hotline_media_days``).
A sealed capture is stored as the token's raw bytes (base64 would add a third).
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from safelight.errors import StoreError


class Sealer:
    """Seals and opens bytes with the configured keys."""

    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise ValueError("hotline_media_key is empty: give at least one Fernet key")
        try:
            self._fernet = MultiFernet([Fernet(part.encode()) for part in parts])
        except (ValueError, binascii.Error):
            # Never echo the key: the message names the setting and the expected form only.
            raise ValueError(
                "hotline_media_key must be Fernet keys (32 url-safe base64-encoded bytes "
                "each, comma-separated)"
            ) from None

    def seal(self, data: bytes) -> bytes:
        return base64.urlsafe_b64decode(self._fernet.encrypt(data))

    def open(self, sealed: bytes, what: str) -> bytes:
        try:
            return self._fernet.decrypt(base64.urlsafe_b64encode(sealed))
        except InvalidToken:
            raise StoreError(
                f"{what} cannot be decrypted with the configured hotline_media_key (was a key "
                "removed while captures sealed with it were still kept?)",
                code="capture_key",
            ) from None


def media_cipher(keys: str) -> Sealer:
    """The sealer of ``keys``; ValueError (naming the setting, never the key) when bad."""
    return Sealer(keys)
