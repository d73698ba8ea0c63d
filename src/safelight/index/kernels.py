"""Numba kernels: multi-index hashing (MIH) for Hamming search, brute force, digest lookup.

Coverage cannot see inside these bodies; they are held to ``index/oracle.py`` by the property
tests in ``tests/test_index_kernels.py`` and ``tests/test_index_hamming.py``.

Layout of one Hamming segment (see docs/index-format.md):
    words     (n, 4) uint64  the 32-byte hashes, rows sorted by chunk 0 (stable)
    offsets   (16, 65537) uint32  CSR bucket starts per chunk over the 65,536 chunk values
    postings  (15, n) uint32  row numbers sorted by chunk value, for chunks 1..15; chunk 0
                              needs none because rows are sorted by it: its bucket v is the
                              row range offsets[0, v] .. offsets[0, v + 1]
Chunk c of a hash is bytes 2c and 2c+1 read as a little-endian uint16, i.e. bits 16*(c%4) ..
16*(c%4)+15 of native word c // 4. Queries and data are cut the same way, which is all that
matters for correctness.

Every kernel is ``nogil`` so Python threads run them on all cores at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from safelight.constants import MIH_CHUNK_BITS, MIH_CHUNKS, MIH_MAX_RADIUS

BUCKETS = 1 << MIH_CHUNK_BITS
_CHUNK_MASK = np.uint64(BUCKETS - 1)
# Rows compared per tile in brute force: 512 x 32 bytes stays in L1 while every query passes.
_TILE = 512


def _popcount_intrinsic(typingctx: Any, value: Any) -> Any:  # pragma: no cover - codegen
    """LLVM ctpop: one POPCNT instruction on x86-64."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return sig, codegen


# Typed as Any: mypy sees numba's _Intrinsic.__call__, which wants the typing context.
_popcount: Any = intrinsic(_popcount_intrinsic)


