"""From sightings to per-connection, per-file and per-day aggregates, part by part.

Aggregation is a map over parts and a combine of the partial results, so the same functions
run in one process or on a Dask cluster and give identical results. Two rounds:

A. the dictionaries: distinct files (with every digest seen for each), connection keys and
   client/protocol pairs, and in peer mode which peers used each IP in each time window;
B. with those fixed (and the known files), each part's rows become integer codes into the
   dictionaries, and are reduced to connection-file edges (sightings, first, last),
   connection-IP and connection-client counts, and per-day sightings split known/unknown.

Integer codes make every later step a matter of integer arrays: strings are hashed once per
part, never again. Entity modes: ``ip`` (a connection is an IP), ``ip-port``, ``peer`` (a peer
or account id merged across its IPs; rows without one fall back to their IP, or to the single
peer seen on that IP within the alias window).
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
from safelight.network.hashtables import group_ids, reduce_groups
from safelight.network.known import KnownMatch
from safelight.network.sightings import read_part
from safelight.workers.mapping import Mapper, local_map

MODES = ("ip", "ip-port", "peer")
FILE_COLUMNS = ("md5", "sha1", "sha256", "pdq", "file_name", "size")
DAY_US = 86_400 * 1_000_000
SEP = "\x1f"  # joins client and protocol into one dictionary key


@dataclass(frozen=True)
class EntityOptions:
    mode: str = "ip"
    alias_window_seconds: int = NETWORK_ALIAS_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"entity mode {self.mode!r}: choose one of {', '.join(MODES)}")


@dataclass
class Dictionaries:
    """Round A's result: what every code in round B refers to (all sorted)."""

    files: pd.DataFrame  # file_key, md5, sha1, sha256, pdq, file_name, size
    conns: pa.Array
    ips: pa.Array
    clients: pa.Array
    protocols: pa.Array
    aliases: pd.DataFrame  # ip, window, alias (peer mode)


@dataclass
class Aggregates:
    """Integer-coded aggregates; ``conns``/``files``/``ips``/``clients`` decode the codes."""

    files: pd.DataFrame
    conns: np.ndarray
    ips: np.ndarray
    clients: np.ndarray
    protocols: np.ndarray
    edges: dict[str, np.ndarray]  # conn, file, sightings, first, last
    conn_ip: dict[str, np.ndarray]  # conn, ip, sightings
    conn_client: dict[str, np.ndarray]  # conn, client, sightings
    days: dict[str, np.ndarray]  # day, conn, known, sightings


def _window(ts: pa.Array, options: EntityOptions) -> pa.Array:
    return pc.divide(ts, options.alias_window_seconds * 1_000_000)


