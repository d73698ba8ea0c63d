"""Where a reported host is: host -> IP addresses (DNS) -> country, AS and network (offline).

Safelight never fetches reported content: locating a host takes one DNS question and an
offline lookup in a geolocation database, nothing more. The resolver is pluggable
(``HostResolver``): the service uses ``ctx.extensions["hotline_resolver"]`` when one is set
there (tests put a fake DNS in front of the real geolocation), else ``SystemResolver``.

``SystemResolver`` asks the system resolver (``socket.getaddrinfo``, so /etc/hosts, the
configured DNS servers and their caches apply) under a time limit, skips DNS for IP-literal
hosts, and locates each address with the network module's geolocation
(``safelight.network.geo``: the configured MaxMind .mmdb files, else the embedded DB-IP Lite
country table, else none). A failure (no such name, no address, timeout) is an answer with
an ``outcome``, never an exception: hotlines record that a host did not resolve, and when.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from safelight.errors import SafelightError
from safelight.network.geo import UNKNOWN, GeoDatabase


class Outcome(StrEnum):
    RESOLVED = "resolved"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_ADDRESS = "no_address"  # the name exists but has no A or AAAA record
    TIMEOUT = "timeout"  # no answer within the time limit
    DNS_ERROR = "dns_error"  # the resolver failed (server failure, temporary error)


@dataclass(frozen=True, slots=True)
class AddressInfo:
    """One address of a host and where the geolocation database places it."""

    ip: str
    country: str | None = None  # ISO 3166 alpha-2
    asn: int | None = None
    network: str | None = None  # the AS's organisation: the hosting network

    def to_dict(self) -> dict[str, Any]:
        return {"ip": self.ip, "country": self.country, "asn": self.asn, "network": self.network}


@dataclass(frozen=True, slots=True)
class Resolution:
    """One attempt to locate ``host``. The first address (in the resolver's preference
    order) is the one the item records; ``addresses`` holds them all."""

    host: str
    resolved_at: datetime
    outcome: Outcome
    addresses: tuple[AddressInfo, ...] = ()
    message: str = ""  # why it failed, in English
    source: str = ""  # the geolocation database that answered (for attribution)

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.RESOLVED

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(address.ip for address in self.addresses)

    @property
    def primary(self) -> AddressInfo | None:
        return self.addresses[0] if self.addresses else None

    @property
    def country(self) -> str | None:
        return self.primary.country if self.primary else None

    @property
    def asn(self) -> int | None:
        return self.primary.asn if self.primary else None

    @property
    def network(self) -> str | None:
        return self.primary.network if self.primary else None


class HostResolver(Protocol):
    def resolve(self, host: str) -> Resolution: ...


class DnsFailure(Exception):
    """A DNS answer that is not an address list; ``outcome`` says which kind."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


# host -> addresses, in preference order; raises DnsFailure (or OSError) when there are none.
DnsLookup = Callable[[str], Sequence[str]]

_NO_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def system_addresses(host: str) -> list[str]:
    """The addresses ``socket.getaddrinfo`` gives for ``host`` (TCP), in its order, once each."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        if exc.errno in _NO_NAME:
            raise DnsFailure(Outcome.NXDOMAIN, f"{host}: no such name ({exc.strerror})") from None
        raise DnsFailure(Outcome.DNS_ERROR, f"{host}: {exc.strerror}") from None
    found: list[str] = []
    for info in infos:
        address = str(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        if address not in found:
            found.append(address)
    return found


def ip_literal(host: str) -> str | None:
    """``host`` as a canonical IP address if it is one (brackets allowed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


# getaddrinfo cannot be interrupted: it runs in these threads and the caller stops waiting
# at the time limit (a stuck lookup holds one thread until the system resolver gives up).
_DNS_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="safelight-dns")


@dataclass
class SystemResolver:
    """DNS through ``dns`` (default: the system resolver) within ``timeout`` seconds, then
    each address located in ``geo``."""

    geo: GeoDatabase
    timeout: float = 5.0
    dns: DnsLookup = system_addresses
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def resolve(self, host: str) -> Resolution:
        started = self.clock()
        literal = ip_literal(host)
        try:
            ips = [literal] if literal else self._lookup(host)
        except DnsFailure as failure:
            return Resolution(host, started, failure.outcome, message=str(failure))
        except OSError as exc:  # anything else the resolver raised
            return Resolution(host, started, Outcome.DNS_ERROR, message=f"{host}: {exc}")
        if not ips:
            return Resolution(host, started, Outcome.NO_ADDRESS, message=f"{host}: no address")
        addresses, problem = self._locate(ips)
        return Resolution(
            host, started, Outcome.RESOLVED, addresses, problem, source=self.geo.source.name
        )

    def _lookup(self, host: str) -> list[str]:
        future = _DNS_THREADS.submit(self.dns, host)
        try:
            found = future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            raise DnsFailure(
                Outcome.TIMEOUT, f"{host}: no DNS answer within {self.timeout:g} s"
            ) from None
        return [str(ipaddress.ip_address(ip)) for ip in found]

    def _locate(self, ips: list[str]) -> tuple[tuple[AddressInfo, ...], str]:
        try:
            answers = self.geo.lookup(ips)
        except SafelightError as exc:  # a corrupt database: the addresses stand, unplaced
            return tuple(AddressInfo(ip) for ip in ips), f"not located: {exc.message}"
        located = tuple(
            AddressInfo(
                ip,
                country if country != UNKNOWN else None,
                asn or None,
                org or None,
            )
            for ip, country, asn, org in zip(
                ips, answers.countries, answers.asns, answers.as_orgs, strict=True
            )
        )
        return located, ""
