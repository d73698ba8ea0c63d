"""How a Hamming segment cuts its 256 bits into multi-index hashing chunks.

Norouzi, Punjani and Fleet ("Fast Search in Hamming Space with Multi-Index Hashing", CVPR
2012) show that the chunk width should be about log2(n) bits: narrower chunks make every
probed bucket hold many rows to verify, wider ones multiply the bucket values to probe.
With 16 chunks of 16 bits at 10M rows each probed bucket holds 150 rows; with about 22 bits,
2-5. So each segment picks its own layout from its row count (``chunk_layout``), within a
memory budget (the bucket offsets cost 4 bytes per bucket value: 2^b per chunk), and stores
it in its file; queries read it from there.

A layout is an (m, 3) int64 array of (first bit, width, offset block bits) per chunk,
non-overlapping, in bit order; the block bits (see ``compress_offsets``) are settled when
the segment is built. Chunks need not cover all 256 bits: the pigeonhole bound only needs
the chunks' distances to add up to at most the full distance, true of any disjoint chunks.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt

from safelight.constants import (
    MIH_MAX_BYTES_PER_HASH,
    MIH_MAX_CHUNK_BITS,
    MIH_MAX_RADIUS,
    MIH_OFFSET_BLOCK_BITS,
    PDQ_MATCH_THRESHOLD,
)
from safelight.index import kernels

I64 = npt.NDArray[np.int64]
HASH_BITS = 256
MASK_BITS = 32  # flip masks are enumerated over this many bits; chunks are at most this wide
# The classic split (and HMA's): the fallback when no layout fits the memory budget, which
# happens only for segments far below a million rows.
CLASSIC = (16, 16)
# Relative cost of one probed bucket value (a random read of its offsets) and of one
# candidate row (a posting read and a random 32-byte hash read), both prefetched: fitted to
# CPU time per query at 10M rows (docs/performance.md, ## Index).
_PROBE_COST = 1.3
_CANDIDATE_COST = 1.0


def colex_masks() -> tuple[I64, I64, I64]:
    """Flip masks over ``MASK_BITS`` bits, grouped by popcount 0..MIH_MAX_RADIUS.

    Within a popcount level the masks are in colexicographic order (by highest bit, then
    the next), so the masks of a chunk ``b`` bits wide at level p are exactly the first
    C(b, p) of the level. Returns ``(masks, level_starts, binom)``: level p is
    ``masks[level_starts[p]:level_starts[p + 1]]`` and ``binom[b, p]`` = C(b, p).
    """
    masks: list[int] = []
    starts = [0]
    for p in range(MIH_MAX_RADIUS + 1):
        combos = sorted(itertools.combinations(range(MASK_BITS), p), key=lambda c: c[::-1])
        masks.extend(sum(1 << bit for bit in combo) for combo in combos)
        starts.append(len(masks))
    binom = [[math.comb(b, p) for p in range(MIH_MAX_RADIUS + 1)] for b in range(MASK_BITS + 1)]
    return (
        np.asarray(masks, dtype=np.int64),
        np.asarray(starts, dtype=np.int64),
        np.asarray(binom, dtype=np.int64),
    )


def from_widths(widths: list[int] | tuple[int, ...]) -> I64:
    """The layout of consecutive chunks of the given widths, starting at bit 0."""
    if not widths or sum(widths) > HASH_BITS or not all(1 <= w <= MASK_BITS for w in widths):
        raise ValueError(f"bad chunk widths {widths}")
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    blocks = np.minimum(MIH_OFFSET_BLOCK_BITS, np.asarray(widths))
    return np.stack([starts, np.asarray(widths), blocks], axis=1).astype(np.int64)


def table_lengths(layout: I64) -> tuple[int, int]:
    """Entries of the flat bucket-offset tables: (uint16 low parts, 2^b + 1 per chunk of
    width b; uint32 block bases, 2^(b - s) + 1 per chunk with 2^s values per block)."""
    low = sum((1 << int(w)) + 1 for w in layout[:, 1])
    bases = sum((1 << int(w - s)) + 1 for w, s in layout[:, 1:3])
    return low, bases


def bytes_per_hash(widths: list[int] | tuple[int, ...], n: int) -> float:
    """Query working set per row: hash 32, id 4, a 4-byte posting per chunk but the first
    (rows are sorted by it), and the bucket offsets spread over the rows."""
    low, bases = table_lengths(from_widths(widths))
    return 32 + 4 + 4 * (len(widths) - 1) + (2 * low + 4 * bases) / max(n, 1)


def compress_offsets(
    full: npt.NDArray[np.uint32], block_bits: int
) -> tuple[int, npt.NDArray[np.uint16], npt.NDArray[np.uint32]]:
    """Split one chunk's CSR offsets (2^b + 1 values) into a uint32 base per block of
    2^s values and a uint16 remainder per value, for the largest s <= ``block_bits`` at
    which every remainder fits 16 bits (s = 0 always does: every value is a base).
    Returns ``(s, low, bases)``; offset v = bases[v >> s] + low[v]."""
    low = np.empty(full.size, dtype=np.uint16)
    block, bases = kernels.compress_offsets(full, block_bits, low)
    return int(block), low, bases


def expected_cost(widths: list[int] | tuple[int, ...], n: int, threshold: int) -> float:
    """Expected work per query on uniform hashes: bucket values probed while planning (every
    chunk to the base radius) and rows verified (the larger radius on the cheapest chunks)."""
    m = len(widths)
    base, extra = divmod(threshold, m)
    if base > MIH_MAX_RADIUS:
        return math.inf
    probes = sum(math.comb(w, p) for w in widths for p in range(base + 1))
    lower = sum(math.comb(w, p) * n / 2**w for w in widths for p in range(base))
    top = sorted(math.comb(w, base) * n / 2**w for w in widths)
    return float(_PROBE_COST * probes + _CANDIDATE_COST * (lower + sum(top[: extra + 1])))


def chunk_layout(n: int, threshold: int = PDQ_MATCH_THRESHOLD) -> I64:
    """The cheapest layout for ``n`` rows at ``threshold`` within the memory budget.

    Candidates: m chunks (8..16) of width b or b + 1 (16..MIH_MAX_CHUNK_BITS), wider first,
    at most 256 bits in all. Cost by ``expected_cost``; memory by ``bytes_per_hash`` at most
    ``MIH_MAX_BYTES_PER_HASH``, except the classic 16 x 16 bits, always a candidate (below
    about a million rows its 4 MiB of offsets exceed the budget, and so would any other's).
    """
    classic = (CLASSIC[1],) * CLASSIC[0]
    best = (expected_cost(classic, n, threshold), classic)
    for m in range(8, 17):
        for b in range(16, MIH_MAX_CHUNK_BITS + 1):
            for wide in range(m + 1):
                widths = (b + 1,) * wide + (b,) * (m - wide)
                if sum(widths) > HASH_BITS or max(widths) > MIH_MAX_CHUNK_BITS:
                    continue
                if bytes_per_hash(widths, n) > MIH_MAX_BYTES_PER_HASH:
                    continue
                cost = expected_cost(widths, n, threshold)
                if cost < best[0]:
                    best = (cost, widths)
    return from_widths(best[1])
