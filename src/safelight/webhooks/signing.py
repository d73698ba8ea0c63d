"""The signature header: ``Safelight-Signature: t=<unix seconds>,v1=<hex>`` where hex is
HMAC-SHA256 over ``<t>.<body bytes>`` with the endpoint's secret (docs/webhooks.md tells a
receiver how to verify it; the timestamp lets it refuse old replays of a captured request)."""

from __future__ import annotations

import hashlib
import hmac

# A receiver's default tolerance for the timestamp (seconds either side of its clock).
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` within ``tolerance`` of ``now``
    (what a receiver runs; also the tests' receiver)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