def _prefixed(prefix: str, values: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(prefix, values, "")


def raw_connection_keys(table: pa.Table, options: EntityOptions) -> pa.Array:
    """Connection keys that need no alias table (all of them, except peer-less rows in
    peer mode, which come back null)."""
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
    peer = table.column("peer")
    return pc.if_else(
        pc.not_equal(peer, ""), _prefixed("peer:", peer), pa.scalar(None, pa.string())
    )


def dictionaries_of_part(part: Path, options: EntityOptions) -> dict[str, Any]:
    """Round A map."""
    columns = ["file_key", *FILE_COLUMNS, "client", "protocol", "ip"]
    if options.mode != "ip":
        columns += ["ts", "peer", "port"]
    table = read_part(part, columns)
    files = first_per_file(table)
    ips = pc.unique(table.column("ip"))
    out: dict[str, Any] = {
        "files": files,
        "clients": pc.unique(table.column("client")),
        "protocols": pc.unique(table.column("protocol")),
        "ips": ips,
        "conns": ips
        if options.mode == "ip"
        else pc.unique(pc.drop_null(raw_connection_keys(table, options))),
    }
    if options.mode == "peer":
        out["conns"] = pa.concat_arrays([out["conns"], _prefixed("ip:", ips)])
        has_peer = pc.not_equal(table.column("peer"), "")
        triples = pa.table(
            {
                "ip": table.column("ip"),
                "window": _window(table.column("ts"), options),
                "peer": table.column("peer"),
            }
        ).filter(has_peer)
        out["triples"] = group(triples, ["ip", "window", "peer"], []).select(
            ["ip", "window", "peer"]
        )
    return out


def first_per_file(table: pa.Table) -> pa.Table:
    """One row per file key: name and size from its first sighting, each digest from the
    first sighting that has it (a hash pass, where a text ``max`` per column costs far more)."""
    encoded = pc.dictionary_encode(table.column("file_key").combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n = len(encoded.dictionary)

    def first_rows(mask: np.ndarray | None) -> np.ndarray:
        rows = np.arange(len(codes)) if mask is None else np.flatnonzero(mask)
        where = np.full(n, -1, dtype=np.int64)
        ids, keys = group_ids(codes[rows])
        firsts = np.full(len(keys), len(codes), dtype=np.int64)
        np.minimum.at(firsts, ids, rows)
        where[keys] = firsts
        return where

    base = first_rows(None)
    columns: dict[str, pa.Array] = {"file_key": encoded.dictionary}
    for name in FILE_COLUMNS:
        column = table.column(name).combine_chunks()
        if name in ("md5", "sha1", "sha256", "pdq"):
            present = np.asarray(pc.not_equal(column, "").to_numpy(zero_copy_only=False))
            rows = first_rows(present)
            picked = column.take(pa.array(np.where(rows >= 0, rows, base)))
            columns[name] = pc.if_else(pa.array(rows >= 0), picked, "")
        else:
            columns[name] = column.take(pa.array(base))
    return pa.table(columns)


def _sorted_unique(arrays: list[pa.Array]) -> pa.Array:
    merged = pc.unique(pa.chunked_array(arrays, pa.string()).combine_chunks())
    return merged.take(pc.sort_indices(merged))


def combine_dictionaries(partials: list[dict[str, Any]], options: EntityOptions) -> Dictionaries:
    merged = pa.concat_tables([p["files"] for p in partials])
    if len(partials) > 1:  # one part's files are already one row per file key
        # A file key may arrive with more digests in one part than another: keep the fullest.
        merged = group(merged, ["file_key"], [(c, "max") for c in FILE_COLUMNS])
        merged = merged.rename_columns({f"{c}_max": c for c in FILE_COLUMNS})
    files = merged.sort_by([("file_key", "ascending")]).to_pandas()
    aliases = pd.DataFrame({"ip": [], "window": [], "alias": []})
    if options.mode == "peer":
        triples = pa.concat_tables([p["triples"] for p in partials]).to_pandas()
        triples = triples.drop_duplicates()
        per = triples.groupby(["ip", "window"])["peer"].agg(["nunique", "first"]).reset_index()
        single = per[per["nunique"] == 1]
        aliases = pd.DataFrame(
            {"ip": single["ip"], "window": single["window"], "alias": single["first"]}
        )
    return Dictionaries(
        files[["file_key", *FILE_COLUMNS]],
        _sorted_unique([p["conns"] for p in partials]),
        _sorted_unique([p["ips"] for p in partials]),
        _sorted_unique([p["clients"] for p in partials]),
        _sorted_unique([p["protocols"] for p in partials]),
        aliases,
    )


def connection_codes(table: pa.Table, options: EntityOptions, dicts: Dictionaries) -> np.ndarray:
    keys = raw_connection_keys(table, options)
    if options.mode == "peer" and keys.null_count:
        frame = pd.DataFrame(
            {
                "ip": table.column("ip").to_numpy(zero_copy_only=False),
                "window": _window(table.column("ts"), options).to_numpy(),
            }
        )
        alias = frame.merge(dicts.aliases, on=["ip", "window"], how="left")["alias"]
        fallback = np.where(
            alias.isna().to_numpy(),
            "ip:" + frame["ip"].astype(str).to_numpy(),
            "peer:" + alias.astype(str).to_numpy(),
        )
        keys = pc.if_else(pc.is_null(keys), pa.array(fallback, pa.string()), keys)
    return _codes(keys, dicts.conns)


def _codes(values: pa.Array | pa.ChunkedArray, dictionary: pa.Array) -> np.ndarray:
    return np.asarray(pc.index_in(values, value_set=dictionary).to_numpy(), dtype=np.int64)


REDUCERS = {"sum": 0, "count": 0, "min": 1, "max": 2}


def group_codes(
    keys: list[np.ndarray],
    sizes: list[int],
    values: dict[str, np.ndarray],
    functions: list[tuple[str, str]],
) -> dict[str, np.ndarray]:
    """Group rows by integer key columns (each < its size) and aggregate integer ``values``
    (count, sum, min, max): one hash pass in numba, then one pass per aggregate."""
    composite = np.zeros(len(keys[0]) if keys else 0, dtype=np.int64)
    for code, size in zip(keys, sizes, strict=True):
        composite = composite * max(size, 1) + code
    ids, rest = group_ids(composite)
    out: dict[str, np.ndarray] = {}
    for index in range(len(keys) - 1, -1, -1):
        size = max(sizes[index], 1)
        out[f"k{index}"] = rest % size
        rest = rest // size
    for name, function in functions:
        column = np.ones(len(ids), dtype=np.int64) if function == "count" else values[name]
        out[f"{name}_{function}"] = reduce_groups(
            ids, np.asarray(column, dtype=np.int64), len(out["k0"]), REDUCERS[function]
        )
    return out


def group(table: pa.Table, keys: list[str], aggregations: list[tuple[str, str]]) -> pa.Table:
    """``table.group_by(keys).aggregate(aggregations)``, the keys first encoded as one int64
    (hashing one integer is several times cheaper than hashing several strings)."""
    codes: list[np.ndarray] = []
    dictionaries: list[pa.Array] = []
    for key in keys:
        encoded = pc.dictionary_encode(table.column(key).combine_chunks())
        codes.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        dictionaries.append(encoded.dictionary)
    sizes = [len(d) for d in dictionaries]
    if float(np.prod([float(max(x, 1)) for x in sizes])) >= 2.0**62:  # pragma: no cover
        return table.group_by(keys).aggregate(aggregations)
    composite = np.zeros(table.num_rows, dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        composite = composite * max(size, 1) + code
    # Arrow aggregates (they handle text maxima); the key is one integer column.
    values = {name: table.column(name).combine_chunks() for name, _ in aggregations}
    grouped = pa.table({"__key": composite, **values}).group_by("__key").aggregate(aggregations)
    rest = grouped.column("__key").to_numpy()
    decoded: dict[str, pa.Array] = {}
    for index in range(len(keys) - 1, -1, -1):
        size = max(sizes[index], 1)
        decoded[keys[index]] = dictionaries[index].take(pa.array(rest % size))
        rest = rest // size
    columns: dict[str, pa.Array] = {key: decoded[key] for key in keys}
    for name, function in aggregations:
        columns[f"{name}_{function}"] = grouped.column(f"{name}_{function}")
    return pa.table(columns)


def edges_of_part(
    part: Path, options: EntityOptions, dicts: Dictionaries, known: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    """Round B map: integer-coded edges, connection IPs and clients, per-day sightings."""
    columns = ["ts", "ip", "client", "protocol", "file_key"]
    if options.mode != "ip":
        columns += ["port", "peer"]
    table = read_part(part, columns)
    ip = _codes(table.column("ip"), dicts.ips)
    # In ip mode the connection dictionary is the IP dictionary: same codes.
    conn = ip if options.mode == "ip" else connection_codes(table, options, dicts)
    files = _codes(table.column("file_key"), pa.array(dicts.files["file_key"], pa.string()))
    n_proto = max(len(dicts.protocols), 1)
    client = _codes(table.column("client"), dicts.clients) * n_proto + _codes(
        table.column("protocol"), dicts.protocols
    )
    ts = table.column("ts").to_numpy()
    n_conn, n_file = len(dicts.conns), len(dicts.files)
    day = ts // DAY_US
    first_day = int(day.min()) if len(day) else 0
    edges = group_codes(
        [conn, files], [n_conn, n_file], {"ts": ts}, [("ts", "count"), ("ts", "min"), ("ts", "max")]
    )
    if options.mode == "ip":  # a connection is its IP: one pair per connection
        count = np.bincount(conn, minlength=n_conn)
        used = np.flatnonzero(count)
        conn_ip = {"k0": used, "k1": used, "ts_count": count[used]}
    else:
        conn_ip = group_codes([conn, ip], [n_conn, len(dicts.ips)], {"ts": ts}, [("ts", "count")])
    conn_client = group_codes(
        [conn, client], [n_conn, len(dicts.clients) * n_proto], {"ts": ts}, [("ts", "count")]
    )
    span = int(day.max()) - first_day + 1 if len(day) else 1
    days = group_codes(
        [day - first_day, conn, known[files].astype(np.int64)],
        [span, n_conn, 2],
        {"ts": ts},
        [("ts", "count")],
    )
    days["k0"] = days["k0"] + first_day
    return {"edges": edges, "conn_ip": conn_ip, "conn_client": conn_client, "days": days}


def _regroup(
    parts: list[dict[str, np.ndarray]], sizes: list[int], functions: dict[str, str]
) -> dict[str, np.ndarray]:
    keys = [np.concatenate([p[f"k{i}"] for p in parts]) for i in range(len(sizes))]
    if len(parts) == 1:
        return {**{f"k{i}": k for i, k in enumerate(keys)}, **{n: parts[0][n] for n in functions}}
    values = {name: np.concatenate([p[name] for p in parts]) for name in functions}
    out = group_codes(keys, sizes, values, list(functions.items()))
    return {
        **{f"k{i}": out[f"k{i}"] for i in range(len(sizes))},
        **{name: out[f"{name}_{function}"] for name, function in functions.items()},
    }


def combine_edges(
    partials: list[dict[str, dict[str, np.ndarray]]], dicts: Dictionaries
) -> Aggregates:
    n_conn, n_file = len(dicts.conns), len(dicts.files)

    def take(name: str) -> list[dict[str, np.ndarray]]:
        return [p[name] for p in partials]

    edges = _regroup(
        take("edges"), [n_conn, n_file], {"ts_count": "sum", "ts_min": "min", "ts_max": "max"}
    )
    conn_ip = _regroup(take("conn_ip"), [n_conn, len(dicts.ips)], {"ts_count": "sum"})
    n_pairs = len(dicts.clients) * max(len(dicts.protocols), 1)
    conn_client = _regroup(take("conn_client"), [n_conn, n_pairs], {"ts_count": "sum"})
    first = min((int(p["days"]["k0"].min()) for p in partials if len(p["days"]["k0"])), default=0)
    day_parts = [{**p["days"], "k0": p["days"]["k0"] - first} for p in partials]
    span = max((int(p["k0"].max()) + 1 for p in day_parts if len(p["k0"])), default=1)
    days = _regroup(day_parts, [span, n_conn, 2], {"ts_count": "sum"})
    return Aggregates(
        files=dicts.files,
        conns=dicts.conns.to_numpy(zero_copy_only=False),
        ips=dicts.ips.to_numpy(zero_copy_only=False),
        clients=dicts.clients.to_numpy(zero_copy_only=False),
        protocols=dicts.protocols.to_numpy(zero_copy_only=False),
        edges={
            "conn": edges["k0"],
            "file": edges["k1"],
            "sightings": edges["ts_count"],
            "first": edges["ts_min"],
            "last": edges["ts_max"],
        },
        conn_ip={"conn": conn_ip["k0"], "ip": conn_ip["k1"], "sightings": conn_ip["ts_count"]},
        conn_client={
            "conn": conn_client["k0"],
            "client": conn_client["k1"],
            "sightings": conn_client["ts_count"],
        },
        days={
            "day": days["k0"] + first,
            "conn": days["k1"],
            "known": days["k2"].astype(bool),
            "sightings": days["ts_count"],
        },
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
    dicts = combine_dictionaries(
        mapper(dictionaries_of_part, list(parts), options=options), options
    )
    matches = known_of(dicts.files)
    keys = dicts.files["file_key"].to_numpy(dtype=object)
    known = np.fromiter((k in matches for k in keys), dtype=bool, count=len(keys))
    partials = mapper(edges_of_part, list(parts), options=options, dicts=dicts, known=known)
    return combine_edges(partials, dicts), matches
