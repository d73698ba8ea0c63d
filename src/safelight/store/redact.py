"""Credentials out of every message: database URLs and DSNs are shown without passwords.

``redact`` is the one place that hides them. The store runs every message it builds, and the
text of every database driver error it re-raises, through it; the CLI runs every error
message through it again before printing, so a URL that reaches a message by another road
is hidden too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

HIDDEN = "***"

# scheme://user:PASSWORD@host: the password runs to the last '@' before a space or a quote,
# so an '@' left unencoded in it is hidden too.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<password>[^\s'\"]*)@"
)
# password=VALUE in a libpq DSN (host=h password=p) or a URL query (?password=p&...).
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)"
    r"(?P<password>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s'\"&;]+)",
    re.IGNORECASE,
)


def url_passwords(url: str) -> tuple[str, ...]:
    """The passwords in ``url`` (as written and percent-decoded), to hide wherever else a
    driver may repeat them."""
    found = [m.group("password") for m in _URL_PASSWORD.finditer(url)]
    found += [m.group("password").strip("'\"") for m in _KEYWORD_PASSWORD.finditer(url)]
    secrets = {s for p in found for s in (p, unquote(p)) if s}
    return tuple(sorted(secrets, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the password of every URL and DSN in it, and every one of ``secrets``,
    replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{HIDDEN}@", text)
    text = _KEYWORD_PASSWORD.sub(lambda m: f"{m.group('head')}{HIDDEN}", text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, HIDDEN)
    return text
