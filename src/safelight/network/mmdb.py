"""A small writer of MaxMind DB (.mmdb) files, following the public MaxMind DB spec v2.0.

Safelight reads production geolocation with MaxMind's own ``maxminddb`` reader; this writer
exists so tests, the simulator and the benchmark can make a database of their own over the
documentation ranges (RFC 5737, RFC 3849) where every answer is known. The reader is the
oracle: whatever this writes must read back identically through ``maxminddb``.

Layout: a binary search tree over the 128 address bits (IPv4 lives at ::a.b.c.d), 16 zero
bytes, a data section of typed values, then the metadata marker and a metadata map.
"""

from __future__ import annotations

import ipaddress
import struct
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
DATA_SEPARATOR = b"\x00" * 16
# Type numbers of the data section (spec: "Output Data Section").
_POINTER, _STRING, _DOUBLE, _BYTES, _UINT16, _UINT32, _MAP = 1, 2, 3, 4, 5, 6, 7
_INT32, _UINT64, _ARRAY, _BOOLEAN = 8, 9, 11, 14

_EMPTY = -1


def _control(type_num: int, size: int) -> bytes:
    """Control byte(s): 3 type bits and 5 size bits, with the extended forms for both."""
    out = bytearray()
    first_type = type_num if type_num <= 7 else 0
    if size < 29:
        out.append((first_type << 5) | size)
        tail = b""
    elif size < 29 + 256:
        out.append((first_type << 5) | 29)
        tail = bytes([size - 29])
    elif size < 285 + 65536:
        out.append((first_type << 5) | 30)
        tail = struct.pack(">H", size - 285)
    else:
        out.append((first_type << 5) | 31)
        tail = struct.pack(">I", size - 65821)[1:]
    if type_num > 7:
        out.append(type_num - 7)
    return bytes(out) + tail


def _uint(type_num: int, value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return _control(type_num, len(raw)) + raw


def encode_value(value: Any) -> bytes:
    """One value in the data section's encoding (no pointers: values are small here)."""
    if isinstance(value, bool):
        return _control(_BOOLEAN, int(value))
    if isinstance(value, int):
        if 0 <= value < 1 << 16:
            return _uint(_UINT16, value)
        if 0 <= value < 1 << 32:
            return _uint(_UINT32, value)
        if 0 <= value < 1 << 64:
            return _uint(_UINT64, value)
        if -(1 << 31) <= value < 0:
            return _control(_INT32, 4) + struct.pack(">i", value)
        raise ValueError(f"integer {value} does not fit an MMDB type")
    if isinstance(value, float):
        return _control(_DOUBLE, 8) + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(_STRING, len(raw)) + raw
    if isinstance(value, bytes):
        return _control(_BYTES, len(value)) + value
    if isinstance(value, Mapping):
        body = b"".join(encode_value(str(k)) + encode_value(v) for k, v in value.items())
        return _control(_MAP, len(value)) + body
    if isinstance(value, list | tuple):
        return _control(_ARRAY, len(value)) + b"".join(encode_value(v) for v in value)
    raise TypeError(f"cannot encode {type(value).__name__} in an MMDB")


def _bits(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    """The network as (128-bit integer, prefix length) in the IPv6 tree (IPv4 at ::/96)."""
    if network.version == 4:
        return int(network.network_address), network.prefixlen + 96
    return int(network.network_address), network.prefixlen


class _Tree:
    """The search tree: nodes are [left, right]; a record is a node index, data or empty."""

    def __init__(self) -> None:
        self.nodes: list[list[int | tuple[str, int]]] = [[_EMPTY, _EMPTY]]

    def insert(self, address: int, prefix: int, data_id: int) -> None:
        node = 0
        for depth in range(prefix):
            bit = (address >> (127 - depth)) & 1
            if depth == prefix - 1:
                self.nodes[node][bit] = ("data", data_id)
                return
            child = self.nodes[node][bit]
            if isinstance(child, tuple) or child == _EMPTY:
                # Going below a shorter network: both halves inherit what was there.
                self.nodes.append([child, child])
                self.nodes[node][bit] = len(self.nodes) - 1
                child = len(self.nodes) - 1
            node = child


def write_mmdb(
    path: Path,
    networks: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    database_type: str = "Safelight-Test",
    description: str = "Safelight test geolocation",
) -> Path:
    """Write ``(cidr, record)`` pairs as an IPv6 MMDB; later networks refine earlier ones."""
    tree = _Tree()
    data = bytearray()
    offsets: dict[bytes, int] = {}
    data_offsets: list[int] = []
    for cidr, record in networks:
        encoded = encode_value(record)
        if encoded not in offsets:
            offsets[encoded] = len(data)
            data += encoded
        data_offsets.append(offsets[encoded])
        address, prefix = _bits(ipaddress.ip_network(cidr, strict=True))
        if prefix == 0:
            raise ValueError("a /0 network cannot be stored in the tree")
        tree.insert(address, prefix, len(data_offsets) - 1)

    node_count = len(tree.nodes)
    largest = node_count + 16 + len(data)
    record_size = 24 if largest < 1 << 24 else 32

    def record_value(rec: int | tuple[str, int]) -> int:
        if isinstance(rec, tuple):
            return node_count + 16 + data_offsets[rec[1]]
        return node_count if rec == _EMPTY else rec

    out = bytearray()
    for left, right in tree.nodes:
        lv, rv = record_value(left), record_value(right)
        if record_size == 24:
            out += lv.to_bytes(3, "big") + rv.to_bytes(3, "big")
        else:
            out += lv.to_bytes(4, "big") + rv.to_bytes(4, "big")
    out += DATA_SEPARATOR + data
    metadata = {
        "node_count": node_count,
        "record_size": record_size,
        "ip_version": 6,
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": 2,
        "binary_format_minor_version": 0,
        "build_epoch": int(time.time()),
        "description": {"en": description},
    }
    # node_count and build_epoch are uint32/uint64 in the spec whatever their magnitude.
    meta = bytearray(_control(_MAP, len(metadata)))
    for key, value in metadata.items():
        meta += encode_value(key)
        if key == "node_count":
            meta += _uint(_UINT32, value)  # type: ignore[arg-type]
        elif key == "build_epoch":
            meta += _uint(_UINT64, value)  # type: ignore[arg-type]
        else:
            meta += encode_value(value)
    out += METADATA_MARKER + meta
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(out))
    tmp.replace(path)
    return path
