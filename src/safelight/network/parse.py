"""Validate and normalise one batch of raw sightings, naming every bad row and why.

The output is one row per good sighting with canonical values: instants as UTC microseconds,
IPs in their canonical text (IPv4-mapped IPv6 becomes IPv4), digests as lower-case hex, and
``file_key`` naming the file by its strongest digest (sha256 > sha1 > md5 > pdq). Bad rows
never stop the batch; each one gets every reason that applies.

Instants and IPs go through numba kernels (``fastparse``) first; text the kernels do not
recognise goes through the plain definitions here (``timestamp_reference``,
``ip_reference``), which decide validity and wording. Everything else is Arrow compute.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safelight.network.arrowtext import string_buffers
from safelight.network.fastparse import FALLBACK, NO_ZONE, canonical_ips, iso_instants
from safelight.network.readers import RawBatch
from safelight.network.rowhash import hash_strings, mix_columns
from safelight.signals.types import registry

# Digest field -> hex length, from the signal-type registry. A ``digest`` field holds a file
# digest, so its length names the type (64 is SHA-256 there: PDQ has its own field).
HEX_LENGTHS = {name: registry.get(name).key_bytes * 2 for name in ("md5", "sha1", "sha256", "pdq")}
BY_LENGTH = registry.unambiguous_lengths(registry.get(n) for n in ("md5", "sha1", "sha256"))
_ZONE = re.compile(r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?|\s?UTC|\s?GMT)$")
_EPOCH = re.compile(r"^\d{9,11}(?:\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
TEXT_FIELDS = (
    "timestamp",
    "ip",
    "port",
    "peer_id",
    "client",
    "protocol",
    "md5",
    "sha1",
    "sha256",
    "digest",
    "pdq",
    "file_name",
    "size",
)
# Columns whose values identify a sighting (the row hash), in a fixed order.
IDENTITY = ("ip", "peer", "client", "protocol", "md5", "sha1", "sha256", "pdq", "file_name")


@dataclass
class ParsedBatch:
    good: pa.Table
    problems: list[tuple[int, str]]


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


class _Reasons:
    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.text: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, values: pa.Array, template: str) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.bad[idx] = True
        shown = values.take(pa.array(idx)).to_pylist()
        for i, value in zip(idx.tolist(), shown, strict=True):
            self.text.setdefault(i, []).append(template.format(_show(value)))


def _empty(n: int) -> pa.Array:
    return pc.fill_null(pa.nulls(n, pa.string()), "")


def _text(batch: RawBatch, mapping: dict[str, str], field: str) -> pa.Array:
    column = mapping.get(field)
    n = len(batch)
    if column is None or column not in batch.columns:
        return _empty(n)
    arr = batch.columns[column]
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(arr, ""))


def _bools(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)


def timestamp_reference(text: str) -> tuple[int | None, str | None]:
    """The definition: (UTC microseconds, None) or (None, reason template)."""
    if text == "":
        return None, "timestamp: missing"
    if _EPOCH.match(text):
        return int((Decimal(text) * 1_000_000).to_integral_value()), None
    if not _DATE.match(text):
        return None, "timestamp: {} is not an ISO 8601 date-time or epoch"
    if not _ZONE.search(text):
        return None, "timestamp: {} has no time zone"
    normal = re.sub(r"\s?(UTC|GMT)$", "+00:00", text)
    # RFC 3339 allows a lower-case "z" (as the kernel does); pandas 3.1's ISO 8601 parser
    # no longer accepts it, so the definition spells it the way pandas reads it.
    normal = normal[:-1] + "Z" if normal.endswith("z") else normal
    parsed = pd.to_datetime(pd.Series([normal]), utc=True, format="ISO8601", errors="coerce")
    if parsed.isna().iloc[0]:
        return None, "timestamp: {} is not an ISO 8601 date-time"
    return int(parsed.dt.as_unit("us").astype("int64").iloc[0]), None


def ip_reference(text: str) -> str | None:
    """The definition: canonical text of an IP, or None if it is not one."""
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id is not None:
        # A zone index ('fe80::1%eth0') names a local link, not a peer, and may hold any text.
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def parse_timestamps(raw: pa.Array, reasons: _Reasons) -> np.ndarray:
    micros, status = iso_instants(*string_buffers(raw))
    reasons.add(status == NO_ZONE, raw, "timestamp: {} has no time zone")
    slow = np.flatnonzero(status == FALLBACK)
    if len(slow):
        values = raw.take(pa.array(slow)).to_pylist()
        for row, text in zip(slow.tolist(), values, strict=True):
            value, reason = timestamp_reference(text)
            if value is None:
                reasons.bad[row] = True
                reasons.text.setdefault(row, []).append(str(reason).format(_show(text)))
            else:
                micros[row] = value
    return np.asarray(micros)


def parse_ips(raw: pa.Array, reasons: _Reasons) -> pa.Array:
    data, offsets = string_buffers(raw)
    out, out_offsets, status = canonical_ips(data, offsets)
    texts = pa.StringArray.from_buffers(len(raw), pa.py_buffer(out_offsets), pa.py_buffer(out))
    slow = np.flatnonzero(status == FALLBACK)
    if not len(slow):
        return texts
    values = raw.take(pa.array(slow)).to_pylist()
    fixed = texts.to_numpy(zero_copy_only=False).astype(object)
    for row, text in zip(slow.tolist(), values, strict=True):
        canonical = ip_reference(text)
        if canonical is None:
            reasons.bad[row] = True
            message = (
                "ip: missing"
                if text == ""
                else (f"ip: {_show(text)} is not an IPv4 or IPv6 address")
            )
            reasons.text.setdefault(row, []).append(message)
            fixed[row] = ""
        else:
            fixed[row] = canonical
    return pa.array(fixed, pa.string())


def _optional_int(raw: pa.Array, reasons: _Reasons, name: str, digits: int) -> np.ndarray:
    present = _bools(pc.not_equal(raw, ""))
    ok = _bools(pc.match_substring_regex(raw, f"^\\d{{1,{digits}}}$")) & present
    values = np.full(len(raw), -1, dtype=np.int64)
    if ok.any():
        values[ok] = pc.cast(raw.filter(pa.array(ok)), pa.int64()).to_numpy()
    limit = "0-65535"
    if name == "port":
        big = ok & (values > 65535)
        ok &= ~big
        values[big] = -1
    else:
        limit = "a non-negative integer"
    reasons.add(present & ~ok, raw, f"{name}: {{}} is not {limit}")
    return values


def _digests(
    text: dict[str, pa.Array], reasons: _Reasons, present_fields: set[str]
) -> tuple[dict[str, pa.Array], pa.Array]:
    out: dict[str, pa.Array] = {}
    mapped = {name for name in (*HEX_LENGTHS, "digest") if name in present_fields}
    for name, length in HEX_LENGTHS.items():
        if name not in mapped:
            out[name] = text[name]
            continue
        raw = pc.utf8_lower(text[name])
        present = _bools(pc.not_equal(raw, ""))
        ok = _bools(pc.match_substring_regex(raw, f"^[0-9a-f]{{{length}}}$"))
        reasons.add(present & ~ok, raw, f"{name}: {{}} is not {length} hex digits")
        out[name] = pc.if_else(pa.array(present & ok), raw, "")
    generic = pc.utf8_lower(text["digest"])
    present = (
        _bools(pc.not_equal(generic, ""))
        if "digest" in mapped
        else np.zeros(len(generic), dtype=bool)
    )
    lengths = pc.utf8_length(generic).to_numpy()
    hexed = _bools(pc.match_substring_regex(generic, "^[0-9a-f]+$"))
    ok = present & hexed & np.isin(lengths, list(BY_LENGTH))
    reasons.add(present & ~ok, generic, "digest: {} is not an MD5, SHA-1 or SHA-256 hex digest")
    for length, name in BY_LENGTH.items():
        fill = ok & (lengths == length) & _bools(pc.equal(out[name], ""))
        out[name] = pc.if_else(pa.array(fill), generic, out[name])
    key = _empty(len(generic))
    for name in ("pdq", "md5", "sha1", "sha256"):  # strongest last wins
        if name not in mapped and (name == "pdq" or "digest" not in mapped):
            continue
        has = pc.not_equal(out[name], "")
        key = pc.if_else(has, pc.binary_join_element_wise(name, out[name], ":"), key)
    none = _bools(pc.equal(key, ""))
    reasons.add(none & ~reasons.bad, key, "no valid file digest or PDQ in the row")
    return out, key


def row_hashes(table: pa.Table) -> np.ndarray:
    """A 64-bit identity of each sighting over every normalised field."""
    acc = table.column("ts").to_numpy().astype(np.uint64)
    mix_columns(acc, table.column("port").to_numpy().astype(np.uint64))
    mix_columns(acc, table.column("size").to_numpy().astype(np.uint64))
    for seed, name in enumerate(IDENTITY):
        column = table.column(name).combine_chunks()
        mix_columns(acc, hash_strings(*string_buffers(column), np.uint64(seed)))
    return np.asarray(acc, dtype=np.uint64)


def parse_batch(batch: RawBatch, mapping: dict[str, str]) -> ParsedBatch:
    from safelight.network.sightings import PART_SCHEMA

    n = len(batch)
    reasons = _Reasons(n)
    text = {f: _text(batch, mapping, f) for f in TEXT_FIELDS}
    ts = parse_timestamps(text["timestamp"], reasons)
    ip = parse_ips(text["ip"], reasons)
    port = _optional_int(text["port"], reasons, "port", 5)
    size = _optional_int(text["size"], reasons, "size", 18)
    digests, file_key = _digests(text, reasons, set(mapping))
    table = pa.table(
        {
            "ts": pa.array(ts, pa.int64()),
            "ip": ip,
            "port": pa.array(port.astype(np.int32)),
            "peer": text["peer_id"],
            "client": text["client"],
            "protocol": text["protocol"],
            "md5": digests["md5"],
            "sha1": digests["sha1"],
            "sha256": digests["sha256"],
            "pdq": digests["pdq"],
            "file_key": file_key,
            "file_name": text["file_name"],
            "size": pa.array(size),
            "line": pa.array(batch.lines, pa.int64()),
            "row_hash": pa.array(np.zeros(n, dtype=np.uint64)),
        }
    )
    good = table.filter(pa.array(~reasons.bad))
    good = good.set_column(
        good.schema.get_field_index("row_hash"), "row_hash", pa.array(row_hashes(good))
    ).cast(PART_SCHEMA)
    problems = [(int(batch.lines[i]), "; ".join(r)) for i, r in sorted(reasons.text.items())]
    problems.extend(batch.rejects)
    problems.sort()
    return ParsedBatch(good, problems)
