"""Validate and normalise one batch of raw sightings, naming every bad row and why.

The output is one row per good sighting with canonical values: instants as UTC microseconds,
IPs in their canonical text (IPv4-mapped IPv6 becomes IPv4), digests as lower-case hex, and
``file_key`` naming the file by its strongest digest (sha256 > sha1 > md5 > pdq). Bad rows
never stop the batch; each one gets every reason that applies.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from safelight.network.readers import RawBatch

# Digest field -> hex length (safelight.constants.DIGEST_HEX_LENGTHS plus PDQ's 64).
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
# An instant must carry its zone: Z, +hh:mm, +hhmm, +hh, or UTC/GMT.
_ZONE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?|\s?UTC|\s?GMT)$"
_EPOCH = r"^\d{9,11}(?:\.\d+)?$"
_DATE = r"^\d{4}-\d{2}-\d{2}"
OUTPUT_COLUMNS = (
    "ts", "ip", "port", "peer", "client", "protocol", "md5", "sha1", "sha256", "pdq",
    "file_key", "file_name", "size", "line", "row_hash",
)  # fmt: skip


@dataclass
class ParsedBatch:
    good: pd.DataFrame
    problems: list[tuple[int, str]]


def _text(batch: RawBatch, mapping: dict[str, str], field: str) -> pd.Series:
    column = mapping.get(field)
    n = len(batch)
    if column is None or column not in batch.columns:
        return pd.Series([""] * n, dtype=object)
    arr = batch.columns[column]
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    values = arr.to_pandas(types_mapper=None).astype(object)
    return values.where(values.notna(), "").astype(str).str.strip()


def _show(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


class _Reasons:
    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.text: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray, values: pd.Series, template: str) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.bad[idx] = True
        shown = values.to_numpy()[idx]
        for i, value in zip(idx.tolist(), shown, strict=True):
            self.text.setdefault(i, []).append(template.format(_show(str(value))))


def _timestamps(raw: pd.Series, reasons: _Reasons) -> np.ndarray:
    n = len(raw)
    micros = np.zeros(n, dtype=np.int64)
    missing = (raw == "").to_numpy()
    reasons.add(missing, raw, "timestamp: missing")
    epoch = raw.str.match(_EPOCH).to_numpy() & ~missing
    if epoch.any():
        micros[epoch] = (raw[epoch].astype(float).to_numpy() * 1e6).round().astype(np.int64)
    dated = raw.str.match(_DATE).to_numpy() & ~missing & ~epoch
    reasons.add(
        ~missing & ~epoch & ~dated, raw, "timestamp: {} is not an ISO 8601 date-time or epoch"
    )
    zoned = raw.str.contains(_ZONE, regex=True).to_numpy() & dated
    reasons.add(dated & ~zoned, raw, "timestamp: {} has no time zone")
    if zoned.any():
        text = raw[zoned].str.replace(r"\s?(UTC|GMT)$", "+00:00", regex=True)
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        ok = parsed.notna().to_numpy()
        where = np.flatnonzero(zoned)
        bad = np.zeros(n, dtype=bool)
        bad[where[~ok]] = True
        reasons.add(bad, raw, "timestamp: {} is not an ISO 8601 date-time")
        values = parsed[ok].dt.as_unit("us").astype("int64").to_numpy()
        micros[where[ok]] = values
    return micros


def _canonical_ip(text: str) -> str | None:
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _ips(raw: pd.Series, reasons: _Reasons) -> pd.Series:
    codes, uniques = pd.factorize(raw)
    canonical = [_canonical_ip(u) for u in uniques]
    ok_unique = np.array([c is not None for c in canonical], dtype=bool)
    missing = (raw == "").to_numpy()
    reasons.add(missing, raw, "ip: missing")
    reasons.add(~ok_unique[codes] & ~missing, raw, "ip: {} is not an IPv4 or IPv6 address")
    mapped = np.array([c or "" for c in canonical], dtype=object)
    return pd.Series(mapped[codes], dtype=object)


def _optional_int(raw: pd.Series, reasons: _Reasons, name: str, upper: int) -> np.ndarray:
    present = (raw != "").to_numpy()
    numbers = pd.to_numeric(raw.where(raw != "", None), errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(numbers) & (numbers >= 0) & (numbers <= upper) & (np.floor(numbers) == numbers)
    limit = "0-65535" if upper == 65535 else "a non-negative integer"
    reasons.add(present & ~ok, raw, f"{name}: {{}} is not {limit}")
    return np.where(present & ok, np.nan_to_num(numbers), -1).astype(np.int64)


def _digests(
    fields: dict[str, pd.Series], reasons: _Reasons
) -> tuple[dict[str, pd.Series], pd.Series]:
    out: dict[str, pd.Series] = {}
    for name, length in HEX_LENGTHS.items():
        raw = fields[name].str.lower()
        present = (raw != "").to_numpy()
        ok = raw.str.fullmatch(f"[0-9a-f]{{{length}}}").to_numpy()
        reasons.add(present & ~ok, raw, f"{name}: {{}} is not {length} hex digits")
        out[name] = raw.where(present & ok, "")
    generic = fields["digest"].str.lower()
    present = (generic != "").to_numpy()
    lengths = generic.str.len().to_numpy()
    hexed = generic.str.fullmatch("[0-9a-f]+").to_numpy()
    ok = present & hexed & np.isin(lengths, list(BY_LENGTH))
    reasons.add(
        present & ~ok, generic, "digest: {} is not an MD5, SHA-1 or SHA-256 hex digest"
    )
    for length, name in BY_LENGTH.items():
        fill = ok & (lengths == length) & (out[name] == "").to_numpy()
        out[name] = out[name].where(~fill, generic)
    key = pd.Series([""] * len(generic), dtype=object)
    for name in ("pdq", "md5", "sha1", "sha256"):  # strongest last wins
        has = (out[name] != "").to_numpy()
        key = key.where(~has, name + ":" + out[name])
    none = (key == "").to_numpy()
    reasons.add(none & ~reasons.bad, key, "no valid file digest or PDQ in the row")
    return out, key


def parse_batch(batch: RawBatch, mapping: dict[str, str]) -> ParsedBatch:
    n = len(batch)
    reasons = _Reasons(n)
    fields = {
        f: _text(batch, mapping, f)
        for f in (
            "timestamp", "ip", "port", "peer_id", "client", "protocol", "md5", "sha1",
            "sha256", "digest", "pdq", "file_name", "size",
        )
    }  # fmt: skip
    ts = _timestamps(fields["timestamp"], reasons)
    ip = _ips(fields["ip"], reasons)
    port = _optional_int(fields["port"], reasons, "port", 65535)
    size = _optional_int(fields["size"], reasons, "size", 1 << 62)
    digests, file_key = _digests(fields, reasons)
    frame = pd.DataFrame(
        {
            "ts": ts,
            "ip": ip.to_numpy(),
            "port": port.astype(np.int32),
            "peer": fields["peer_id"].to_numpy(),
            "client": fields["client"].to_numpy(),
            "protocol": fields["protocol"].to_numpy(),
            "md5": digests["md5"].to_numpy(),
            "sha1": digests["sha1"].to_numpy(),
            "sha256": digests["sha256"].to_numpy(),
            "pdq": digests["pdq"].to_numpy(),
            "file_key": file_key.to_numpy(),
            "file_name": fields["file_name"].to_numpy(),
            "size": size,
            "line": batch.lines,
        }
    )
    good = frame[~reasons.bad].reset_index(drop=True)
    identity = good.drop(columns=["line"])
    good["row_hash"] = pd.util.hash_pandas_object(identity, index=False).to_numpy(np.uint64)
    problems = [(int(batch.lines[i]), "; ".join(r)) for i, r in sorted(reasons.text.items())]
    problems.extend(batch.rejects)
    problems.sort()
    return ParsedBatch(good, problems)
