"""From sightings to per-connection, per-file and per-day aggregates, part by part.

Aggregation is a map over Parquet parts and a combine of the partial results, so the same
functions run in one process or on a Dask cluster and give identical results. Two rounds:

A. files (every digest seen for each file key) and, in peer mode, which peers used each IP
   in each time window (to credit peer-less rows to the one peer on that IP);
B. with known files and aliases fixed: connection-file edges (sightings, first, last),
   connection-IP and connection-client counts, and per-day sightings split known/unknown.

Entity modes: ``ip`` (a connection is an IP), ``ip-port`` (IP and port), ``peer`` (a peer or
account id, merged across the IPs it used; rows without one fall back to their IP, or to the
single peer seen on that IP within the alias window).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from safelight.constants import NETWORK_ALIAS_WINDOW_SECONDS
from safelight.errors import UsageError
from safelight.network.known import KnownMatch
from safelight.network.sightings import read_part

MODES = ("ip", "ip-port", "peer")
FILE_COLUMNS = ("md5", "sha1", "sha256", "pdq", "file_name", "size")
DAY_US = 86_400 * 1_000_000
Mapper = Callable[..., list[Any]]


@dataclass(frozen=True)
class EntityOptions:
    mode: str = "ip"
    alias_window_seconds: int = NETWORK_ALIAS_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"entity mode {self.mode!r}: choose one of {', '.join(MODES)}")


@dataclass
class Aggregates:
    files: pd.DataFrame  # file_key, md5, sha1, sha256, pdq, file_name, size
    edges: pd.DataFrame  # conn, file_key, sightings, first, last
    conn_ip: pd.DataFrame  # conn, ip, sightings
    conn_client: pd.DataFrame  # conn, client, protocol, sightings
    days: pd.DataFrame  # day, conn, known, sightings


def local_map(fn: Callable[..., Any], items: Sequence[Any], **kwargs: Any) -> list[Any]:
    return [fn(item, **kwargs) for item in items]


def _sorted_frame(table: pa.Table, keys: list[str]) -> pd.DataFrame:
    """Arrow's hash aggregation has no row order: sort so every path gives the same frame."""
    return table.sort_by([(k, "ascending") for k in keys]).to_pandas()


def files_of_part(part: Path, options: EntityOptions) -> tuple[pa.Table, pd.DataFrame]:
    """Round A map: distinct files with their digests; (ip, window, peer) triples."""
    table = read_part(part, ["file_key", *FILE_COLUMNS])
    files = table.group_by("file_key").aggregate([(c, "max") for c in FILE_COLUMNS])
    files = files.rename_columns({f"{c}_max": c for c in FILE_COLUMNS})
    if options.mode != "peer":
        return files, pd.DataFrame({"ip": [], "window": [], "peer": []})
    rows = read_part(part, ["ip", "peer", "ts"]).to_pandas()
    rows = rows[rows["peer"] != ""]
    window = rows["ts"].to_numpy() // (options.alias_window_seconds * 1_000_000)
    triples = pd.DataFrame({"ip": rows["ip"].to_numpy(), "window": window, "peer": rows["peer"]})
    return files, triples.drop_duplicates()


