"""From aggregates to the picture: groups, countries, leads, candidates, timeline.

``analyze`` is the pipeline: the arrays per connection (``measures``), then the tables
(``tables``) and the headline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from safelight.constants import (
    NETWORK_LOUVAIN_RESOLUTION,
    NETWORK_MAX_FILE_DEGREE,
    NETWORK_REMOVAL_STEPS,
)
from safelight.network.aggregate import Aggregates
from safelight.network.geo import GeoDatabase
from safelight.network.known import KnownMatch
from safelight.network.measures import (
    ConnectionStats,
    Incidence,
    NetworkGroups,
    Whereabouts,
    build_incidence,
    connection_stats,
    find_groups,
    locate_connections,
)
from safelight.network.tables import (
    breakdown,
    candidates_table,
    connections_table,
    group_graph,
    groups_table,
    known_table,
    leads_table,
    removal_table,
    timeline,
)
from safelight.timestamps import TIMESTAMP_FORMAT


@dataclass
class Analysis:
    headline: dict[str, object]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    group_graph: dict[str, list[dict[str, object]]] = field(default_factory=dict)


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
    """Connections x files, then per connection its counts and whereabouts, then the network
    (connections holding known material) with its groups and ranks, then the tables."""
    edges = build_incidence(agg, matches)
    stats = connection_stats(agg, edges)
    where = locate_connections(agg, edges, geo)
    net = find_groups(edges, stats, resolution, max_file_degree, removal_steps)
    leads = leads_table(edges, stats, where, net)
    groups = groups_table(leads, net.group_known)
    conns = connections_table(edges, stats, where)
    candidates = candidates_table(agg.files, edges, stats.known_files)
    tables = {
        "leads": leads,
        "groups": groups,
        "countries": breakdown(conns, "country"),
        "asns": breakdown(conns, "asn"),
        "clients": breakdown(conns, "client"),
        "timeline": timeline(agg),
        "removal": removal_table(edges, net),
        "candidates": candidates,
        "known_files": known_table(agg.files, matches, edges.incidence, edges.known_file),
    }
    headline = _headline(edges, stats, where, net, len(candidates))
    return Analysis(headline, tables, group_graph(groups, net.group_files, net.comm))


def _headline(
    edges: Incidence,
    stats: ConnectionStats,
    where: Whereabouts,
    net: NetworkGroups,
    candidates: int,
) -> dict[str, object]:
    known_file, sightings = edges.known_file, edges.sightings
    sighted = np.asarray((edges.incidence > 0).sum(axis=0)).ravel() > 0
    country = where.country[net.in_net]
    net_countries = sorted({c for c in country if c != "unknown"})
    n_conn = edges.n_conn
    return {
        "connections": int(len(net.in_net)),
        "connections_total": int(n_conn),
        "countries": len(net_countries),
        "countries_unknown_connections": int((country == "unknown").sum()),
        "groups": int((net.group_size >= 2).sum()),
        "components": int((net.comp_size >= 2).sum()),
        "modularity": round(net.modularity, 4),
        "known_files": int(known_file[sighted].sum()),
        "unknown_files": int(len(known_file) - known_file.sum()),
        "unknown_candidate_files": int(candidates),
        "sightings": int(sightings.sum()),
        "known_sightings": int((sightings * edges.edge_known).sum()),
        "first_seen": _iso_one(int(stats.first.min())) if n_conn else None,
        "last_seen": _iso_one(int(stats.last.max())) if n_conn else None,
    }
