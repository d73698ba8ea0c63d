"""Synthetic sighting logs with a known answer, for tests, demos and benchmarks.

The simulated world: actors (peers) in planted groups exchange files from their group's pool;
sharing is heavy-tailed (a few heavy sharers per group hold much of the pool); a few popular
files cross groups; some actors change IP half-way (churn); noise peers sight unrelated files;
a small share of rows is malformed and a few are exported twice. Files are random digests:
there is no media. IPs come from the documentation ranges (RFC 5737 IPv4 /28 blocks, RFC 3849
``2001:db8:<country>::/48``) and a companion ``geo.mmdb`` maps each block to its country, so
every location is known exactly.

Outputs in the folder of ``out``: the sightings file, ``truth.json`` (counts),
``truth_connections.csv`` (ip, actor, peer, group, country, heavy), ``known.csv`` (the known
files as a hash list) and ``geo.mmdb``.
"""

from __future__ import annotations

import ipaddress
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
from safelight.outputs import prepare_parent

# Countries drawn in this order (ISO 3166-1 alpha-2); simulated only, no meaning attached.
SIM_COUNTRIES = (
    "US",
    "DE",
    "GB",
    "FR",
    "NL",
    "CA",
    "BR",
    "IN",
    "JP",
    "AU",
    "ES",
    "IT",
    "SE",
    "PL",
    "MX",
    "ZA",
    "KR",
    "AR",
    "TR",
    "RU",
    "UA",
    "NG",
    "EG",
    "ID",
    "PH",
    "TH",
    "VN",
    "MY",
    "SG",
    "NZ",
    "IE",
    "BE",
    "CH",
    "AT",
    "DK",
    "NO",
    "FI",
    "PT",
    "GR",
    "CZ",
    "RO",
    "HU",
    "BG",
    "RS",
    "HR",
    "CL",
    "CO",
    "PE",
    "VE",
    "KE",
    "MA",
    "DZ",
    "TN",
    "SA",
    "AE",
    "IL",
    "PK",
    "BD",
    "LK",
    "CN",
    "TW",
    "HK",
    "IS",
    "EE",
    "LV",
    "LT",
    "SK",
    "SI",
    "LU",
    "CY",
)
CLIENTS = (
    ("uTorrent 3.6", "BitTorrent"),
    ("qBittorrent 4.6", "BitTorrent"),
    ("eMule 0.60", "eDonkey"),
    ("Shareaza 2.7", "Gnutella"),
    ("BitComet 2.05", "BitTorrent"),
)
START_EPOCH = 1_709_251_200  # 2024-03-01T00:00:00Z
V4_BLOCKS = [
    f"{net}.{i * 16}/28" for net in ("192.0.2", "198.51.100", "203.0.113") for i in range(16)
]


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