def combine_files(
    partials: list[tuple[pa.Table, pd.DataFrame]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    merged = pa.concat_tables([p[0] for p in partials])
    # A file key may arrive with more digests in one part than another: keep the fullest.
    merged = merged.group_by("file_key").aggregate([(c, "max") for c in FILE_COLUMNS])
    merged = merged.rename_columns({f"{c}_max": c for c in FILE_COLUMNS})
    files = _sorted_frame(merged, ["file_key"])
    files = files[["file_key", *FILE_COLUMNS]]
    triples = pd.concat([p[1] for p in partials], ignore_index=True).drop_duplicates()
    if triples.empty:
        aliases = pd.DataFrame({"ip": [], "window": [], "alias": []})
    else:
        per = triples.groupby(["ip", "window"])["peer"].agg(["nunique", "first"]).reset_index()
        single = per[per["nunique"] == 1]
        aliases = pd.DataFrame(
            {"ip": single["ip"], "window": single["window"], "alias": single["first"]}
        )
    return files, aliases


def connection_keys(table: pa.Table, options: EntityOptions, aliases: pd.DataFrame) -> pa.Array:
    ip = table.column("ip")
    if options.mode == "ip":
        return ip
    if options.mode == "ip-port":
        port = table.column("port")
        host = pc.if_else(
            pc.match_substring(ip, ":"), pc.binary_join_element_wise("[", ip, "]", ""), ip
        )
        port_text = pc.if_else(pc.greater_equal(port, 0), pc.cast(port, pa.string()), "")
        return pc.binary_join_element_wise(host, port_text, ":")
    frame = table.select(["ip", "ts", "peer"]).to_pandas()
    window = frame["ts"].to_numpy() // (options.alias_window_seconds * 1_000_000)
    lookup = pd.DataFrame({"ip": frame["ip"].to_numpy(), "window": window})
    merged = lookup.merge(aliases, on=["ip", "window"], how="left")
    peer = frame["peer"].astype(str).to_numpy()
    alias = merged["alias"].to_numpy()
    ips = frame["ip"].astype(str).to_numpy()
    fallback = np.where(pd.isna(alias), "ip:" + ips, "peer:" + alias.astype(str))
    return pa.array(np.where(peer != "", "peer:" + peer, fallback), pa.string())


def group(table: pa.Table, keys: list[str], aggregations: list[tuple[str, str]]) -> pa.Table:
    """``table.group_by(keys).aggregate(aggregations)`` with the keys first encoded as one
    int64 (dictionary codes): hashing one integer is several times cheaper than hashing
    several strings. Result columns: the keys, then ``<column>_<function>``."""
    codes: list[np.ndarray] = []
    dictionaries: list[pa.Array] = []
    for key in keys:
        encoded = pc.dictionary_encode(table.column(key).combine_chunks())
        codes.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        dictionaries.append(encoded.dictionary)
    sizes = [max(len(d), 1) for d in dictionaries]
    if float(np.prod([float(x) for x in sizes])) >= 2.0**62:  # pragma: no cover - huge keys
        return table.group_by(keys).aggregate(aggregations)
    composite = np.zeros(table.num_rows, dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        composite = composite * size + code
    values = {name: table.column(name) for name, _ in aggregations}
    grouped = pa.table({"__key": composite, **values}).group_by("__key").aggregate(aggregations)
    rest = grouped.column("__key").to_numpy()
    decoded: dict[str, pa.Array] = {}
    for key, dictionary, size in reversed(list(zip(keys, dictionaries, sizes, strict=True))):
        decoded[key] = dictionary.take(pa.array(rest % size))
        rest = rest // size
    columns = {key: decoded[key] for key in keys}
    for name, function in aggregations:
        columns[f"{name}_{function}"] = grouped.column(f"{name}_{function}")
    return pa.table(columns)


def edges_of_part(
    part: Path, options: EntityOptions, aliases: pd.DataFrame, known_keys: pa.Array
) -> dict[str, pa.Table]:
    """Round B map: edges, connection IPs and clients, per-day sightings of one part."""
    table = read_part(part, ["ts", "ip", "port", "peer", "client", "protocol", "file_key"])
    table = table.append_column("conn", connection_keys(table, options, aliases))
    edges = group(table, ["conn", "file_key"], [("ts", "count"), ("ts", "min"), ("ts", "max")])
    conn_ip = group(table, ["conn", "ip"], [("ts", "count")])
    conn_client = group(table, ["conn", "client", "protocol"], [("ts", "count")])
    day = pc.divide(table.column("ts"), DAY_US)
    known = pc.is_in(table.column("file_key"), value_set=known_keys)
    days = group(
        pa.table({"day": day, "conn": table.column("conn"), "known": known, "ts": day}),
        ["day", "conn", "known"],
        [("ts", "count")],
    )
    return {"edges": edges, "conn_ip": conn_ip, "conn_client": conn_client, "days": days}


def combine_edges(partials: list[dict[str, pa.Table]], files: pd.DataFrame) -> Aggregates:
    def cat(name: str) -> pa.Table:
        return pa.concat_tables([p[name] for p in partials])

    single = len(partials) == 1  # one part: the map already grouped everything
    edges = cat("edges")
    if not single:
        edges = group(edges, ["conn", "file_key"],
                      [("ts_count", "sum"), ("ts_min", "min"), ("ts_max", "max")])  # fmt: skip
        edges = edges.rename_columns(
            {"ts_count_sum": "ts_count", "ts_min_min": "ts_min", "ts_max_max": "ts_max"}
        )
    edges = edges.rename_columns({"ts_count": "sightings", "ts_min": "first", "ts_max": "last"})

    def summed(name: str, keys: list[str], ordered: bool = True) -> pd.DataFrame:
        table = cat(name)
        if not single:
            table = group(table, keys, [("ts_count", "sum")])
            table = table.rename_columns({"ts_count_sum": "ts_count"})
        table = table.rename_columns({"ts_count": "sightings"})
        return _sorted_frame(table, keys) if ordered else table.to_pandas()

    return Aggregates(
        files,
        # Edge and day order does not change any result (sums, minima, sorted factorize).
        edges.select(["conn", "file_key", "sightings", "first", "last"]).to_pandas(),
        summed("conn_ip", ["conn", "ip"]),
        summed("conn_client", ["conn", "client", "protocol"]),
        summed("days", ["day", "conn", "known"], ordered=False),
    )


def aggregate(
    parts: Sequence[Path],
    options: EntityOptions,
    known_of: Callable[[pd.DataFrame], dict[str, KnownMatch]],
    mapper: Mapper = local_map,
) -> tuple[Aggregates, dict[str, KnownMatch]]:
    """Both rounds over ``parts``; ``known_of(files)`` matches the distinct files once."""
    if not parts:
        raise UsageError("the case has no sightings yet: ingest logs first")
    files, aliases = combine_files(mapper(files_of_part, list(parts), options=options))
    matches = known_of(files)
    partials = mapper(
        edges_of_part,
        list(parts),
        options=options,
        aliases=aliases,
        known_keys=pa.array(sorted(matches), pa.string()),
    )
    return combine_edges(partials, files), matches
