"""The numba kernels (parsing, row hashes, hash tables) held against plain definitions."""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.network.arrowtext import string_buffers
from safelight.network.hashtables import HashSet, group_ids, reduce_groups
from safelight.network.parse import (
    _Reasons,
    ip_reference,
    parse_ips,
    parse_timestamps,
    timestamp_reference,
)
from safelight.network.rowhash import hash_strings


def _v6_texts(value: int) -> list[str]:
    addr = ipaddress.IPv6Address(value)
    return [str(addr), addr.exploded, addr.exploded.upper(), f"[{addr}]"]


ip_text = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda v: str(ipaddress.IPv4Address(v))),
    st.integers(0, 2**128 - 1).flatmap(lambda v: st.sampled_from(_v6_texts(v))),
    # Sparse IPv6 (zero runs exercise "::" placement) and IPv4-mapped forms.
    st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xDB8]), min_size=8, max_size=8).map(
        lambda g: str(ipaddress.IPv6Address(sum(x << (16 * (7 - i)) for i, x in enumerate(g))))
    ),
    st.integers(0, 2**32 - 1).map(lambda v: f"::ffff:{ipaddress.IPv4Address(v)}"),
    st.text(alphabet="0123456789abcdefABCDEF:.[]x ", max_size=24),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ip_text, min_size=1, max_size=20))
def test_ip_kernel_agrees_with_ipaddress(texts: list[str]) -> None:
    reasons = _Reasons(len(texts))
    got = parse_ips(pa.array(texts, pa.string()), reasons).to_pylist()
    for i, text in enumerate(texts):
        expected = ip_reference(text)
        if expected is None:
            assert reasons.bad[i], text
        else:
            assert not reasons.bad[i] and got[i] == expected, text


stamp = st.builds(
    lambda y, mo, d, h, mi, s, frac, sep, zone: (
        f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}{s}{frac}{zone}"
    ),
    st.integers(1, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.sampled_from(["", ":00", ":59", ":60", ":7"]),
    st.sampled_from(["", ".5", ".123456", ".123456789", "."]),
    st.sampled_from(["T", " ", "t"]),
    st.sampled_from(["Z", "z", "+02:00", "-0530", "+01", "+2400", " UTC", "GMT", "", "+1:00"]),
)
timestamp_text = st.one_of(
    stamp,
    st.integers(0, 10**12).map(str),
    st.floats(1e9, 1e10, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.text(alphabet="0123456789-:TZ+. ", max_size=30),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(timestamp_text, min_size=1, max_size=20))
def test_instant_kernel_agrees_with_pandas_definition(texts: list[str]) -> None:
    reasons = _Reasons(len(texts))
    got = parse_timestamps(pa.array(texts, pa.string()), reasons)
    for i, text in enumerate(texts):
        value, reason = timestamp_reference(text)
        if value is None:
            assert reasons.bad[i], text
            assert reasons.text[i] == [str(reason).format(repr(text))]
        else:
            assert not reasons.bad[i] and got[i] == value, text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=30))
def test_string_hash_is_a_function_of_the_text(texts: list[str]) -> None:
    arr = pa.array(texts, pa.string())
    hashes = hash_strings(*string_buffers(arr), np.uint64(3))
    sliced = hash_strings(*string_buffers(arr.slice(1)), np.uint64(3))
    assert np.array_equal(hashes[1:], sliced)
    by_text: dict[str, int] = {}
    for text, h in zip(texts, hashes.tolist(), strict=True):
        assert by_text.setdefault(text, h) == h
    assert len(set(hashes.tolist())) == len(set(texts))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-5, 40), st.integers(-(2**40), 2**40)), max_size=200),
)
def test_hash_grouping_matches_pandas(rows: list[tuple[int, int]]) -> None:
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    values = np.array([v for _, v in rows], dtype=np.int64)
    ids, uniques = group_ids(keys)
    frame = pd.DataFrame({"k": keys, "v": values})
    expected = frame.groupby("k", sort=False)["v"].agg(["sum", "min", "max", "size"])
    assert uniques.tolist() == expected.index.tolist()  # first-appearance order
    for op, name in ((0, "sum"), (1, "min"), (2, "max")):
        got = reduce_groups(ids, values, len(uniques), op)
        assert got.tolist() == expected[name].tolist()
    assert np.bincount(ids, minlength=len(uniques)).tolist() == expected["size"].tolist()


def test_hash_set_matches_python_set() -> None:
    rng = np.random.default_rng(5)
    seen: set[int] = set()
    store = HashSet(4)  # small on purpose: it must grow
    for _ in range(20):
        batch = rng.integers(0, 500, 300).astype(np.uint64)
        fresh = store.add(batch)
        expected = []
        for value in batch.tolist():
            expected.append(value not in seen)
            seen.add(value)
        assert fresh.tolist() == expected
    assert store.count == len(seen)
