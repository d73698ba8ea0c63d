"""From aggregates to the picture: groups, countries, leads, candidates, timeline.

Only connections that sighted known material are "in the network"; the others count in the
totals but not in groups or leads. Groups are Louvain communities of the weighted projection
(connected components are reported beside them); leads are ranked by distinct known files,
then known sightings, then PageRank centrality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from safelight.constants import (
    NETWORK_CANDIDATE_MIN_HOLDERS,
    NETWORK_LOUVAIN_RESOLUTION,
    NETWORK_MAX_FILE_DEGREE,
    NETWORK_REMOVAL_STEPS,
)
from safelight.network.aggregate import DAY_US, Aggregates
from safelight.network.community import louvain, modularity
from safelight.network.geo import GeoDatabase
from safelight.network.graph import bipartite_graph, greedy_removal, pagerank_projected
from safelight.network.hashtables import group_ids, reduce_groups
from safelight.network.known import EXACT, KnownMatch
from safelight.timestamps import TIMESTAMP_FORMAT


@dataclass
class Analysis:
    headline: dict[str, object]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    group_graph: dict[str, list[dict[str, object]]] = field(default_factory=dict)


def _iso(us: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(np.asarray(us).astype("datetime64[us]"), unit="s")
    return np.char.add(text.astype(str), "+00:00")  # the timestamp rule: docs/scan.md


def _iso_one(us: int) -> str:
    return pd.Timestamp(us, unit="us", tz="UTC").strftime(TIMESTAMP_FORMAT)


def analyze(
    agg: Aggregates,
    matches: dict[str, KnownMatch],
    geo: GeoDatabase,
    *,
    max_file_degree: int = NETWORK_MAX_FILE_DEGREE,
    removal_steps: int = NETWORK_REMOVAL_STEPS,
    resolution: float = NETWORK_LOUVAIN_RESOLUTION,
) -> Analysis:
    edges = agg.edges
    # Peer mode's dictionary may hold keys no edge uses.
    used = np.flatnonzero(np.bincount(edges["conn"], minlength=len(agg.conns)))
    remap = np.full(len(agg.conns), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    ci = remap[edges["conn"]]
    fi = np.asarray(edges["file"], dtype=np.int64)
    conn_keys = np.asarray(agg.conns[used], dtype=object)
    file_keys = agg.files["file_key"].to_numpy(dtype=object)
    n_conn, n_file = len(conn_keys), len(file_keys)
    known_file = np.fromiter((k in matches for k in file_keys), dtype=bool, count=n_file)
    sightings = np.asarray(edges["sightings"], dtype=np.int64)
    incidence = sp.csr_matrix((sightings, (ci, fi)), shape=(n_conn, n_file))
    edge_known = known_file[fi]

    # Per connection: known/unknown distinct files and sightings, first/last seen.
    known_files = np.bincount(ci, weights=edge_known, minlength=n_conn).astype(np.int64)
    unknown_files = np.bincount(ci, weights=~edge_known, minlength=n_conn).astype(np.int64)
    known_sight = np.bincount(ci, weights=sightings * edge_known, minlength=n_conn)
    all_sight = np.bincount(ci, weights=sightings, minlength=n_conn)
    first = reduce_groups(ci, np.asarray(edges["first"], dtype=np.int64), n_conn, 1)
    last = reduce_groups(ci, np.asarray(edges["last"], dtype=np.int64), n_conn, 2)

    # Main IP and client (most sightings; ties to the first in sorted order) and geolocation.
    ip_code, n_ips = _main(
        remap[agg.conn_ip["conn"]], agg.conn_ip["ip"], agg.conn_ip["sightings"], n_conn
    )
    client_code, _ = _main(
        remap[agg.conn_client["conn"]],
        agg.conn_client["client"],
        agg.conn_client["sightings"],
        n_conn,
    )
    ip = np.asarray(agg.ips, dtype=object)[ip_code]
    n_proto = max(len(agg.protocols), 1)
    client = np.asarray(agg.clients, dtype=object)[client_code // n_proto]
    protocol = np.asarray(agg.protocols, dtype=object)[client_code % n_proto]
    used_ips = np.unique(ip_code)
    answers = geo.lookup(np.asarray(agg.ips, dtype=object)[used_ips].tolist())
    where = np.searchsorted(used_ips, ip_code)
    country = np.array(answers.countries, dtype=object)[where]
    asn = np.array(answers.asns, dtype=np.int64)[where]
    as_org = np.array(answers.as_orgs, dtype=object)[where]

    # Network = connections with known material; graph on their known files.
    in_net = np.flatnonzero(known_files > 0)
    known_cols = np.flatnonzero(known_file)
    net_inc = incidence[in_net][:, known_cols]
    # Communities and components on the connection-file graph itself: it carries the same
    # sharing as the projection in O(edges) where the projection costs O(sum d^2) edges.
    bipartite = bipartite_graph(net_inc)
    n_net = len(in_net)
    n_comp, comp_all = connected_components(bipartite, directed=False)
    comm_all = louvain(bipartite, resolution)
    q = modularity(bipartite, comm_all) if bipartite.nnz else 0.0
    comm = _by_size(_compact(comm_all[:n_net]))
    comp = _by_size(_compact(comp_all[:n_net]))
    rank = pagerank_projected(net_inc, max_file_degree)
    group_size = np.bincount(comm)
    comp_size = np.bincount(comp) if len(comp) else np.zeros(0, dtype=np.int64)

    binary = sp.csr_matrix(net_inc, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    member = sp.csr_matrix(
        (np.ones(len(comm)), (comm, np.arange(len(comm)))), shape=(len(group_size), len(comm))
    )
    group_files = (member @ binary) > 0
    group_known = np.asarray(group_files.sum(axis=1)).ravel().astype(np.int64)
    share = known_files[in_net] / np.maximum(group_known[comm], 1)
    removal = greedy_removal(net_inc, removal_steps)
    removal_rank = np.zeros(len(in_net), dtype=np.int64)
    for step, (local, _, _) in enumerate(removal, start=1):
        removal_rank[local] = step

    leads = pd.DataFrame(
        {
            "connection": conn_keys[in_net],
            "ip": ip[in_net],
            "ips": n_ips[in_net],
            "country": country[in_net],
            "asn": asn[in_net],
            "as_org": as_org[in_net],
            "client": client[in_net],
            "protocol": protocol[in_net],
            "known_files": known_files[in_net],
            "known_sightings": known_sight[in_net].astype(np.int64),
            "unknown_files": unknown_files[in_net],
            "first_seen": _iso(first[in_net]),
            "last_seen": _iso(last[in_net]),
            "group": comm + 1,
            "group_size": group_size[comm],
            "component": comp + 1,
            "share_of_group_files": np.round(share, 4),
            "pagerank": rank,
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

    conns = pd.DataFrame(
        {
            "connection": conn_keys,
            "ip": ip,
            "country": country,
            "asn": asn,
            "client": client,
            "sightings": all_sight.astype(np.int64),
            "known": known_files > 0,
        }
    )
    removal_table = pd.DataFrame(
        [
            {
                "step": s,
                "connection": conn_keys[in_net[local]],
                "files_lost": lost,
                "known_files_available": available,
                "share_available": round(available / max(len(known_cols), 1), 4),
            }
            for s, (local, lost, available) in enumerate(removal, start=1)
        ],
        columns=["step", "connection", "files_lost", "known_files_available", "share_available"],
    )
    groups = _groups(leads, group_known)
    candidates = _candidates(agg, incidence, conn_keys, file_keys, known_file, known_files, ci)
    tables = {
        "leads": leads,
        "groups": groups,
        "countries": _breakdown(conns, "country"),
        "asns": _breakdown(conns, "asn"),
        "clients": _breakdown(conns, "client"),
        "timeline": _timeline(agg),
        "removal": removal_table,
        "candidates": candidates,
        "known_files": _known_table(agg.files, matches, incidence, known_file),
    }
    known_sighted = int(known_file[np.asarray((incidence > 0).sum(axis=0)).ravel() > 0].sum())
    net_countries = sorted({c for c in country[in_net] if c != "unknown"})
    headline: dict[str, object] = {
        "connections": int(len(in_net)),
        "connections_total": int(n_conn),
        "countries": len(net_countries),
        "countries_unknown_connections": int((country[in_net] == "unknown").sum()),
        "groups": int((group_size >= 2).sum()),
        "components": int((comp_size >= 2).sum()),
        "modularity": round(q, 4),
        "known_files": known_sighted,
        "unknown_files": int(n_file - known_file.sum()),
        "unknown_candidate_files": int(len(candidates)),
        "sightings": int(sightings.sum()),
        "known_sightings": int((sightings * edge_known).sum()),
        "first_seen": _iso_one(int(first.min())) if n_conn else None,
        "last_seen": _iso_one(int(last.max())) if n_conn else None,
    }
    return Analysis(headline, tables, _group_graph(groups, group_files, comm))


def _main(
    conn: np.ndarray, value: np.ndarray, count: np.ndarray, n_conn: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per connection: the value with most sightings (lowest code on ties), and how many."""
    order = np.lexsort((value, -count, conn))
    conn_sorted = conn[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = conn_sorted[1:] != conn_sorted[:-1]
    main = np.zeros(n_conn, dtype=np.int64)
    main[conn_sorted[first]] = value[order][first]
    return main, np.bincount(conn, minlength=n_conn)


def _compact(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 (files' own communities dropped)."""
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel 0.. by descending size, ties by lowest member: group 1 is the largest."""
    if not len(labels):
        return labels
    size = np.bincount(labels)
    first = np.full(len(size), len(labels))
    np.minimum.at(first, labels, np.arange(len(labels)))
    order = np.lexsort((first, -size))
    new = np.empty(len(size), dtype=np.int64)
    new[order] = np.arange(len(size))
    return np.asarray(new[labels], dtype=np.int64)


def _groups(leads: pd.DataFrame, group_known: np.ndarray) -> pd.DataFrame:
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


def _breakdown(conns: pd.DataFrame, by: str) -> pd.DataFrame:
    g = conns.groupby(by)
    out = pd.DataFrame(
        {
            "connections": g["known"].sum().astype(np.int64),
            "connections_total": g.size(),
            "sightings": g["sightings"].sum(),
        }
    ).reset_index()
    return out.sort_values(["connections", by], ascending=[False, True]).reset_index(drop=True)


def _timeline(agg: Aggregates) -> pd.DataFrame:
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


def _candidates(
    agg: Aggregates,
    incidence: sp.csr_matrix,
    conn_keys: np.ndarray,
    file_keys: np.ndarray,
    known_file: np.ndarray,
    known_files: np.ndarray,
    ci: np.ndarray,
) -> pd.DataFrame:
    """Unknown files held by >= 2 connections that also hold known material."""
    holds_known = sp.diags((known_files > 0).astype(np.float64))
    binary = sp.csr_matrix(incidence, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    with_known = np.asarray((holds_known @ binary).sum(axis=0)).ravel().astype(np.int64)
    holders = np.asarray(binary.sum(axis=0)).ravel().astype(np.int64)
    sightings = np.asarray(incidence.sum(axis=0)).ravel().astype(np.int64)
    pick = np.flatnonzero(~known_file & (with_known >= NETWORK_CANDIDATE_MIN_HOLDERS))
    files = agg.files.set_index("file_key")
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


def _known_table(
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


def _group_graph(
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
