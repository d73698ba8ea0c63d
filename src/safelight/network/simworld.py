"""The simulated world behind ``simulate``: actors, their IPs, file pools and sightings.

Every step draws from the one generator it is given, in a fixed order, so a seed gives one
world. Actors (peers) in planted groups sight files from their group's pool; sharing is
heavy-tailed (a few heavy sharers per group hold much of the pool); a few popular files
cross groups; some actors change IP half-way (churn); noise peers sight unrelated files.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

from safelight.errors import UsageError

# Countries drawn in this order (ISO 3166-1 alpha-2); simulated only, no meaning attached.
SIM_COUNTRIES = tuple(
    "US DE GB FR NL CA BR IN JP AU ES IT SE PL MX ZA KR AR TR RU UA NG EG ID PH TH VN MY "
    "SG NZ IE BE CH AT DK NO FI PT GR CZ RO HU BG RS HR CL CO PE VE KE MA DZ TN SA AE IL "
    "PK BD LK CN TW HK IS EE LV LT SK SI LU CY".split()
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


@dataclass(frozen=True)
class Actors:
    """The peers behind the connections, by actor index."""

    group: np.ndarray  # planted group, -1 for noise peers
    country: np.ndarray  # index into SIM_COUNTRIES
    client: np.ndarray  # index into CLIENTS
    peer_ids: list[str]
    heavy: np.ndarray  # a heavy sharer of its group
    n_churn: int  # actors [0, n_churn) change IP half-way
    n_groups: int

    @property
    def count(self) -> int:
        return len(self.group)


def draw_actors(rng: np.random.Generator, n_ips: int, countries: int, groups: int) -> Actors:
    n_churn = n_ips // 11  # these actors have a second IP in the second half of the period
    n_actors = n_ips - n_churn
    n_noise = max(1, n_actors * 15 // 100)
    n_grouped = n_actors - n_noise
    if n_grouped < 4 * groups:
        raise UsageError("too few connections for that many groups")
    group = np.full(n_actors, -1, dtype=np.int64)
    group[:n_grouped] = np.repeat(np.arange(groups), _sizes(rng, n_grouped, groups, 4))
    group[:n_grouped] = rng.permutation(group[:n_grouped])
    country = np.minimum(rng.zipf(1.6, n_actors) - 1, countries - 1)
    country[rng.permutation(n_actors)[:countries]] = np.arange(countries)  # each one used
    client = rng.integers(0, len(CLIENTS), n_actors)
    peer_ids = [f"{v:016x}" for v in rng.integers(0, 1 << 62, n_actors)]
    # Heavy sharers: a fortieth of each group (at least one), none among the churn actors.
    heavy = np.zeros(n_actors, dtype=bool)
    for g in range(groups):
        members = np.flatnonzero(group == g)
        members = members[members >= n_churn]
        if len(members):
            heavy[members[: max(1, len(members) // 40)]] = True
    return Actors(group, country, client, peer_ids, heavy, n_churn, groups)


@dataclass(frozen=True)
class Ips:
    """The connections: one IP each, by IP index."""

    actor: np.ndarray  # the actor behind the IP
    phase: np.ndarray  # 0 the whole period, 1 its first half, 2 its second half
    text: list[str]


def draw_ips(rng: np.random.Generator, actors: Actors, countries: int) -> Ips:
    """Actor a's first IP is index a; churn actors' second IPs follow."""
    churn_actors = np.arange(actors.n_churn)
    actor = np.concatenate([np.arange(actors.count), churn_actors])
    phase = np.zeros(len(actor), dtype=np.int64)
    phase[churn_actors] = 1
    phase[actors.count :] = 2
    return Ips(actor, phase, _ip_texts(rng, actors.country[actor], countries))


@dataclass(frozen=True)
class FilePools:
    """File indexes: [0, n_bridge) popular known files crossing groups; then each group's
    known pool, each group's unknown pool, then noise files."""

    n_known: int
    n_bridge: int
    n_unknown_group: int
    n_noise_files: int
    known_start: np.ndarray  # per group
    known_sizes: np.ndarray
    unknown_start: np.ndarray
    unknown_sizes: np.ndarray


