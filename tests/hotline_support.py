"""Helpers for the hotline workspace tests: reports at chosen times, a DNS that answers from
a table, and a geolocation database over the documentation ranges (RFC 5737, RFC 3849).

The fake is DNS only (an outside system the tests cannot reach): locating the answers goes
through Safelight's real geolocation (``MmdbGeo`` over a file written by
``safelight.network.mmdb``) and the real ``SystemResolver``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from safelight.hotline.reports import ReportStore, Submission
from safelight.hotline.resolver import DnsFailure, Outcome, SystemResolver
from safelight.network.geo import MmdbGeo
from safelight.network.mmdb import write_mmdb
from safelight.service.context import ServiceContext
from safelight.store import Database

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Documentation ranges only: no real network is named.
NETWORKS = {
    "192.0.2.0/24": ("NL", 64500, "Example Hosting B.V."),
    "198.51.100.0/24": ("DE", 64501, "Beispiel Rechenzentrum GmbH"),
    "203.0.113.0/24": ("JP", 64502, "Rei Hosting K.K."),
    "2001:db8::/32": ("FR", 64503, "Exemple Hébergement SAS"),
}
DNS_TABLE: dict[str, Sequence[str] | Outcome] = {
    "images.example": ["192.0.2.10", "198.51.100.7"],
    "forum.example": ["198.51.100.20"],
    "files.example": ["203.0.113.5"],
    "v6.example": ["2001:db8::5"],
    "gone.example": Outcome.NXDOMAIN,
    "slow.example": Outcome.TIMEOUT,
    "empty.example": [],
}


class StaticDns:
    """DNS answers from a table; a host not in it does not exist. Counts the questions."""

    def __init__(self, table: Mapping[str, Sequence[str] | Outcome] = DNS_TABLE) -> None:
        self.table = dict(table)
        self.asked: list[str] = []

    def __call__(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        answer = self.table.get(host, Outcome.NXDOMAIN)
        if isinstance(answer, Outcome):
            raise DnsFailure(answer, f"{host}: {answer.value} (test DNS)")
        return list(answer)


def geo_database(folder: Path) -> MmdbGeo:
    path = write_mmdb(
        folder / "hosting.mmdb",
        [
            (
                cidr,
                {
                    "country": {"iso_code": country},
                    "autonomous_system_number": asn,
                    "autonomous_system_organization": org,
                },
            )
            for cidr, (country, asn, org) in NETWORKS.items()
        ],
    )
    return MmdbGeo([path])


def fake_resolver(folder: Path, dns: StaticDns | None = None) -> SystemResolver:
    """The real resolver with the table DNS and the documentation-range database."""
    return SystemResolver(geo_database(folder), timeout=2.0, dns=dns or StaticDns())


class Reports:
    """Submits reports at chosen times (``at``: hours after START)."""

    def __init__(self, db: Database) -> None:
        self.now = START
        self.store = ReportStore(db, clock=lambda: self.now)

    def submit(
        self,
        *urls: str,
        at: float = 0,
        site_type: str | None = None,
        description: str = "",
        contact: str | None = None,
        language: str = "en",
    ) -> str:
        self.now = START + timedelta(hours=at)
        return self.store.submit(
            Submission(
                urls=list(urls),
                site_type=site_type,
                description=description,
                contact=contact,
                language=language,
            )
        ).reference

    def item_ids(self, reference: str) -> list[int]:
        return [int(item["id"]) for item in self.store.items(reference)]


def app_with_resolver(db: Database, resolver: SystemResolver, **overrides: Any) -> FastAPI:
    """The service app whose host lookups go through ``resolver`` (as a deployment would
    plug in its own: ``ctx.extensions["hotline_resolver"]``)."""
    from tests.service_support import make_app

    def with_resolver(_: FastAPI, ctx: ServiceContext) -> None:
        ctx.extensions["hotline_resolver"] = resolver

    return make_app(db, extend=with_resolver, **overrides)
