"""Reported URLs: validated and normalised, never fetched.

A URL is accepted if it is http or https (a bare ``example.com/page`` is read as http), has
no user name or password, a host that is a DNS name with at least one dot or an IP literal,
a valid port, and fits the length limits. The normalised form is what duplicates are found
by: scheme and host lower-cased, an internationalised host in punycode (IDNA), the default
port and the fragment dropped, an empty path made ``/``, other characters percent-encoded.
An IP-literal host is allowed (material is served that way) but flagged ``host_is_ip``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from safelight.constants import HOTLINE_MAX_HOST_LENGTH, HOTLINE_MAX_URL_LENGTH

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


class UrlProblem(ValueError):
    """Why a URL was refused: ``code`` for fronts to word, ``args[0]`` in English."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ReportedUrl:
    submitted: str  # as typed (trimmed)
    url: str  # normalised
    host: str  # punycode, or the IP address (IPv6 without brackets)
    host_is_ip: bool

    @property
    def key(self) -> str:
        """SHA-256 of the normalised URL: what duplicates are found by."""
        return hashlib.sha256(self.url.encode()).hexdigest()


def parse_url(text: str) -> ReportedUrl:
    """``text`` validated and normalised, or UrlProblem saying why not."""
    submitted = text.strip()
    if not submitted:
        raise UrlProblem("url_empty", "the URL is empty")
    if len(submitted) > HOTLINE_MAX_URL_LENGTH:
        raise UrlProblem("url_too_long", f"longer than {HOTLINE_MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 for char in submitted):
        raise UrlProblem("url_invalid", "a URL cannot contain spaces or control characters")
    scheme_match = _SCHEME.match(submitted)
    if scheme_match is None or submitted.startswith("//"):
        submitted_with_scheme = "http://" + submitted.removeprefix("//")
    elif not submitted[scheme_match.end() :].startswith("//") and "." in scheme_match.group(1):
        submitted_with_scheme = "http://" + submitted  # "example.com:8080/x"
    else:
        submitted_with_scheme = submitted
    try:
        parts = urlsplit(submitted_with_scheme)
        port = parts.port
    except ValueError:
        raise UrlProblem("url_invalid", "not a valid URL (host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UrlProblem("url_scheme", f"only http and https URLs are taken, not {scheme}:")
    if parts.username is not None or parts.password is not None:
        raise UrlProblem("url_credentials", "the URL must not contain a user name or password")
    host, is_ip = _host(parts.hostname or "")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    query = quote(parts.query, safe=_SAFE_QUERY)
    url = urlunsplit((scheme, netloc, path, query, ""))
    if len(url) > HOTLINE_MAX_URL_LENGTH:
        raise UrlProblem("url_too_long", f"longer than {HOTLINE_MAX_URL_LENGTH} characters")
    return ReportedUrl(submitted=submitted, url=url, host=host, host_is_ip=is_ip)


def _host(raw: str) -> tuple[str, bool]:
    """The host in its stored form and whether it is an IP literal."""
    if not raw:
        raise UrlProblem("url_host", "the URL has no host")
    try:
        return str(ipaddress.ip_address(raw)), True
    except ValueError:
        pass
    name = raw.rstrip(".").lower()
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlProblem("url_host", "the host name is not valid") from None
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > HOTLINE_MAX_HOST_LENGTH
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise UrlProblem("url_host", "the host name is not valid")
    return ascii_name, False
