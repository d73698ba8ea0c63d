"""Fetching a URL for HMA's ``?url=`` routes, only from hosts an operator allowed.

Safelight never fetches reported content by itself: with the ``hma_fetch_allowed_hosts``
setting unset (the default) every ``?url=`` is refused. An operator may name hosts they
trust (their own media store); a URL is fetched only when its host is one of them or a
subdomain of one, over http or https, and every redirect is checked the same way (HMA
follows redirects unchecked). The body is streamed to a temporary file, at most
``limit`` bytes, and dropped after hashing.
"""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

from safelight.hma.signals import HmaError

UNSAFE = "Invalid or unsafe URL provided"
TIMEOUT_SECONDS = 30  # HMA's download timeout (hma-api.md 3)
_CHUNK = 1 << 16
_SPOOL_BYTES = 1 << 20


def allowed_hosts(setting: str | None) -> tuple[str, ...]:
    """The setting's comma-separated host names, lower-cased."""
    return tuple(h.strip().lower().rstrip(".") for h in (setting or "").split(",") if h.strip())


def check_url(url: str, allowed: Sequence[str]) -> None:
    """HMA's URL safety rule with the allow-list always on (400 ``Invalid or unsafe URL``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a non-numeric port
    except ValueError:
        raise HmaError.message(400, UNSAFE) from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        raise HmaError.message(400, UNSAFE)
    if not any(host == h or host.endswith("." + h) for h in allowed):
        raise HmaError.message(400, UNSAFE)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allowed: Sequence[str]) -> None:
        self.allowed = allowed

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        check_url(newurl, self.allowed)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@contextmanager
def fetch(url: str, allowed: Sequence[str], limit: int) -> Iterator[tuple[BinaryIO, str | None]]:
    """(the body in a temporary file, its MIME type or None); HmaError with HMA's texts."""
    check_url(url, allowed)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _CheckedRedirects(allowed)
    )
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as body:
        try:
            with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise HmaError.message(413, "Content too large")
                size = 0
                while chunk := response.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise HmaError.message(413, "Content too large")
                    body.write(chunk)
                mime = (
                    response.headers.get_content_type()
                    if "Content-Type" in response.headers
                    else None
                )
        except urllib.error.HTTPError as exc:
            raise HmaError.message(400, f"Failed to fetch URL: {exc}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise HmaError.message(400, f"Failed to fetch URL: {exc}") from None
        body.seek(0)
        yield cast(BinaryIO, body), mime


def content_type_of(hint: str | None, mime: str | None) -> str:
    """The hint if given, else the MIME prefix (image/* photo, video/* video)."""
    from safelight.constants import HMA_CONTENT_TYPES

    if hint is not None:
        if hint not in HMA_CONTENT_TYPES:
            raise HmaError.message(400, f"no such content_type: {hint!r}")
        return hint
    prefix = (mime or "").split("/")[0]
    if prefix in ("image", "video"):
        return "photo" if prefix == "image" else "video"
    raise HmaError.message(
        400,
        f"unsupported url ContentType: {mime or ''!r}, if you know the expected type, "
        "provide it with the content_type query param",
    )
