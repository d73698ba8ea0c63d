"""From aggregates to arrays per connection: the incidence, counts, whereabouts, groups.

Only connections that sighted known material are "in the network"; the others count in the
totals but not in groups or leads. Groups are Louvain communities of the weighted projection
(connected components are reported beside them); leads are ranked (``tables``) by distinct
known files, then known sightings, then PageRank centrality.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from safelight.network.aggregate import Aggregates
from safelight.network.community import louvain, modularity
from safelight.network.geo import GeoDatabase
from safelight.network.graph import bipartite_graph, greedy_removal, pagerank_projected
from safelight.network.hashtables import reduce_groups
from safelight.network.known import KnownMatch


@dataclass(frozen=True)
class Incidence:
    """Connection x file sightings; connections renumbered 0.. over those with an edge."""

    remap: np.ndarray  # aggregate connection code -> row here (-1: no edge)
    conn: np.ndarray  # per edge: its connection row
    file: np.ndarray  # per edge: its file column
    sightings: np.ndarray  # per edge
    edge_known: np.ndarray  # per edge: the file is known material
    conn_keys: np.ndarray  # per row: the connection's key (IP, IP:port or peer id)
    file_keys: np.ndarray  # per column
    known_file: np.ndarray  # per column
    incidence: sp.csr_matrix  # rows x columns, sightings

    @property
    def n_conn(self) -> int:
        return len(self.conn_keys)


def build_incidence(agg: Aggregates, matches: dict[str, KnownMatch]) -> Incidence:
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
    return Incidence(
        remap, ci, fi, sightings, known_file[fi], conn_keys, file_keys, known_file, incidence
    )


@dataclass(frozen=True)
class ConnectionStats:
    """Per connection: known/unknown distinct files and sightings, first/last seen (us)."""

    known_files: np.ndarray
    unknown_files: np.ndarray
    known_sightings: np.ndarray
    sightings: np.ndarray
    first: np.ndarray
    last: np.ndarray


def connection_stats(agg: Aggregates, edges: Incidence) -> ConnectionStats:
    ci, n_conn, edge_known = edges.conn, edges.n_conn, edges.edge_known
    return ConnectionStats(
        known_files=np.bincount(ci, weights=edge_known, minlength=n_conn).astype(np.int64),
        unknown_files=np.bincount(ci, weights=~edge_known, minlength=n_conn).astype(np.int64),
        known_sightings=np.bincount(ci, weights=edges.sightings * edge_known, minlength=n_conn),
        sightings=np.bincount(ci, weights=edges.sightings, minlength=n_conn),
        first=reduce_groups(ci, np.asarray(agg.edges["first"], dtype=np.int64), n_conn, 1),
        last=reduce_groups(ci, np.asarray(agg.edges["last"], dtype=np.int64), n_conn, 2),
    )


@dataclass(frozen=True)
class Whereabouts:
    """Per connection: main IP (and how many), client, protocol and their geolocation."""

    ip: np.ndarray
    n_ips: np.ndarray
    client: np.ndarray
    protocol: np.ndarray
    country: np.ndarray
    asn: np.ndarray
    as_org: np.ndarray


def locate_connections(agg: Aggregates, edges: Incidence, geo: GeoDatabase) -> Whereabouts:
    """The main IP and client are those with most sightings (ties: first in sorted order);
    each distinct main IP is looked up once."""
    remap, n_conn = edges.remap, edges.n_conn
    ip_code, n_ips = _main(
        remap[agg.conn_ip["conn"]], agg.conn_ip["ip"], agg.conn_ip["sightings"], n_conn
    )
    client_code, _ = _main(
        remap[agg.conn_client["conn"]],
        agg.conn_client["client"],
        agg.conn_client["sightings"],
        n_conn,
    )
    n_proto = max(len(agg.protocols), 1)
    used_ips = np.unique(ip_code)
    answers = geo.lookup(np.asarray(agg.ips, dtype=object)[used_ips].tolist())
    where = np.searchsorted(used_ips, ip_code)
    return Whereabouts(
        ip=np.asarray(agg.ips, dtype=object)[ip_code],
        n_ips=n_ips,
        client=np.asarray(agg.clients, dtype=object)[client_code // n_proto],
        protocol=np.asarray(agg.protocols, dtype=object)[client_code % n_proto],
        country=np.array(answers.countries, dtype=object)[where],
        asn=np.array(answers.asns, dtype=np.int64)[where],
        as_org=np.array(answers.as_orgs, dtype=object)[where],
    )


@dataclass(frozen=True)
class NetworkGroups:
    """The connections holding known material (rows ``in_net``), their groups and ranks."""

    in_net: np.ndarray  # connection rows in the network
    n_known_files: int  # known files in the case, sighted or not (the removal's base)
    comm: np.ndarray  # per network connection: group 0.., largest first
    comp: np.ndarray  # per network connection: connected component 0.., largest first
    modularity: float
    pagerank: np.ndarray
    group_files: sp.spmatrix  # groups x known files: the group holds the file
    group_known: np.ndarray  # per group: distinct known files
    removal: list[tuple[int, int, int]]  # greedy removal: (local row, files lost, available)

    @property
    def group_size(self) -> np.ndarray:
        return np.bincount(self.comm)

    @property
    def comp_size(self) -> np.ndarray:
        return np.bincount(self.comp) if len(self.comp) else np.zeros(0, dtype=np.int64)


def find_groups(
    edges: Incidence,
    stats: ConnectionStats,
    resolution: float,
    max_file_degree: int,
    removal_steps: int,
) -> NetworkGroups:
    """Network = connections with known material; the graph is on their known files."""
    in_net = np.flatnonzero(stats.known_files > 0)
    known_cols = np.flatnonzero(edges.known_file)
    net_inc = edges.incidence[in_net][:, known_cols]
    comm, comp, q = _communities(net_inc, resolution)
    rank = pagerank_projected(net_inc, max_file_degree)
    group_files = _group_files(net_inc, comm)
    group_known = np.asarray(group_files.sum(axis=1)).ravel().astype(np.int64)
    removal = greedy_removal(net_inc, removal_steps)
    return NetworkGroups(
        in_net, len(known_cols), comm, comp, q, rank, group_files, group_known, removal
    )


def _communities(net_inc: sp.csr_matrix, resolution: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Louvain groups and connected components of the network's connections (each labelled
    0.. largest first), and the modularity of the groups.

    Both run on the connection-file graph itself: it carries the same sharing as the
    projection in O(edges) where the projection costs O(sum d^2) edges.
    """
    bipartite = bipartite_graph(net_inc)
    n_net = net_inc.shape[0]
    _, comp_all = connected_components(bipartite, directed=False)
    comm_all = louvain(bipartite, resolution)
    q = modularity(bipartite, comm_all) if bipartite.nnz else 0.0
    comm = _by_size(_compact(comm_all[:n_net]))
    comp = _by_size(_compact(comp_all[:n_net]))
    return comm, comp, q


def _group_files(net_inc: sp.csr_matrix, comm: np.ndarray) -> sp.spmatrix:
    """Groups x known files: True where some member of the group sighted the file."""
    binary = sp.csr_matrix(net_inc, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    n_groups = len(np.bincount(comm))
    member = sp.csr_matrix(
        (np.ones(len(comm)), (comm, np.arange(len(comm)))), shape=(n_groups, len(comm))
    )
    return (member @ binary) > 0


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