def file_pools(rng: np.random.Generator, files: int, groups: int) -> FilePools:
    n_known = files * 6 // 10
    n_bridge = max(1, n_known // 100)
    n_unknown_group = files * 2 // 10
    known_sizes = _sizes(rng, n_known - n_bridge, groups, 5)
    unknown_sizes = _sizes(rng, n_unknown_group, groups, 2)
    return FilePools(
        n_known=n_known,
        n_bridge=n_bridge,
        n_unknown_group=n_unknown_group,
        n_noise_files=files - n_known - n_unknown_group,
        known_start=n_bridge + np.concatenate([[0], np.cumsum(known_sizes)[:-1]]),
        known_sizes=known_sizes,
        unknown_start=n_known + np.concatenate([[0], np.cumsum(unknown_sizes)[:-1]]),
        unknown_sizes=unknown_sizes,
    )


@dataclass(frozen=True)
class Rows:
    """The good sightings, one per row."""

    ip: np.ndarray
    actor: np.ndarray
    file: np.ndarray
    ts: np.ndarray  # epoch seconds
    noise: np.ndarray  # sighted by a noise peer


def draw_sightings(
    rng: np.random.Generator,
    actors: Actors,
    ips: Ips,
    pools: FilePools,
    total: int,
    days: int,
) -> Rows:
    """About ``total`` rows, heavy-tailed per IP (heavy sharers eight times more)."""
    per_ip = rng.pareto(2.0, len(ips.actor)) + 1.0
    per_ip[actors.heavy[ips.actor]] *= 8.0
    per_ip = np.maximum(2, np.round(per_ip / per_ip.sum() * total)).astype(np.int64)
    row_ip = np.repeat(np.arange(len(ips.actor)), per_ip)
    row_actor = ips.actor[row_ip]
    row_group = actors.group[row_actor]
    file_idx = _sighted_files(rng, row_group, actors.heavy[row_actor], pools)
    ts = _instants(rng, ips.phase[row_ip], days)
    return Rows(row_ip, row_actor, file_idx, ts, row_group < 0)


def _sighted_files(
    rng: np.random.Generator, row_group: np.ndarray, row_heavy: np.ndarray, pools: FilePools
) -> np.ndarray:
    """Per row: 3% a bridge file, 82% the group's known pool, the rest its unknown pool
    (heavy sharers reach deeper into the pools); noise peers sight noise files."""
    n_rows = len(row_group)
    draw = rng.random(n_rows)
    skew = np.where(row_heavy, 1.0, 2.5)
    pick = rng.random(n_rows) ** skew
    g = np.maximum(row_group, 0)
    file_idx = np.where(
        draw < 0.03,
        np.floor(rng.random(n_rows) * pools.n_bridge),
        np.where(
            draw < 0.85,
            pools.known_start[g] + np.floor(pick * pools.known_sizes[g]),
            pools.unknown_start[g] + np.floor(pick * pools.unknown_sizes[g]),
        ),
    ).astype(np.int64)
    noise_rows = row_group < 0
    file_idx[noise_rows] = (
        pools.n_known
        + pools.n_unknown_group
        + rng.integers(0, pools.n_noise_files, int(noise_rows.sum()))
    )
    return file_idx


def _instants(rng: np.random.Generator, phase: np.ndarray, days: int) -> np.ndarray:
    """Epoch seconds over the period, or over the half of it that the row's IP is used."""
    span = days * 86_400
    offset = rng.random(len(phase))
    offset = np.where(phase == 1, offset / 2, np.where(phase == 2, 0.5 + offset / 2, offset))
    return START_EPOCH + np.floor(offset * span).astype(np.int64)


def draw_digests(rng: np.random.Generator, files: int) -> tuple[np.ndarray, np.ndarray]:
    """A random digest per file (no media behind it) and its algorithm."""
    algos = rng.choice(np.array(["sha1", "md5", "sha256"]), files, p=[0.6, 0.25, 0.15])
    lengths = {"md5": 16, "sha1": 20, "sha256": 32}
    digests = np.array([rng.bytes(lengths[a]).hex() for a in algos], dtype=object)
    return digests, algos


def _sizes(rng: np.random.Generator, total: int, parts: int, minimum: int) -> np.ndarray:
    """Heavy-tailed sizes (Pareto weights) summing to ``total``, each at least ``minimum``."""
    weights = rng.pareto(1.5, parts) + 1.0
    extra = total - minimum * parts
    sizes = minimum + np.floor(weights / weights.sum() * extra).astype(np.int64)
    sizes[np.argmax(sizes)] += total - int(sizes.sum())
    return np.asarray(sizes, dtype=np.int64)


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
