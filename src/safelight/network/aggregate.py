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
import pyarrow.parquet as pq

from safelight.constants import NETWORK_ALIAS_WINDOW_SECONDS
from safelight.errors import UsageError
from safelight.network.known import KnownMatch

MODES = ("ip", "ip-port", "peer")
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


def _read(part: Path, columns: list[str]) -> pd.DataFrame:
    table = pq.read_table(part, columns=columns)
    return table.to_pandas()


def files_of_part(part: Path, options: EntityOptions) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Round A map: distinct files with their digests; (ip, window, peer) triples."""
    frame = _read(part, ["file_key", "md5", "sha1", "sha256", "pdq", "file_name", "size"])
    files = frame.drop_duplicates("file_key")
    if options.mode != "peer":
        return files, pd.DataFrame({"ip": [], "window": [], "peer": []})
    rows = _read(part, ["ip", "peer", "ts"])
    rows = rows[rows["peer"] != ""]
    window = rows["ts"].to_numpy() // (options.alias_window_seconds * 1_000_000)
    triples = pd.DataFrame({"ip": rows["ip"].to_numpy(), "window": window, "peer": rows["peer"]})
    return files, triples.drop_duplicates()


def combine_files(
    partials: list[tuple[pd.DataFrame, pd.DataFrame]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    files = pd.concat([p[0] for p in partials], ignore_index=True)
    # A file key may arrive with more digests in one part than another: keep the fullest.
    files = (
        files.groupby("file_key", sort=True)
        .agg({c: "max" for c in ("md5", "sha1", "sha256", "pdq", "file_name", "size")})
        .reset_index()
    )
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


def connection_keys(frame: pd.DataFrame, options: EntityOptions, aliases: pd.DataFrame) -> Any:
    ip = frame["ip"].astype(str)
    if options.mode == "ip":
        return ip.to_numpy()
    if options.mode == "ip-port":
        port = frame["port"].astype(str).where(frame["port"] >= 0, "")
        host = ip.where(~ip.str.contains(":"), "[" + ip + "]")
        return (host + ":" + port).to_numpy()
    window = frame["ts"].to_numpy() // (options.alias_window_seconds * 1_000_000)
    lookup = pd.DataFrame({"ip": ip.to_numpy(), "window": window})
    merged = lookup.merge(aliases, on=["ip", "window"], how="left")
    peer = frame["peer"].astype(str).to_numpy()
    alias = merged["alias"].to_numpy()
    fallback = np.where(pd.isna(alias), "ip:" + ip.to_numpy(), "peer:" + alias.astype(str))
    return np.where(peer != "", "peer:" + peer, fallback)


def edges_of_part(
    part: Path, options: EntityOptions, aliases: pd.DataFrame, known_keys: frozenset[str]
) -> dict[str, pd.DataFrame]:
    """Round B map: edges, connection IPs and clients, per-day sightings of one part."""
    frame = _read(part, ["ts", "ip", "port", "peer", "client", "protocol", "file_key"])
    frame["conn"] = connection_keys(frame, options, aliases)
    edges = (
        frame.groupby(["conn", "file_key"], sort=False)["ts"]
        .agg(sightings="size", first="min", last="max")
        .reset_index()
    )
    conn_ip = frame.groupby(["conn", "ip"], sort=False).size().reset_index(name="sightings")
    conn_client = (
        frame.groupby(["conn", "client", "protocol"], sort=False)
        .size()
        .reset_index(name="sightings")
    )
    known = frame["file_key"].isin(known_keys).to_numpy()
    days = (
        pd.DataFrame({"day": frame["ts"].to_numpy() // DAY_US, "conn": frame["conn"], "known": known})
        .groupby(["day", "conn", "known"], sort=False)
        .size()
        .reset_index(name="sightings")
    )
    return {"edges": edges, "conn_ip": conn_ip, "conn_client": conn_client, "days": days}


def combine_edges(partials: list[dict[str, pd.DataFrame]], files: pd.DataFrame) -> Aggregates:
    def cat(name: str) -> pd.DataFrame:
        return pd.concat([p[name] for p in partials], ignore_index=True)

    edges = (
        cat("edges")
        .groupby(["conn", "file_key"], sort=True)
        .agg(sightings=("sightings", "sum"), first=("first", "min"), last=("last", "max"))
        .reset_index()
    )
    conn_ip = cat("conn_ip").groupby(["conn", "ip"], sort=True)["sightings"].sum().reset_index()
    conn_client = (
        cat("conn_client")
        .groupby(["conn", "client", "protocol"], sort=True)["sightings"]
        .sum()
        .reset_index()
    )
    days = cat("days").groupby(["day", "conn", "known"], sort=True)["sightings"].sum().reset_index()
    return Aggregates(files, edges, conn_ip, conn_client, days)


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
        known_keys=frozenset(matches),
    )
    return combine_edges(partials, files), matches