def flip_masks() -> tuple[np.ndarray, np.ndarray]:
    """All 16-bit masks with at most MIH_MAX_RADIUS bits set, ordered by popcount.

    Returns ``(masks, ends)``: masks ``[0:ends[r]]`` are those with popcount <= r.
    """
    values = np.arange(BUCKETS, dtype=np.int64)
    popcounts = np.array([bin(v).count("1") for v in range(BUCKETS)])
    keep = popcounts <= MIH_MAX_RADIUS
    order = np.argsort(popcounts[keep], kind="stable")
    masks = values[keep][order]
    ends = np.array(
        [np.count_nonzero(popcounts <= r) for r in range(MIH_MAX_RADIUS + 1)], dtype=np.int64
    )
    return np.ascontiguousarray(masks), ends


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _chunk(words: Any, row: int, c: int) -> int:
    shift = np.uint64((c & 3) * MIH_CHUNK_BITS)
    return int((words[row, c >> 2] >> shift) & _CHUNK_MASK)


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _distance(words: Any, row: int, queries: Any, qi: int) -> int:
    return int(
        _popcount(words[row, 0] ^ queries[qi, 0])
        + _popcount(words[row, 1] ^ queries[qi, 1])
        + _popcount(words[row, 2] ^ queries[qi, 2])
        + _popcount(words[row, 3] ^ queries[qi, 3])
    )


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _dist4(words: Any, row: Any, q0: Any, q1: Any, q2: Any, q3: Any) -> Any:
    return (
        _popcount(words[row, 0] ^ q0)
        + _popcount(words[row, 1] ^ q1)
        + _popcount(words[row, 2] ^ q2)
        + _popcount(words[row, 3] ^ q3)
    )


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _reserve(array: Any, needed: int) -> Any:
    """``array`` itself if it holds ``needed`` items, else a copy at least twice as large.

    Called before a hot loop, never inside it: reassigning an array inside the loop makes
    numba add reference counting to every iteration (measured 5-10x slower).
    """
    if needed <= array.shape[0]:
        return array
    capacity = max(needed, 2 * array.shape[0])
    bigger = np.empty(capacity, array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def chunk_columns(words: Any, first: int, out: Any) -> None:
    """``out[j, r]`` = chunk ``first + j`` of row r, in one pass over the rows.

    Bucket-sorting from these 2-byte columns instead of the 32-byte rows cuts the memory
    read per chunk 16-fold (the build reads each chunk twice: count, then scatter).
    """
    for row in range(words.shape[0]):
        for j in range(out.shape[0]):
            out[j, row] = _chunk(words, row, first + j)


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def bucket_order(values: Any, offsets_row: Any, order: Any) -> None:
    """Stable counting sort of rows by their 16-bit ``values``.

    Fills ``offsets_row`` (65537,) with bucket starts and ``order`` (n,) with row numbers in
    bucket order (rows ascending within a bucket).
    """
    n = values.shape[0]
    counts = np.zeros(BUCKETS + 1, np.int64)
    for row in range(n):
        counts[np.int64(values[row]) + 1] += 1
    for v in range(BUCKETS):
        counts[v + 1] += counts[v]
    for v in range(BUCKETS + 1):
        offsets_row[v] = counts[v]
    for row in range(n):
        value = np.int64(values[row])
        order[counts[value]] = row
        counts[value] += 1


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def gather_rows(source: Any, order: Any, out: Any) -> None:
    """``out[r] = source[order[r]]`` for 2-D arrays (numpy's 2-D take is 5-10x slower)."""
    width = source.shape[1]
    for r in range(order.shape[0]):
        row = order[r]
        for k in range(width):
            out[r, k] = source[row, k]


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _bucket_levels(offsets: Any, c: int, value: int, masks: Any, ends: Any, top: int) -> Any:
    """Rows in the buckets within each flip count 0..top of ``value`` in chunk ``c``."""
    levels = np.zeros(MIH_MAX_RADIUS + 1, np.int64)
    for level in range(top + 1):
        first = 0 if level == 0 else ends[level - 1]
        total = 0
        for mi in range(first, ends[level]):
            v = value ^ masks[mi]
            total += int(offsets[c, v + 1]) - int(offsets[c, v])
        levels[level] = total
    return levels


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _plan(offsets: Any, qchunks: Any, threshold: int, masks: Any, ends: Any, radius: Any) -> int:
    """Choose a probe radius per chunk for one query; return the candidates it will touch.

    Refined pigeonhole (Norouzi et al. 2012): with t = 16r + a, a hash within t bits has one
    of any a+1 chosen chunks within r bits, or one of the other chunks within r-1 bits. We
    give the larger radius to the a+1 chunks where it adds the fewest candidates.
    """
    base = threshold // MIH_CHUNKS
    extra = threshold % MIH_CHUNKS
    lo = np.zeros(MIH_CHUNKS, np.int64)
    inc = np.zeros(MIH_CHUNKS, np.int64)
    for c in range(MIH_CHUNKS):
        levels = _bucket_levels(offsets, c, qchunks[c], masks, ends, base)
        for level in range(base):
            lo[c] += levels[level]
        inc[c] = levels[base]
    chosen = np.argsort(inc)
    total = 0
    for k in range(MIH_CHUNKS):
        c = chosen[k]
        total += lo[c]
        if k <= extra:
            radius[c] = base
            total += inc[c]
        else:
            radius[c] = base - 1
    return total


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _probe_one(
    words: Any,
    offsets: Any,
    postings: Any,
    queries: Any,
    qi: int,
    limit: Any,
    masks: Any,
    ends: Any,
    qchunks: Any,
    radius: Any,
    rows: Any,
    dists: Any,
) -> int:
    """Probe the planned buckets for query ``qi``; write its matches, each row once, to the
    front of ``rows``/``dists`` (both hold at least the planned candidate count); return
    how many.

    Rows are verified straight from the posting lists, one bucket at a time: a first pass
    only counts matches, and only a bucket that has some is read again (from cache) to
    record them. Both choices were measured (bench/index.py, "design_variants"): a store
    inside the verifying loop, even one almost never executed, made the compiled loop 1.45x
    slower; and deduplicating candidates in a bitmap first, to verify each once in row
    order, cost more than verifying the few rows reached through two chunks twice.
    """
    q0 = queries[qi, 0]
    q1 = queries[qi, 1]
    q2 = queries[qi, 2]
    q3 = queries[qi, 3]
    hits = 0
    for c in range(MIH_CHUNKS):
        r = radius[c]
        if r < 0:
            continue
        for mi in range(ends[r]):
            v = qchunks[c] ^ masks[mi]
            start = np.int64(offsets[c, v])
            stop = np.int64(offsets[c, v + 1])
            matched = np.int64(0)
            if c == 0:  # rows are sorted by chunk 0: its bucket is a row range
                for k in range(start, stop):
                    matched += np.int64(_dist4(words, k, q0, q1, q2, q3) <= limit)
            else:
                for k in range(start, stop):
                    at = postings[c - 1, k]
                    matched += np.int64(_dist4(words, at, q0, q1, q2, q3) <= limit)
            if matched == 0:
                continue
            for k in range(start, stop):
                found = np.int64(k) if c == 0 else np.int64(postings[c - 1, k])
                d = _dist4(words, found, q0, q1, q2, q3)
                if d <= limit:
                    rows[hits] = found
                    dists[hits] = d
                    hits += 1
    return _dedup_rows(rows, dists, hits)


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _dedup_rows(rows: Any, dists: Any, count: int) -> int:
    """Keep each row of ``rows[:count]`` once (a match is usually found through several
    chunks); return the new count."""
    if count < 2:
        return count
    order = np.argsort(rows[:count])
    found_rows = rows[:count][order]
    found_dists = dists[:count][order]
    end = 0
    for j in range(count):
        if j == 0 or found_rows[j] != found_rows[j - 1]:
            rows[end] = found_rows[j]
            dists[end] = found_dists[j]
            end += 1
    return end


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def search_segment(
    words: Any,
    offsets: Any,
    postings: Any,
    queries: Any,
    threshold: int,
    masks: Any,
    ends: Any,
    cost_ratio: int,
    mode: int,
) -> Any:
    """All (query, row, distance) with distance <= threshold, in no particular order.

    ``mode`` 0 picks MIH or a scan per query by estimated cost, 1 always scans, 2 always
    probes (when the segment has MIH tables, ``offsets.shape[0] == 16``, and the radius
    is enumerable). Returns ``(query_index, row, distance)`` arrays.
    """
    n = words.shape[0]
    nq = queries.shape[0]
    out_q = np.empty(1024, np.int64)
    out_r = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.int32)
    count = 0
    scan = np.empty(nq, np.int64)
    nscan = 0
    limit = np.uint64(threshold)
    probe_ok = offsets.shape[0] == MIH_CHUNKS and threshold // MIH_CHUNKS <= MIH_MAX_RADIUS
    if n == 0:
        return out_q[:0], out_r[:0], out_d[:0]
    if not probe_ok or mode == 1:
        for qi in range(nq):
            scan[qi] = qi
        nscan = nq
    else:
        qchunks = np.empty(MIH_CHUNKS, np.int64)
        radius = np.empty(MIH_CHUNKS, np.int64)
        rows = np.empty(1024, np.int64)
        dists = np.empty(1024, np.int32)
        for qi in range(nq):
            for c in range(MIH_CHUNKS):
                qchunks[c] = _chunk(queries, qi, c)
            total = _plan(offsets, qchunks, threshold, masks, ends, radius)
            if mode == 0 and total * cost_ratio > n:
                scan[nscan] = qi
                nscan += 1
                continue
            rows = _reserve(rows, total)
            dists = _reserve(dists, total)
            hits = _probe_one(words, offsets, postings, queries, qi, limit, masks, ends,
                              qchunks, radius, rows, dists)  # fmt: skip
            out_q = _reserve(out_q, count + hits)
            out_r = _reserve(out_r, count + hits)
            out_d = _reserve(out_d, count + hits)
            for k in range(hits):
                out_q[count] = qi
                out_r[count] = rows[k]
                out_d[count] = dists[k]
                count += 1
    for start in range(0, n, _TILE):
        stop = min(n, start + _TILE)
        for si in range(nscan):
            qi = scan[si]
            out_q = _reserve(out_q, count + stop - start)
            out_r = _reserve(out_r, count + stop - start)
            out_d = _reserve(out_d, count + stop - start)
            q0 = queries[qi, 0]
            q1 = queries[qi, 1]
            q2 = queries[qi, 2]
            q3 = queries[qi, 3]
            for row in range(start, stop):
                d = (
                    _popcount(words[row, 0] ^ q0)
                    + _popcount(words[row, 1] ^ q1)
                    + _popcount(words[row, 2] ^ q2)
                    + _popcount(words[row, 3] ^ q3)
                )
                if d <= limit:
                    out_q[count] = qi
                    out_r[count] = row
                    out_d[count] = d
                    count += 1
    return out_q[:count], out_r[:count], out_d[:count]


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _key_compare(keys: Any, row: Any, queries: Any, qi: int) -> int:
    for b in range(keys.shape[1]):
        x = keys[row, b]
        y = queries[qi, b]
        if x != y:
            return -1 if x < y else 1
    return 0


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def digest_ranges(keys: Any, prefix: Any, queries: Any, starts: Any, stops: Any) -> None:
    """For each query key, the row range [start, stop) of equal keys in sorted ``keys``.

    ``prefix`` (65537,) gives the row range of each value of the first two key bytes, so the
    binary search starts inside a bucket of about n / 65536 rows.
    """
    for qi in range(queries.shape[0]):
        p = (np.int64(queries[qi, 0]) << 8) | np.int64(queries[qi, 1])
        lo = np.int64(prefix[p])
        hi = np.int64(prefix[p + 1])
        bucket_end = hi
        while lo < hi:
            mid = (lo + hi) >> 1
            if _key_compare(keys, mid, queries, qi) < 0:
                lo = mid + 1
            else:
                hi = mid
        stop = lo
        while stop < bucket_end and _key_compare(keys, stop, queries, qi) == 0:
            stop += 1
        starts[qi] = lo
        stops[qi] = stop
