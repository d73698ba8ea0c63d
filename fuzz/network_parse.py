"""Sighting-log fields: the numba kernels held against the plain definitions (differential).

Each line of the input is one field value. The fast path (``parse_ips``/``parse_timestamps``,
numba kernels with a fallback) must give exactly what the definitions (``ip_reference``,
``timestamp_reference``: ``ipaddress`` and pandas) give, good or bad, value and reason; the
geolocation kernel ``ip_values`` must give the address ``ipaddress`` gives.
"""

from __future__ import annotations

import ipaddress

import pyarrow as pa

from safelight.network.arrowtext import string_buffers
from safelight.network.fastparse import ip_values
from safelight.network.parse import (
    _Reasons,
    _show,
    ip_reference,
    parse_ips,
    parse_timestamps,
    timestamp_reference,
)

from .common import check


def _check_ips(texts: list[str]) -> None:
    reasons = _Reasons(len(texts))
    got = parse_ips(pa.array(texts, pa.string()), reasons).to_pylist()
    for i, text in enumerate(texts):
        expected = ip_reference(text)
        if expected is None:
            check(bool(reasons.bad[i]), f"fast path accepts the IP {text!r} as {got[i]!r}")
        else:
            check(not reasons.bad[i], f"fast path rejects the IP {text!r}: {reasons.text}")
            check(got[i] == expected, f"IP {text!r}: fast {got[i]!r}, reference {expected!r}")
    canonical = [text for text in got if text]
    if canonical:
        hi, lo, v4 = ip_values(*string_buffers(pa.array(canonical, pa.string())))
        for k, text in enumerate(canonical):
            addr = ipaddress.ip_address(text)
            value = (int(hi[k]) << 64) | int(lo[k])
            check(value == int(addr), f"ip_values({text!r}) = {value}, not {int(addr)}")
            check(bool(v4[k]) == (addr.version == 4), f"ip_values({text!r}) version")


def _check_timestamps(texts: list[str]) -> None:
    reasons = _Reasons(len(texts))
    got = parse_timestamps(pa.array(texts, pa.string()), reasons)
    for i, text in enumerate(texts):
        value, reason = timestamp_reference(text)
        if value is None:
            check(bool(reasons.bad[i]), f"fast path accepts {text!r} as {got[i]}")
            expected = str(reason).format(_show(text))
            check(reasons.text[i] == [expected], f"{text!r}: {reasons.text[i]} vs {expected!r}")
        else:
            check(not reasons.bad[i], f"fast path rejects {text!r}: {reasons.text.get(i)}")
            check(int(got[i]) == value, f"{text!r}: fast {got[i]}, reference {value}")


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    # Logs reach the kernels as Arrow strings: valid UTF-8, trimmed (parse._text).
    texts = [line.strip() for line in data.decode("utf-8", "replace").split("\n")][:64]
    _check_ips(texts)
    _check_timestamps(texts)


def seeds() -> dict[str, bytes]:
    return {
        "ips": b"192.0.2.1\n::ffff:198.51.100.7\n[2001:db8::1]\n2001:DB8:0:0:1:0:0:1\n01.2.3.4\n",
        "times": (
            b"2024-01-01T10:00:00Z\n2024-01-01 12:00:00+02:00\n1704103200.5\n"
            b"2024-02-30T10:00:00Z\n2024-01-01T10:00:00.123456789-0530\n2024-01-01T10:00 UTC\n"
        ),
        "mixed": b"\n::\n1.2.3\n2261-12-31T23:59:59z\n99999999999\n",
    }
