"""Numba kernels: multi-index hashing (MIH) for Hamming search, brute force, digest lookup.

Coverage cannot see inside these bodies; they are held to ``index/oracle.py`` by the property
tests in ``tests/test_index_kernels.py`` and ``tests/test_index_hamming.py``.

Layout of one Hamming segment (see docs/index-format.md and ``index/layout.py``):
    words     (n, 4) uint64  the 32-byte hashes, rows sorted by chunk 0 (stable)
    chunks    (m, 3) int64   (first bit, width b, block bits s) of each chunk
    offsets   uint16         per chunk a run of 2^b + 1 entries (runs back to back)
    bases     uint32         per chunk a run of 2^(b - s) + 1 entries: the CSR start of
                             bucket v of a chunk is bases[v >> s] + offsets[v] (in its runs)
    postings  (m - 1, n) uint32  row numbers sorted by chunk value, for chunks 1..m-1; chunk 0
                             needs none because rows are sorted by it: its bucket v is the
                             row range from the start of v to the start of v + 1
Bit j of a hash is bit j % 64 of native (little-endian) uint64 word j // 64, i.e. bit j % 8 of
byte j // 8. Queries and data are cut the same way, which is all that matters for correctness.

Every kernel is ``nogil`` so Python threads run them on all cores at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from safelight.constants import MIH_MAX_RADIUS

BUCKETS = 1 << 16  # digest segments: buckets over the first two key bytes
# Rows compared per tile in brute force: 512 x 32 bytes stays in L1 while every query passes.
_TILE = 512


def _popcount_intrinsic(typingctx: Any, value: Any) -> Any:  # pragma: no cover - codegen
    """LLVM ctpop: one POPCNT instruction on x86-64."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return sig, codegen


