"""Synthetic sighting logs with a known answer, for tests, demos and benchmarks.

The simulated world (``simworld``): actors (peers) in planted groups exchange files from
their group's pool; sharing is heavy-tailed (a few heavy sharers per group hold much of the
pool); a few popular files cross groups; some actors change IP half-way (churn); noise peers
sight unrelated files; a small share of rows is malformed and a few are exported twice. Files
are random digests: there is no media. IPs come from the documentation ranges (RFC 5737 IPv4
/28 blocks, RFC 3849 ``2001:db8:<country>::/48``) and a companion ``geo.mmdb`` maps each
block to its country, so every location is known exactly.

Outputs in the folder of ``out``: the sightings file, ``truth.json`` (counts),
``truth_connections.csv`` (ip, actor, peer, group, country, heavy), ``known.csv`` (the known
files as a hash list) and ``geo.mmdb``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from safelight import csvguard
from safelight.errors import OutputExistsError, UsageError
from safelight.network.mmdb import write_mmdb
from safelight.network.simworld import (
    CLIENTS,
    SIM_COUNTRIES,
    V4_BLOCKS,
    Actors,
    FilePools,
    Ips,
    Rows,
    draw_actors,
    draw_digests,
    draw_ips,
    draw_sightings,
    file_pools,
)
from safelight.outputs import prepare_parent

# The files written beside the sightings file, by role (``SimulationTruth.files``).
COMPANION_FILES = {
    "connections": "truth_connections.csv",
    "known_list": "known.csv",
    "geo": "geo.mmdb",
    "truth": "truth.json",
}


def simulation_files(out: Path) -> list[Path]:
    """Every file ``simulate(out, ...)`` writes: the sightings, then its companions."""
    return [out, *(out.parent / name for name in COMPANION_FILES.values())]


def _check_outputs(out: Path, overwrite: bool) -> None:
    if out.name in COMPANION_FILES.values():
        raise UsageError(f"{out}: that name is taken by a companion file; name it otherwise")
    existing = [str(p) for p in simulation_files(out) if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"would overwrite {', '.join(existing)}", existing)


@dataclass(frozen=True)
class SimulationTruth:
    connections: int
    peers: int
    countries: int
    groups: int
    connections_in_groups: int
    connections_with_known: int
    good_rows: int
    distinct_good_rows: int
    bad_rows: int
    duplicate_rows: int
    known_files_sighted: int
    heavy_sharers: list[str]
    files: dict[str, str]

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def simulate(
    out: Path,
    *,
    connections: int,
    countries: int,
    groups: int,
    files: int,
    seed: int = 0,
    sightings: int | None = None,
    days: int = 30,
    bad_fraction: float = 0.002,
    overwrite: bool = False,
) -> SimulationTruth:
    """Simulate into ``out`` and its companions (``simulation_files``); existing files
    raise OutputExistsError unless ``overwrite``."""
    _check_shape(connections, countries, groups, files)
    _check_outputs(out, overwrite)
    # One generator, drawn from in this order: the steps below must keep it for a seed to
    # keep giving the same world.
    rng = np.random.default_rng(seed)
    actors = draw_actors(rng, connections, countries, groups)
    ips = draw_ips(rng, actors, countries)
    pools = file_pools(rng, files, groups)
    rows = draw_sightings(rng, actors, ips, pools, sightings or connections * 10, days)
    digests, algos = draw_digests(rng, files)
    table = _table(rng, rows, ips, actors, digests)
    full, flaws = _with_flaws(rng, table, bad_fraction)

    prepare_parent(out)
    if out.suffix.lower() == ".parquet":
        pq.write_table(full, out)
    else:
        csvguard.write_table(full, out)
    _write_geo(out.parent / COMPANION_FILES["geo"], countries)
    known = slice(0, pools.n_known)
    _write_known(out.parent / COMPANION_FILES["known_list"], digests[known], algos[known])
    truth = _truth(out, actors, ips, pools, rows, flaws)
    (out.parent / COMPANION_FILES["truth"]).write_text(json.dumps(truth.to_dict(), indent=2))
    _write_connections(out.parent / COMPANION_FILES["connections"], actors, ips)
    return truth


def _check_shape(connections: int, countries: int, groups: int, files: int) -> None:
    if not 1 <= countries <= len(SIM_COUNTRIES):
        raise UsageError(f"must be 1..{len(SIM_COUNTRIES)}, got {countries}", field="countries")
    if groups < 1:
        raise UsageError(f"must be 1 or more, got {groups}", field="groups")
    if connections < 8 * groups:
        raise UsageError(
            f"need at least 8 per group ({8 * groups} for {groups} groups), got {connections}",
            field="connections",
        )
    if files < 20 * groups:
        raise UsageError(
            f"need at least 20 per group ({20 * groups} for {groups} groups), got {files}",
            field="files",
        )
    if connections < countries:
        raise UsageError(
            f"need at least one per country ({countries}), got {connections}",
            field="connections",
        )


@dataclass(frozen=True)
class _Flaws:
    distinct: int  # good rows less repeats of an earlier one's second and file (ingest keeps one)
    duplicates: int  # rows exported twice
    bad: int  # broken copies


def _with_flaws(
    rng: np.random.Generator, table: pa.Table, bad_fraction: float
) -> tuple[pa.Table, _Flaws]:
    """The rows with a thousandth exported twice and ``bad_fraction`` broken copies added,
    shuffled; and how many of each."""
    n_rows = table.num_rows
    distinct = n_rows - int(table.to_pandas().duplicated().sum())
    n_dup = n_rows // 1000
    dup_rows = rng.choice(n_rows, n_dup, replace=False)
    n_bad = int(round(n_rows * bad_fraction))
    bad = _bad_rows(rng, table, n_bad)
    full = pa.concat_tables([table, table.take(pa.array(dup_rows)), bad])
    return full.take(pa.array(rng.permutation(full.num_rows))), _Flaws(distinct, n_dup, n_bad)


def _truth(
    out: Path, actors: Actors, ips: Ips, pools: FilePools, rows: Rows, flaws: _Flaws
) -> SimulationTruth:
    sighted = np.unique(rows.file)
    heavy_ips = sorted(ips.text[i] for i in range(len(ips.actor)) if actors.heavy[ips.actor[i]])
    return SimulationTruth(
        connections=len(ips.actor),
        peers=actors.count,
        countries=int(len(np.unique(actors.country))),
        groups=actors.n_groups,
        connections_in_groups=int(len(np.unique(rows.ip[~rows.noise]))),
        connections_with_known=int(len(np.unique(rows.ip[rows.file < pools.n_known]))),
        good_rows=len(rows.ip),
        distinct_good_rows=flaws.distinct,
        bad_rows=flaws.bad,
        duplicate_rows=flaws.duplicates,
        known_files_sighted=int((sighted < pools.n_known).sum()),
        heavy_sharers=heavy_ips,
        files={"sightings": out.name, **COMPANION_FILES},
    )


def _table(
    rng: np.random.Generator, rows: Rows, ips: Ips, actors: Actors, digests: np.ndarray
) -> pa.Table:
    """The good rows as a log exports them: text in every column."""
    n = len(rows.ts)
    stamps = pa.array(rows.ts, pa.timestamp("s", tz="UTC"))
    iso = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ")
    ports = rng.integers(1024, 65536, len(ips.text))
    clients = np.array([c for c, _ in CLIENTS], dtype=object)
    protocols = np.array([p for _, p in CLIENTS], dtype=object)
    sizes = rng.integers(10_000, 5_000_000, len(digests))
    row_ip, row_actor, file_idx = rows.ip, rows.actor, rows.file
    actor_client = actors.client
    return pa.table(
        {
            "timestamp": iso,
            "ip": pa.array(np.array(ips.text, dtype=object)[row_ip], pa.string()),
            "port": pa.array(ports[row_ip]).cast(pa.string()),
            "peer_id": pa.array(np.array(actors.peer_ids, dtype=object)[row_actor], pa.string()),
            "client": pa.array(clients[actor_client[row_actor]], pa.string()),
            "protocol": pa.array(protocols[actor_client[row_actor]], pa.string()),
            "hash": pa.array(digests[file_idx], pa.string()),
            "file_name": pc.binary_join_element_wise(
                pa.array(np.full(n, "file-", dtype=object), pa.string()),
                pa.array(file_idx).cast(pa.string()),
                pa.array(np.full(n, ".bin", dtype=object), pa.string()),
                "",
            ),
            "size": pa.array(sizes[file_idx]).cast(pa.string()),
        }
    )


def _bad_rows(rng: np.random.Generator, table: pa.Table, n_bad: int) -> pa.Table:
    """Copies of good rows with one field broken: time, zone, IP or digest."""
    if n_bad == 0:
        return table.slice(0, 0)
    rows = table.take(pa.array(rng.choice(table.num_rows, n_bad))).to_pydict()
    for i in range(n_bad):
        kind = i % 4
        if kind == 0:
            rows["timestamp"][i] = "not-a-time"
        elif kind == 1:
            rows["timestamp"][i] = rows["timestamp"][i].rstrip("Z")  # no zone
        elif kind == 2:
            rows["ip"][i] = "999.12.0.1"
        else:
            rows["hash"][i] = "xyz-not-hex"
    return pa.table(rows, schema=table.schema)


def _write_geo(path: Path, countries: int) -> None:
    networks: list[tuple[str, dict[str, object]]] = []
    for c in range(countries):
        record = {
            "country": {"iso_code": SIM_COUNTRIES[c]},
            "autonomous_system_number": 4_200_000_000 + c,  # RFC 6996 private-use ASNs
            "autonomous_system_organization": f"Simulated AS {c + 1}",
        }
        networks.append((f"2001:db8:{c + 1:x}::/48", record))
        if c < len(V4_BLOCKS):
            networks.append((V4_BLOCKS[c], record))
    write_mmdb(path, networks, database_type="Safelight-Simulated", description="simulated")


def _write_connections(path: Path, actors: Actors, ips: Ips) -> None:
    """The planted answer per connection (IP): its actor, peer, group, country, heaviness."""
    with path.open("w", newline="") as fh:
        writer = csvguard.writer(fh)
        writer.writerow(["ip", "actor", "peer_id", "group", "country", "heavy"])
        for i in range(len(ips.actor)):
            a = int(ips.actor[i])
            writer.writerow(
                [
                    ips.text[i],
                    a,
                    actors.peer_ids[a],
                    int(actors.group[a]),
                    SIM_COUNTRIES[actors.country[a]],
                    int(actors.heavy[a]),
                ]
            )


def _write_known(path: Path, digests: np.ndarray, algos: np.ndarray) -> None:
    with path.open("w", newline="") as fh:
        writer = csvguard.writer(fh)
        writer.writerow(["hash", "algorithm", "label"])
        for i, (digest, algo) in enumerate(zip(digests, algos, strict=True)):
            writer.writerow([digest, algo, f"series-{i % 7 + 1}"])


def adjusted_rand_index(truth: np.ndarray, found: np.ndarray) -> float:
    """Agreement of two labellings of the same items (Hubert & Arabie 1985): 1.0 identical
    groupings, about 0 for chance. Scores recovered groups against a simulation's truth.

    The contingency table is kept sparse (one count per label pair that occurs), so a million
    connections in thousands of groups cost one sort, not a dense table.
    """
    _, ti = np.unique(truth, return_inverse=True)
    _, fi = np.unique(found, return_inverse=True)
    pair = ti.astype(np.int64) * (int(fi.max()) + 1) + fi
    counts = np.unique(pair, return_counts=True)[1].astype(np.float64)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    index = pairs(counts)
    rows = pairs(np.bincount(ti).astype(np.float64))
    cols = pairs(np.bincount(fi).astype(np.float64))
    expected = rows * cols / pairs(np.array([len(truth)], dtype=np.float64))
    return (index - expected) / ((rows + cols) / 2 - expected)
