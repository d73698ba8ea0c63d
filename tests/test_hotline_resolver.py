"""Locating reported hosts: DNS (a table here, the system resolver for names that need no
network), then the real geolocation lookup; failures are answers, not exceptions."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from safelight.hotline.resolver import (
    DnsFailure,
    Outcome,
    SystemResolver,
    ip_literal,
    system_addresses,
)
from safelight.network.geo import NoGeo
from tests.hotline_support import StaticDns, fake_resolver, geo_database


def test_a_name_is_located_address_by_address(tmp_path: Path) -> None:
    found = fake_resolver(tmp_path).resolve("images.example")
    assert found.ok and found.outcome == Outcome.RESOLVED
    assert found.ips == ("192.0.2.10", "198.51.100.7")
    # the item records the first address; every address keeps its own place
    assert (found.country, found.asn, found.network) == ("NL", 64500, "Example Hosting B.V.")
    assert [a.country for a in found.addresses] == ["NL", "DE"]
    assert "hosting.mmdb" in found.source and found.message == ""
    v6 = fake_resolver(tmp_path).resolve("v6.example")
    assert (v6.ips, v6.country, v6.network) == (("2001:db8::5",), "FR", "Exemple Hébergement SAS")


def test_ip_literals_skip_dns(tmp_path: Path) -> None:
    dns = StaticDns()
    resolver = fake_resolver(tmp_path, dns)
    assert resolver.resolve("203.0.113.9").country == "JP"
    assert resolver.resolve("2001:DB8::1").ips == ("2001:db8::1",)
    assert resolver.resolve("[2001:db8::2]").ips == ("2001:db8::2",)
    assert dns.asked == []
    assert ip_literal("example.com") is None and ip_literal("192.0.2.1") == "192.0.2.1"


@pytest.mark.parametrize(
    ("host", "outcome"),
    [
        ("gone.example", Outcome.NXDOMAIN),
        ("never-heard-of.example", Outcome.NXDOMAIN),
        ("empty.example", Outcome.NO_ADDRESS),
        ("slow.example", Outcome.TIMEOUT),
    ],
)
def test_failures_are_answers(tmp_path: Path, host: str, outcome: Outcome) -> None:
    found = fake_resolver(tmp_path).resolve(host)
    assert found.outcome == outcome and not found.ok
    assert found.addresses == () and found.country is None and found.primary is None
    assert host in found.message


def test_a_lookup_that_hangs_is_cut_at_the_time_limit(tmp_path: Path) -> None:
    release = threading.Event()

    def hanging(host: str) -> Sequence[str]:
        release.wait(10)
        return ["192.0.2.1"]

    resolver = SystemResolver(geo_database(tmp_path), timeout=0.05, dns=hanging)
    try:
        found = resolver.resolve("hangs.example")
    finally:
        release.set()
    assert found.outcome == Outcome.TIMEOUT and "0.05 s" in found.message


def test_other_resolver_errors_are_recorded(tmp_path: Path) -> None:
    def broken(host: str) -> Sequence[str]:
        raise OSError("resolver configuration unreadable")

    found = SystemResolver(geo_database(tmp_path), dns=broken).resolve("x.example")
    assert found.outcome == Outcome.DNS_ERROR and "unreadable" in found.message


def test_without_a_geolocation_database_addresses_stay_unplaced() -> None:
    found = SystemResolver(NoGeo(), dns=StaticDns()).resolve("forum.example")
    assert found.ok and found.ips == ("198.51.100.20",)
    assert (found.country, found.asn, found.network) == (None, None, None)


def test_the_system_resolver() -> None:
    # names that need no network: localhost (RFC 6761 6.3) and .invalid (RFC 6761 6.4)
    assert set(system_addresses("localhost")) & {"127.0.0.1", "::1"}
    with pytest.raises(DnsFailure) as caught:
        system_addresses("nothing-here.invalid")
    assert caught.value.outcome in {Outcome.NXDOMAIN, Outcome.DNS_ERROR}
    found = SystemResolver(NoGeo()).resolve("localhost")
    assert found.ok and found.primary is not None
