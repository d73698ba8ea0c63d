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


def edges_of_part(
    part: Path, options: EntityOptions, aliases: pd.DataFrame, known_keys: pa.Array
) -> dict[str, pa.Table]:
    """Round B map: edges, connection IPs and clients, per-day sightings of one part."""
    table = read_part(part, ["ts", "ip", "port", "peer", "client", "protocol", "file_key"])
    table = table.append_column("conn", connection_keys(table, options, aliases))
    edges = table.group_by(["conn", "file_key"]).aggregate(
        [("ts", "count"), ("ts", "min"), ("ts", "max")]
    )
    conn_ip = table.group_by(["conn", "ip"]).aggregate([("ts", "count")])
    conn_client = table.group_by(["conn", "client", "protocol"]).aggregate([("ts", "count")])
    day = pc.divide(table.column("ts"), DAY_US)
    known = pc.is_in(table.column("file_key"), value_set=known_keys)
    days = (
        pa.table({"day": day, "conn": table.column("conn"), "known": known, "ts": day})
        .group_by(["day", "conn", "known"])
        .aggregate([("ts", "count")])
    )
    return {"edges": edges, "conn_ip": conn_ip, "conn_client": conn_client, "days": days}


def combine_edges(partials: list[dict[str, pa.Table]], files: pd.DataFrame) -> Aggregates:
    def cat(name: str) -> pa.Table:
        return pa.concat_tables([p[name] for p in partials])

    edges = cat("edges").group_by(["conn", "file_key"]).aggregate(
        [("ts_count", "sum"), ("ts_min", "min"), ("ts_max", "max")]
    )
    edges = edges.rename_columns(
        {"ts_count_sum": "sightings", "ts_min_min": "first", "ts_max_max": "last"}
    )
    conn_ip = cat("conn_ip").group_by(["conn", "ip"]).aggregate([("ts_count", "sum")])
    conn_client = (
        cat("conn_client")
        .group_by(["conn", "client", "protocol"])
        .aggregate([("ts_count", "sum")])
    )
    days = cat("days").group_by(["day", "conn", "known"]).aggregate([("ts_count", "sum")])
    return Aggregates(
        files,
        _sorted_frame(edges, ["conn", "file_key"])[["conn", "file_key", "sightings", "first",
                                                    "last"]],  # fmt: skip
        _sorted_frame(conn_ip.rename_columns({"ts_count_sum": "sightings"}), ["conn", "ip"]),
        _sorted_frame(
            conn_client.rename_columns({"ts_count_sum": "sightings"}),
            ["conn", "client", "protocol"],
        ),
        _sorted_frame(days.rename_columns({"ts_count_sum": "sightings"}), ["day", "conn", "known"]),
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