def _prefetch_intrinsic(typingctx: Any, array: Any, i: Any, j: Any) -> Any:  # pragma: no cover
    """``llvm.prefetch`` of ``array[i, j]`` (a read, into all cache levels): a hint, no fault.

    MIH is bound by random reads (bucket offsets, then postings, then hashes); issuing them
    all ahead of use lets dozens be in flight at once. Measured at 10M rows: 2.5x less CPU
    per query than the same loops without prefetches (docs/performance.md, ## Index).
    """
    sig = types.void(array, i, j)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        arrayty = signature.args[0]
        ary = context.make_array(arrayty)(context, builder, args[0])
        index = [context.cast(builder, args[1], signature.args[1], types.intp)]
        if arrayty.ndim == 2:
            index.append(context.cast(builder, args[2], signature.args[2], types.intp))
        ptr = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, arrayty, ary, index, wraparound=False
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, fnty, "llvm.prefetch.p0"
        )
        flags = [ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        builder.call(fn, [builder.bitcast(ptr, i8p), *flags])
        return context.get_dummy_value()

    return sig, codegen


# Typed as Any: mypy sees numba's _Intrinsic.__call__, which wants the typing context.
_popcount: Any = intrinsic(_popcount_intrinsic)
_prefetch: Any = intrinsic(_prefetch_intrinsic)


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def chunk_value(words: Any, row: int, start: int, width: int) -> Any:
    """Bits ``start .. start + width - 1`` of row ``row`` (width 1..32), as an integer."""
    w = start >> 6
    shift = start & 63
    value = words[row, w] >> np.uint64(shift)
    if shift + width > 64:
        value |= words[row, w + 1] << np.uint64(64 - shift)
    return np.int64(value & np.uint64((1 << width) - 1))


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
def chunk_columns(words: Any, chunks: Any, first: int, out: Any) -> None:
    """``out[j, r]`` = chunk ``first + j`` of row r.

    Bucket-sorting from these 4-byte columns instead of the 32-byte rows cuts the memory
    read per chunk 8-fold (the build reads each chunk twice: count, then scatter). One
    branch-free loop per chunk: 3x faster than ``chunk_value`` per row and chunk.
    """
    for j in range(out.shape[0]):
        start = chunks[first + j, 0]
        w = start >> 6
        shift = np.uint64(start & 63)
        mask = np.uint64((1 << chunks[first + j, 1]) - 1)
        if (start & 63) + chunks[first + j, 1] > 64:
            up = np.uint64(64 - (start & 63))
            for row in range(words.shape[0]):
                out[j, row] = ((words[row, w] >> shift) | (words[row, w + 1] << up)) & mask
        else:
            for row in range(words.shape[0]):
                out[j, row] = (words[row, w] >> shift) & mask


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def bucket_order(values: Any, offsets_run: Any, order: Any) -> None:
    """Stable counting sort of rows by their chunk ``values`` (< len(offsets_run) - 1).

    Fills ``offsets_run`` (buckets + 1,) uint32 with bucket starts and ``order`` (n,) with
    row numbers in bucket order (rows ascending within a bucket). Over 2^18 buckets the
    counters no longer fit in cache, so rows are first partitioned by the top 8 bits of
    their value, then each partition is counting-sorted by the rest (2x faster at 2^23).
    """
    buckets = offsets_run.shape[0] - 1
    if buckets <= 1 << 18:
        _counting_order(values, offsets_run, order)
        return
    low_bits = 0
    while (1 << (low_bits + 8)) < buckets:
        low_bits += 1
    n = values.shape[0]
    parts = buckets >> low_bits
    starts = np.zeros(parts + 1, np.int64)
    for row in range(n):
        starts[(np.int64(values[row]) >> low_bits) + 1] += 1
    for p in range(parts):
        starts[p + 1] += starts[p]
    cursor = starts[:parts].copy()
    part_rows = np.empty(n, np.uint32)
    part_low = np.empty(n, np.uint32)
    low_mask = (1 << low_bits) - 1
    for row in range(n):
        value = np.int64(values[row])
        k = cursor[value >> low_bits]
        part_rows[k] = row
        part_low[k] = value & low_mask
        cursor[value >> low_bits] = k + 1
    counts = np.empty(1 << low_bits, np.int64)
    for p in range(parts):
        counts[:] = 0
        for k in range(starts[p], starts[p + 1]):
            counts[part_low[k]] += 1
        total = starts[p]
        base = p << low_bits
        for low in range(1 << low_bits):
            offsets_run[base + low] = total
            count = counts[low]
            counts[low] = total
            total += count
        for k in range(starts[p], starts[p + 1]):
            low = part_low[k]
            order[counts[low]] = part_rows[k]
            counts[low] += 1
    offsets_run[buckets] = n


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _counting_order(values: Any, offsets_run: Any, order: Any) -> None:
    """``bucket_order`` in one counting sort; the run itself is the counter and then the
    cursor (no separate 2^b-entry array)."""
    n = values.shape[0]
    buckets = offsets_run.shape[0] - 1
    offsets_run[:] = 0
    for row in range(n):
        offsets_run[np.int64(values[row])] += 1
    total = np.uint32(0)
    for v in range(buckets + 1):
        count = offsets_run[v]
        offsets_run[v] = total
        total += count
    for row in range(n):
        value = np.int64(values[row])
        order[offsets_run[value]] = row
        offsets_run[value] += 1
    # each entry now holds its bucket's end, i.e. the next bucket's start: shift by one
    for v in range(buckets, 0, -1):
        offsets_run[v] = offsets_run[v - 1]
    offsets_run[0] = 0


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def compress_offsets(full: Any, block_bits: int, low: Any) -> Any:
    """Write ``low[v] = full[v] - bases[v >> s]`` (uint16) for the largest s <= block_bits at
    which that fits 16 bits; return ``(s, bases)`` with bases[k] = full[k << s] (uint32)."""
    n = full.shape[0]
    s = block_bits
    while s > 0:
        size = 1 << s
        fits = True
        for first in range(0, n, size):
            if full[min(first + size, n) - 1] - full[first] > 0xFFFF:
                fits = False
                break
        if fits:
            break
        s -= 1
    bases = np.empty(((n - 1) >> s) + 1, np.uint32)
    for k in range(bases.shape[0]):
        bases[k] = full[k << s]
    for v in range(n):
        low[v] = full[v] - bases[v >> s]
    return s, bases


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def gather_rows(source: Any, order: Any, out: Any) -> None:
    """``out[r] = source[order[r]]`` for 2-D arrays (numpy's 2-D take is 5-10x slower)."""
    width = source.shape[1]
    for r in range(order.shape[0]):
        row = order[r]
        for k in range(width):
            out[r, k] = source[row, k]


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def table_runs(chunks: Any) -> Any:
    """Where each chunk's runs start in the flat ``offsets`` and ``bases`` tables."""
    m = chunks.shape[0]
    low = np.zeros(m + 1, np.int64)
    bases = np.zeros(m + 1, np.int64)
    for c in range(m):
        low[c + 1] = low[c] + (np.int64(1) << chunks[c, 1]) + 1
        bases[c + 1] = bases[c] + (np.int64(1) << (chunks[c, 1] - chunks[c, 2])) + 1
    return low, bases


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _choose_radii(cost: Any, threshold: int, top: int, radius: Any) -> int:
    """Radii r_c in -1..top (-1: chunk not probed) with sum(r_c + 1) >= threshold + 1 and the
    least total ``cost[c, r_c]`` (rows within r_c bits of the query in chunk c); returns it.

    Why that is exact: if every chunk c of a stored hash differed from the query's in at
    least r_c + 1 bits, the chunks being disjoint, the hash would differ in at least
    sum(r_c + 1) > threshold bits. So every hash within the threshold has some chunk within
    its radius. A small knapsack over (chunk, radius budget used), solved exactly.
    """
    m = cost.shape[0]
    need = threshold + 1
    inf = np.int64(1) << 62
    best = np.full((m + 1, need + 1), inf, np.int64)
    pick = np.zeros((m + 1, need + 1), np.int64)
    came = np.zeros((m + 1, need + 1), np.int64)
    best[0, 0] = 0
    for c in range(m):
        for used in range(need + 1):
            if best[c, used] == inf:
                continue
            for r in range(-1, top + 1):
                after = min(need, used + r + 1)
                value = best[c, used] + (0 if r < 0 else cost[c, r])
                if value < best[c + 1, after]:
                    best[c + 1, after] = value
                    pick[c + 1, after] = r
                    came[c + 1, after] = used
    used = need
    for c in range(m - 1, -1, -1):
        radius[c] = pick[c + 1, used]
        used = came[c + 1, used]
    return int(best[m, need])


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _plan(
    queries: Any,
    qi: int,
    chunks: Any,
    low_runs: Any,
    base_runs: Any,
    offsets: Any,
    bases: Any,
    threshold: int,
    masks: Any,
    level_starts: Any,
    binom: Any,
    top: int,
    starts: Any,
    stops: Any,
    range_at: Any,
    cost: Any,
    probe: Any,
    radius: Any,
    qvalues: Any,
) -> int:
    """Read the bucket of every chunk value within ``top`` bits of the query's (prefetched,
    then read); keep the non-empty ones as row ranges ``starts/stops``, chunk c's level p
    (exactly p bits flipped) at ``range_at[c, p] .. range_at[c, p + 1]``; choose the radii
    (``_choose_radii``) from the exact row counts. Returns the rows the plan will touch.

    The counts matter on clustered data, where a few buckets are huge: the knapsack gives
    the small radius (or none) to the chunks whose buckets are crowded.
    """
    m = chunks.shape[0]
    found: Any = 0
    for c in range(m):
        width = chunks[c, 1]
        value = chunk_value(queries, qi, chunks[c, 0], width)
        qvalues[c] = value
        low_run = low_runs[c]
        base_run = base_runs[c]
        block = chunks[c, 2]
        count = 0
        for p in range(top + 1):
            for k in range(binom[width, p]):
                v = value ^ masks[level_starts[p] + k]
                probe[count] = v
                _prefetch(offsets, low_run + v, 0)
                _prefetch(bases, base_run + (v >> block), 0)
                count += 1
        count = 0
        rows = np.int64(0)
        for p in range(top + 1):
            range_at[c, p] = found
            for _ in range(binom[width, p]):
                v = probe[count]
                count += 1
                start = np.int64(bases[base_run + (v >> block)]) + np.int64(offsets[low_run + v])
                stop = np.int64(bases[base_run + ((v + 1) >> block)]) + np.int64(
                    offsets[low_run + v + 1]
                )
                starts[found] = start
                stops[found] = stop
                found += np.int64(stop > start)  # branch-free: only non-empty buckets
                rows += stop - start
            cost[c, p] = rows
        range_at[c, top + 1] = found
    return _choose_radii(cost, threshold, top, radius)


_ROW_BITS = 40  # a candidate is row | chunk << _ROW_BITS (rows < 2^32)
_ROW_MASK = (1 << _ROW_BITS) - 1


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _probe_one(
    words: Any,
    chunks: Any,
    postings: Any,
    queries: Any,
    qi: int,
    limit: Any,
    starts: Any,
    stops: Any,
    range_at: Any,
    radius: Any,
    qvalues: Any,
    candidates: Any,
    rows: Any,
    dists: Any,
) -> int:
    """Verify the planned buckets for query ``qi``; write its matches, each row once, to the
    front of ``rows``/``dists``; return how many. All three buffers hold the planned count.

    Three passes, each issuing its random reads ahead of use: prefetch the posting lists'
    first lines; gather candidate rows from them, prefetching each row's hash; verify the
    candidates in gather order, recording every result without a branch (a store inside a
    data-dependent branch made the compiled loop 1.45x slower). A row reached through
    several chunks is verified again (its hash is in cache by then); ``_first_finds``
    keeps each match once.
    """
    m = radius.shape[0]
    for c in range(1, m):
        if radius[c] >= 0:
            for k in range(range_at[c, 0], range_at[c, radius[c] + 1]):
                _prefetch(postings, c - 1, starts[k])
    count = 0
    for c in range(m):
        if radius[c] < 0:
            continue
        tag = np.int64(c) << _ROW_BITS
        for k in range(range_at[c, 0], range_at[c, radius[c] + 1]):
            start = np.int64(starts[k])
            stop = np.int64(stops[k])
            if c == 0:  # rows are sorted by chunk 0: its bucket is a row range
                for row in range(start, stop):
                    candidates[count] = row
                    count += 1
                _prefetch(words, start, 0)
                _prefetch(words, stop - 1, 0)
            else:
                for j in range(start, stop):
                    posted = np.int64(postings[c - 1, j])
                    candidates[count] = posted | tag
                    count += 1
                    _prefetch(words, posted, 0)
    q0 = queries[qi, 0]
    q1 = queries[qi, 1]
    q2 = queries[qi, 2]
    q3 = queries[qi, 3]
    hits: Any = 0
    for j in range(count):
        found = candidates[j]
        d = _dist4(words, found & _ROW_MASK, q0, q1, q2, q3)
        rows[hits] = found
        dists[hits] = d
        hits += np.int64(d <= limit)
    return _first_finds(words, chunks, radius, qvalues, rows, dists, hits)


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def _first_finds(
    words: Any, chunks: Any, radius: Any, qvalues: Any, rows: Any, dists: Any, count: int
) -> int:
    """Keep each match of ``rows[:count]`` (tagged with the chunk it was found through) once,
    untagged; return the new count.

    A match found through chunk c is also found through every earlier chunk c' whose value
    is within radius[c'] of the query's (that bucket was probed), so it is kept only from
    the first such chunk: exact, no sort, and a duplicate is usually rejected by its first
    check, on a hash already in cache.
    """
    end = 0
    for k in range(count):
        found = rows[k]
        row = found & _ROW_MASK
        keep = True
        for c in range(found >> _ROW_BITS):
            if radius[c] >= 0:
                value = chunk_value(words, row, chunks[c, 0], chunks[c, 1])
                if _popcount(np.uint64(value ^ qvalues[c])) <= radius[c]:
                    keep = False
                    break
        if keep:
            rows[end] = row
            dists[end] = dists[k]
            end += 1
    return end


@njit(cache=True, nogil=True)  # pragma: no cover - compiled; tested against oracle.py
def search_segment(
    words: Any,
    chunks: Any,
    offsets: Any,
    bases: Any,
    postings: Any,
    queries: Any,
    threshold: int,
    masks: Any,
    level_starts: Any,
    binom: Any,
    cost_ratio: int,
    mode: int,
) -> Any:
    """All (query, row, distance) with distance <= threshold, in no particular order.

    ``mode`` 0 picks MIH or a scan per query by estimated cost, 1 always scans, 2 always
    probes (when the segment has MIH tables, ``chunks.shape[0] > 0``, and the radius
    threshold // m is enumerable). Returns ``(query_index, row, distance)`` arrays.
    """
    n = words.shape[0]
    nq = queries.shape[0]
    m = chunks.shape[0]
    out_q = np.empty(1024, np.int64)
    out_r = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.int32)
    count = 0
    scan = np.empty(nq, np.int64)
    nscan = 0
    limit = np.uint64(threshold)
    top = threshold // m if m > 0 else MIH_MAX_RADIUS + 1
    if n == 0:
        return out_q[:0], out_r[:0], out_d[:0]
    if top > MIH_MAX_RADIUS or mode == 1:
        for qi in range(nq):
            scan[qi] = qi
        nscan = nq
    else:
        low_runs, base_runs = table_runs(chunks)
        capacity = 1
        for c in range(m):
            for p in range(top + 1):
                capacity += binom[chunks[c, 1], p]
        starts = np.empty(capacity, np.uint32)
        stops = np.empty(capacity, np.uint32)
        probe = np.empty(capacity, np.int64)
        range_at = np.empty((m, top + 2), np.int64)
        cost = np.empty((m, top + 1), np.int64)
        radius = np.empty(m, np.int64)
        qvalues = np.empty(m, np.int64)
        candidates = np.empty(1024, np.int64)
        rows = np.empty(1024, np.int64)
        dists = np.empty(1024, np.int32)
        for qi in range(nq):
            total = _plan(queries, qi, chunks, low_runs, base_runs, offsets, bases, threshold,
                          masks, level_starts,
                          binom, top, starts, stops, range_at, cost, probe, radius,
                          qvalues)  # fmt: skip
            if mode == 0 and total * cost_ratio > n:
                scan[nscan] = qi
                nscan += 1
                continue
            candidates = _reserve(candidates, total)
            rows = _reserve(rows, total)
            dists = _reserve(dists, total)
            hits = _probe_one(words, chunks, postings, queries, qi, limit, starts, stops,
                              range_at, radius, qvalues, candidates, rows, dists)  # fmt: skip
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
