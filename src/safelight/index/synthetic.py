"""Benign synthetic hash sets for tests and benchmarks: random bits, nothing else.

Uniform random hashes are the easy case for multi-index hashing (every bucket holds about
n / 65,536 rows). Real hash lists are clustered: the same picture re-encoded, resized or
cropped gives hashes a few bits apart, and a few pictures have thousands of variants. So
``clustered_hashes`` draws heavy-tailed (Pareto) cluster sizes around random centres, and
``planted_queries`` makes queries at exact distances from stored hashes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
_BLOCK = 1 << 16  # rows generated at a time, to bound temporary memory at 10M+ rows


def uniform_hashes(rng: np.random.Generator, n: int, width: int = 32) -> U8:
    return rng.integers(0, 256, size=(n, width), dtype=np.uint8)


def flip_bits(rng: np.random.Generator, hashes: U8, counts: npt.ArrayLike) -> U8:
    """A copy of ``hashes`` with exactly ``counts[i]`` distinct random bits flipped in row i."""
    out = np.array(hashes, dtype=np.uint8, copy=True)
    want = np.broadcast_to(np.asarray(counts, dtype=np.int64), (len(out),))
    bits = out.shape[1] * 8
    for start in range(0, len(out), _BLOCK):
        stop = min(len(out), start + _BLOCK)
        ranks = np.argsort(rng.random((stop - start, bits)), axis=1)
        chosen = ranks < want[start:stop, None]  # a random subset of exactly counts[i] bits
        out[start:stop] ^= np.packbits(chosen, axis=1)
    return out


def clustered_hashes(
    rng: np.random.Generator,
    n: int,
    *,
    alpha: float = 1.5,
    max_cluster: int = 10_000,
    max_flip_prob: float = 0.03,
) -> U8:
    """``n`` hashes in clusters of near-duplicates with Pareto(alpha) sizes (capped).

    Each cluster has a random centre; each member flips each centre bit with a probability
    drawn per cluster up to ``max_flip_prob`` (0.03 of 256 bits: about 8 bits on average).
    """
    sizes: list[int] = []
    total = 0
    while total < n:
        size = min(int(rng.pareto(alpha)) + 1, max_cluster, n - total)
        sizes.append(size)
        total += size
    size_array = np.asarray(sizes, dtype=np.int64)
    centres = uniform_hashes(rng, len(sizes))
    probs = rng.uniform(0.0, max_flip_prob, size=len(sizes))
    owner = np.repeat(np.arange(len(sizes)), size_array)
    out = np.empty((n, 32), dtype=np.uint8)
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        who = owner[start:stop]
        flips = rng.random((stop - start, 256)) < probs[who, None]
        out[start:stop] = centres[who] ^ np.packbits(flips, axis=1)
    return out[rng.permutation(n)]


def planted_queries(
    rng: np.random.Generator, hashes: U8, count: int, max_distance: int = 35
) -> tuple[U8, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Queries made from random stored rows with 0..max_distance bits flipped.

    Returns ``(queries, rows, distances)``: query i is stored row ``rows[i]`` at exactly
    ``distances[i]`` bits. With the default, distances 0-31 are matches at threshold 31 and
    32-35 near-misses.
    """
    rows = rng.integers(0, len(hashes), size=count)
    distances = rng.integers(0, max_distance + 1, size=count)
    return flip_bits(rng, hashes[rows], distances), rows, distances