def _sizes(rng: np.random.Generator, total: int, parts: int, minimum: int) -> np.ndarray:
    """Heavy-tailed sizes (Pareto weights) summing to ``total``, each at least ``minimum``."""
    weights = rng.pareto(1.5, parts) + 1.0
    extra = total - minimum * parts
    sizes = minimum + np.floor(weights / weights.sum() * extra).astype(np.int64)
    sizes[np.argmax(sizes)] += total - int(sizes.sum())
    return np.asarray(sizes, dtype=np.int64)


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
    _check_outputs(out, overwrite)
    rng = np.random.default_rng(seed)
    n_ips = connections
    n_churn = n_ips // 11  # these actors have a second IP in the second half of the period
    n_actors = n_ips - n_churn
    n_noise = max(1, n_actors * 15 // 100)
    n_grouped = n_actors - n_noise
    if n_grouped < 4 * groups:
        raise UsageError("too few connections for that many groups")

    # Actors: group (-1 noise), country, client, peer id, heavy flag.
    actor_group = np.full(n_actors, -1, dtype=np.int64)
    group_sizes = _sizes(rng, n_grouped, groups, 4)
    actor_group[:n_grouped] = np.repeat(np.arange(groups), group_sizes)
    actor_group[:n_grouped] = rng.permutation(actor_group[:n_grouped])
    # Churn only among the first actors; heavy sharers are chosen among the others.
    churn_actors = np.arange(n_churn)
    actor_country = np.minimum(rng.zipf(1.6, n_actors) - 1, countries - 1)
    actor_country[rng.permutation(n_actors)[:countries]] = np.arange(countries)
    actor_client = rng.integers(0, len(CLIENTS), n_actors)
    peer_ids = [f"{v:016x}" for v in rng.integers(0, 1 << 62, n_actors)]
    heavy = np.zeros(n_actors, dtype=bool)
    for g in range(groups):
        members = np.flatnonzero(actor_group == g)
        members = members[members >= n_churn]
        if len(members):
            heavy[members[: max(1, len(members) // 40)]] = True

    # IPs: actor a's first IP is index a; churn actors' second IPs follow.
    ip_actor = np.concatenate([np.arange(n_actors), churn_actors])
    ip_phase = np.zeros(n_ips, dtype=np.int64)
    ip_phase[churn_actors] = 1
    ip_phase[n_actors:] = 2
    ip_text = _ip_texts(rng, actor_country[ip_actor], countries)

    # Files: [0, n_bridge) popular known files crossing groups; then each group's known pool,
    # each group's unknown pool, then noise files.
    n_known = files * 6 // 10
    n_bridge = max(1, n_known // 100)
    n_unknown_group = files * 2 // 10
    n_noise_files = files - n_known - n_unknown_group
    known_sizes = _sizes(rng, n_known - n_bridge, groups, 5)
    unknown_sizes = _sizes(rng, n_unknown_group, groups, 2)
    known_start = n_bridge + np.concatenate([[0], np.cumsum(known_sizes)[:-1]])
    unknown_start = n_known + np.concatenate([[0], np.cumsum(unknown_sizes)[:-1]])

    total = sightings or n_ips * 10
    per_ip = rng.pareto(2.0, n_ips) + 1.0
    per_ip[heavy[ip_actor]] *= 8.0
    per_ip = np.maximum(2, np.round(per_ip / per_ip.sum() * total)).astype(np.int64)
    row_ip = np.repeat(np.arange(n_ips), per_ip)
    n_rows = len(row_ip)
    row_actor = ip_actor[row_ip]
    row_group = actor_group[row_actor]
    draw = rng.random(n_rows)
    skew = np.where(heavy[row_actor], 1.0, 2.5)
    pick = rng.random(n_rows) ** skew
    g = np.maximum(row_group, 0)
    file_idx = np.where(
        draw < 0.03,
        np.floor(rng.random(n_rows) * n_bridge),
        np.where(
            draw < 0.85,
            known_start[g] + np.floor(pick * known_sizes[g]),
            unknown_start[g] + np.floor(pick * unknown_sizes[g]),
        ),
    ).astype(np.int64)
    noise_rows = row_group < 0
    file_idx[noise_rows] = (
        n_known + n_unknown_group + rng.integers(0, n_noise_files, int(noise_rows.sum()))
    )
    span = days * 86_400
    phase = ip_phase[row_ip]
    offset = rng.random(n_rows)
    offset = np.where(phase == 1, offset / 2, np.where(phase == 2, 0.5 + offset / 2, offset))
    ts = START_EPOCH + np.floor(offset * span).astype(np.int64)

    algos = rng.choice(np.array(["sha1", "md5", "sha256"]), files, p=[0.6, 0.25, 0.15])
    lengths = {"md5": 16, "sha1": 20, "sha256": 32}
    digests = np.array([rng.bytes(lengths[a]).hex() for a in algos], dtype=object)

    table = _table(rng, ts, row_ip, row_actor, file_idx, ip_text, peer_ids, actor_client, digests)
    distinct = n_rows - int(table.to_pandas().duplicated().sum())  # same second, same file
    n_dup = n_rows // 1000
    dup_rows = rng.choice(n_rows, n_dup, replace=False)
    n_bad = int(round(n_rows * bad_fraction))
    bad = _bad_rows(rng, table, n_bad)
    full = pa.concat_tables([table, table.take(pa.array(dup_rows)), bad])
    full = full.take(pa.array(rng.permutation(full.num_rows)))
    prepare_parent(out)
    if out.suffix.lower() == ".parquet":
        pq.write_table(full, out)
    else:
        csvguard.write_table(full, out)

    _write_geo(out.parent / COMPANION_FILES["geo"], countries)
    _write_known(out.parent / COMPANION_FILES["known_list"], digests[:n_known], algos[:n_known])
    sighted = np.unique(file_idx)
    in_groups = np.unique(row_ip[~noise_rows])
    heavy_ips = sorted(ip_text[i] for i in range(n_ips) if heavy[ip_actor[i]])
    truth = SimulationTruth(
        connections=n_ips,
        peers=n_actors,
        countries=int(len(np.unique(actor_country))),
        groups=groups,
        connections_in_groups=int(len(in_groups)),
        connections_with_known=int(len(np.unique(row_ip[file_idx < n_known]))),
        good_rows=n_rows,
        distinct_good_rows=distinct,
        bad_rows=n_bad,
        duplicate_rows=n_dup,
        known_files_sighted=int((sighted < n_known).sum()),
        heavy_sharers=heavy_ips,
        files={"sightings": out.name, **COMPANION_FILES},
    )
    (out.parent / COMPANION_FILES["truth"]).write_text(json.dumps(truth.to_dict(), indent=2))
    with (out.parent / COMPANION_FILES["connections"]).open("w", newline="") as fh:
        writer = csvguard.writer(fh)
        writer.writerow(["ip", "actor", "peer_id", "group", "country", "heavy"])
        for i in range(n_ips):
            a = int(ip_actor[i])
            writer.writerow(
                [
                    ip_text[i],
                    a,
                    peer_ids[a],
                    int(actor_group[a]),
                    SIM_COUNTRIES[actor_country[a]],
                    int(heavy[a]),
                ]
            )
    return truth


def _ip_texts(rng: np.random.Generator, country: np.ndarray, countries: int) -> list[str]:
    """Unique documentation-range IPs; a few IPv4 per country block, the rest IPv6."""
    texts: list[str] = []
    v4_used: dict[int, int] = {}
    host = rng.permutation(len(country)) + 1
    for i, c in enumerate(country.tolist()):
        block = c if c < len(V4_BLOCKS) else -1
        if block >= 0 and i % 7 == 0 and v4_used.get(block, 0) < 14:
            v4_used[block] = v4_used.get(block, 0) + 1
            base = V4_BLOCKS[block].split("/")[0]
            prefix, last = base.rsplit(".", 1)
            texts.append(f"{prefix}.{int(last) + v4_used[block]}")
        else:
            h = int(host[i])
            addr = (0x20010DB8 << 96) | ((c + 1) << 80) | h
            texts.append(str(ipaddress.IPv6Address(addr)))
    return texts


def _table(
    rng: np.random.Generator,
    ts: np.ndarray,
    row_ip: np.ndarray,
    row_actor: np.ndarray,
    file_idx: np.ndarray,
    ip_text: list[str],
    peer_ids: list[str],
    actor_client: np.ndarray,
    digests: np.ndarray,
) -> pa.Table:
    n = len(ts)
    stamps = pa.array(ts, pa.timestamp("s", tz="UTC"))
    iso = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ")
    ports = rng.integers(1024, 65536, len(ip_text))
    clients = np.array([c for c, _ in CLIENTS], dtype=object)
    protocols = np.array([p for _, p in CLIENTS], dtype=object)
    sizes = rng.integers(10_000, 5_000_000, len(digests))
    return pa.table(
        {
            "timestamp": iso,
            "ip": pa.array(np.array(ip_text, dtype=object)[row_ip], pa.string()),
            "port": pa.array(ports[row_ip]).cast(pa.string()),
            "peer_id": pa.array(np.array(peer_ids, dtype=object)[row_actor], pa.string()),
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
