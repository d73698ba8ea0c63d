"""The analysis's tables: leads, groups, breakdowns, timeline, removal, candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from safelight.constants import NETWORK_CANDIDATE_MIN_HOLDERS
from safelight.network.aggregate import DAY_US, Aggregates
from safelight.network.hashtables import group_ids
from safelight.network.known import EXACT, KnownMatch
from safelight.network.measures import ConnectionStats, Incidence, NetworkGroups, Whereabouts


def _iso(us: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(np.asarray(us).astype("datetime64[us]"), unit="s")
    return np.char.add(text.astype(str), "+00:00")  # the timestamp rule: docs/scan.md


def leads_table(
    edges: Incidence, stats: ConnectionStats, where: Whereabouts, net: NetworkGroups
) -> pd.DataFrame:
    """One row per network connection, ranked by known files, known sightings, PageRank."""
    in_net, comm = net.in_net, net.comm
    share = stats.known_files[in_net] / np.maximum(net.group_known[comm], 1)
    removal_rank = np.zeros(len(in_net), dtype=np.int64)
    for step, (local, _, _) in enumerate(net.removal, start=1):
        removal_rank[local] = step
    leads = pd.DataFrame(
        {
            "connection": edges.conn_keys[in_net],
            "ip": where.ip[in_net],
            "ips": where.n_ips[in_net],
            "country": where.country[in_net],
            "asn": where.asn[in_net],
            "as_org": where.as_org[in_net],
            "client": where.client[in_net],
            "protocol": where.protocol[in_net],
            "known_files": stats.known_files[in_net],
            "known_sightings": stats.known_sightings[in_net].astype(np.int64),
            "unknown_files": stats.unknown_files[in_net],
            "first_seen": _iso(stats.first[in_net]),
            "last_seen": _iso(stats.last[in_net]),
            "group": comm + 1,
            "group_size": net.group_size[comm],
            "component": net.comp + 1,
            "share_of_group_files": np.round(share, 4),
            "pagerank": net.pagerank,
            "removal_step": removal_rank,
        }
    )
    leads = leads.sort_values(
        ["known_files", "known_sightings", "pagerank", "connection"],
        ascending=[False, False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    leads.insert(0, "rank", np.arange(1, len(leads) + 1))
    leads["pagerank"] = leads["pagerank"].round(8)
    return leads


def connections_table(edges: Incidence, stats: ConnectionStats, where: Whereabouts) -> pd.DataFrame:
    """Every connection (in the network or not), for the breakdowns."""
    return pd.DataFrame(
        {
            "connection": edges.conn_keys,
            "ip": where.ip,
            "country": where.country,
            "asn": where.asn,
            "client": where.client,
            "sightings": stats.sightings.astype(np.int64),
            "known": stats.known_files > 0,
        }
    )


def removal_table(edges: Incidence, net: NetworkGroups) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "step": s,
                "connection": edges.conn_keys[net.in_net[local]],
                "files_lost": lost,
                "known_files_available": available,
                "share_available": round(available / max(net.n_known_files, 1), 4),
            }
            for s, (local, lost, available) in enumerate(net.removal, start=1)
        ],
        columns=["step", "connection", "files_lost", "known_files_available", "share_available"],
    )


def groups_table(leads: pd.DataFrame, group_known: np.ndarray) -> pd.DataFrame:
    g = leads.groupby("group")
    top = leads.drop_duplicates("group").set_index("group")["connection"]
    per_country = leads.groupby(["group", "country"]).size().reset_index(name="n")
    per_country = per_country.sort_values(["group", "n", "country"], ascending=[True, False, True])
    main = per_country.drop_duplicates("group").set_index("group")["country"]
    out = pd.DataFrame(
        {
            "connections": g.size(),
            "countries": g["country"].nunique(),
            "main_country": main,
            "known_files": pd.Series(group_known, index=np.arange(1, len(group_known) + 1)),
            "known_sightings": g["known_sightings"].sum(),
            "components": g["component"].nunique(),
            "top_lead": top,
        }
    ).reset_index(names="group")
    return out.sort_values("group").reset_index(drop=True)


def breakdown(conns: pd.DataFrame, by: str) -> pd.DataFrame:
    g = conns.groupby(by)
    out = pd.DataFrame(
        {
            "connections": g["known"].sum().astype(np.int64),
            "connections_total": g.size(),
            "sightings": g["sightings"].sum(),
        }
    ).reset_index()
    return out.sort_values(["connections", by], ascending=[False, True]).reset_index(drop=True)


def timeline(agg: Aggregates) -> pd.DataFrame:
    days = pd.DataFrame(agg.days)
    g = days.groupby("day")
    known = days[days["known"]]

    def distinct(frame: pd.DataFrame) -> pd.Series:
        # Rows are unique (day, conn, known): a connection is counted once per day.
        span = int(frame["conn"].max()) + 1 if len(frame) else 1
        _, pairs = group_ids(frame["day"].to_numpy() * span + frame["conn"].to_numpy())
        return pd.Series(pairs // span).value_counts()

    out = (
        pd.DataFrame(
            {
                "sightings": g["sightings"].sum(),
                "known_sightings": known.groupby("day")["sightings"].sum(),
                "connections": distinct(days),
                "known_connections": distinct(known),
            }
        )
        .fillna(0)
        .astype(np.int64)
    )
    out.index = pd.to_datetime(out.index * DAY_US, unit="us", utc=True).strftime("%Y-%m-%d")
    return out.reset_index(names="day")


def candidates_table(
    files: pd.DataFrame, edges: Incidence, known_files: np.ndarray
) -> pd.DataFrame:
    """Unknown files held by >= 2 connections that also hold known material."""
    incidence, file_keys = edges.incidence, edges.file_keys
    holds_known = sp.diags((known_files > 0).astype(np.float64))
    binary = sp.csr_matrix(incidence, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    with_known = np.asarray((holds_known @ binary).sum(axis=0)).ravel().astype(np.int64)
    holders = np.asarray(binary.sum(axis=0)).ravel().astype(np.int64)
    sightings = np.asarray(incidence.sum(axis=0)).ravel().astype(np.int64)
    pick = np.flatnonzero(~edges.known_file & (with_known >= NETWORK_CANDIDATE_MIN_HOLDERS))
    files = files.set_index("file_key")
    out = pd.DataFrame(
        {
            "file_key": file_keys[pick],
            "holders_with_known": with_known[pick],
            "holders": holders[pick],
            "sightings": sightings[pick],
            "file_name": files["file_name"].reindex(file_keys[pick]).to_numpy(),
            "size": files["size"].reindex(file_keys[pick]).to_numpy(),
        }
    )
    return out.sort_values(
        ["holders_with_known", "sightings", "file_key"], ascending=[False, False, True]
    ).reset_index(drop=True)


def known_table(
    files: pd.DataFrame,
    matches: dict[str, KnownMatch],
    incidence: sp.csr_matrix,
    known_file: np.ndarray,
) -> pd.DataFrame:
    binary = sp.csr_matrix(incidence, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    holders = np.asarray(binary.sum(axis=0)).ravel().astype(np.int64)
    keys = files["file_key"].to_numpy()[known_file]
    # Digests under the record's names (docs/model.md); lists and labels joined by "|", the
    # one separator of labels everywhere.
    digests = {c: files[c].to_numpy()[known_file] for c in (*EXACT, "pdq") if c in files}
    return (
        pd.DataFrame(
            {
                "file_key": keys,
                **digests,
                "lists": ["|".join(matches[k].lists) for k in keys],
                "labels": ["|".join(matches[k].labels) for k in keys],
                "holders": holders[known_file],
            }
        )
        .sort_values(["holders", "file_key"], ascending=[False, True])
        .reset_index(drop=True)
    )


def group_graph(
    groups: pd.DataFrame, group_files: sp.spmatrix, comm: np.ndarray, top: int = 30
) -> dict[str, list[dict[str, object]]]:
    """The largest groups as nodes, linked by the known files they have in common."""
    shown = groups[groups["connections"] >= 2].head(top)
    ids = shown["group"].to_numpy() - 1
    nodes: list[dict[str, object]] = [
        {
            "group": int(group),
            "connections": int(connections),
            "country": str(country),
            "known_files": int(known),
        }
        for group, connections, country, known in zip(
            shown["group"],
            shown["connections"],
            shown["main_country"],
            shown["known_files"],
            strict=True,
        )
    ]
    links: list[dict[str, object]] = []
    if len(ids):
        gf = sp.csr_matrix(group_files[ids], dtype=np.float64)
        shared = (gf @ gf.T).tocoo()
        for a, b, w in zip(shared.row, shared.col, shared.data, strict=True):
            if a < b and w > 0:
                links.append(
                    {"source": int(ids[a] + 1), "target": int(ids[b] + 1), "shared_files": int(w)}
                )
    return {"nodes": nodes, "links": links}
