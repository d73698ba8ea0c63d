"""Benchmark: Safelight's HammingIndex against HMA's faiss index and faiss brute force.

Side by side in one run, on the same hashes and queries:
  * safelight   HammingIndex (multi-index hashing, memory-mapped files)
  * faiss_mih   faiss IndexBinaryMultiHash(256, 16, 16) with nflip = threshold // 16 = 1,
                exactly how HMA / python-threatexchange PDQMultiHashIndex queries it
  * faiss_flat  faiss IndexBinaryFlat (exact brute force)
on uniform and clustered (heavy-tailed near-duplicate clusters) sets, with 1,000 queries made
from stored hashes at 0-31 bits (matches) and 32-35 bits (near-misses). The faiss indexes are
slow at 10M, so they answer a 100-query subset and are reported per query.

Ground truth is faiss IndexBinaryFlat's exact range search over all queries (an independent
implementation), itself checked against the numpy oracle on a sample of queries.

Usage:  python bench/index.py [--sizes 1000000,10000000] [--quick] [--datasets uniform,clustered]
Also: DigestIndex (SHA-256) against a Python dict of hex digests (HMA's MD5/SHA-256 index).
Writes bench/results/index.json and prints ratios. The machine is shared: expect +-30% noise.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from safelight.constants import PDQ_MATCH_THRESHOLD
from safelight.index import DigestIndex, HammingIndex, array_to_hex, kernels, oracle, synthetic
from safelight.index.kernels import _popcount

THRESHOLD = PDQ_MATCH_THRESHOLD
RESULTS = Path(__file__).resolve().parent / "results" / "index.json"
HMA_BASELINE_QPS_10M = 23.0  # performance-notes.md: HMA's index, one core, 10M hashes


def rss_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, value = float("inf"), None
    for _ in range(repeats):
        seconds, value = timed(fn)
        best = min(best, seconds)
    return best, value


def pairs_from_faiss(lims: np.ndarray, labels: np.ndarray) -> set[tuple[int, int]]:
    return {(q, int(labels[j])) for q in range(len(lims) - 1) for j in range(lims[q], lims[q + 1])}


def pairs_from_result(result: Any) -> set[tuple[int, int]]:
    return {(q, int(i)) for q in range(len(result)) for i, _ in result[q]}


def recall(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, Any]:
    hit = len(found & truth)
    return {
        "recall": hit / len(truth) if truth else 1.0,
        "false_positives": len(found - truth),
        "true_pairs": len(truth),
    }


def make_data(n: int, dataset: str, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if dataset == "uniform":
        hashes = synthetic.uniform_hashes(rng, n)
    else:
        hashes = synthetic.clustered_hashes(rng, n)
    planted, _, _ = synthetic.planted_queries(rng, hashes, queries, max_distance=35)
    return hashes, planted


def bench_safelight(
    hashes: np.ndarray, queries: np.ndarray, truth: set[tuple[int, int]], workdir: Path
) -> dict[str, Any]:
    n = len(hashes)
    ids = np.arange(n, dtype=np.int64)
    path = workdir / "safelight"
    build_s, index = timed(lambda: HammingIndex.build(path, ids, hashes))
    del index
    gc.collect()
    segment_file = next(path.glob("seg-*.seg"))
    file_bytes = segment_file.stat().st_size
    rss0 = rss_bytes()
    open_s, index = best_of(5, lambda: HammingIndex.open(path))
    segment = index._view().segments[0]
    hot = segment.words.nbytes + segment._ids.nbytes + segment.offsets.nbytes
    hot += segment.postings.nbytes
    index.search(queries[:10], THRESHOLD)  # page in, JIT already cached
    one_s, result = best_of(3, lambda: index.search(queries, THRESHOLD, workers=1))
    all_s, result_all = best_of(3, lambda: index.search_batch(queries, THRESHOLD))
    rss_delta = rss_bytes() - rss0
    found = pairs_from_result(result)
    assert found == pairs_from_result(result_all)
    probe_s, _ = timed(lambda: index.search(queries, THRESHOLD, workers=1, mode="probe"))
    variants = bench_bitmap_variant(index, queries) if segment.has_mih else {}
    return {
        "build_s": build_s,
        "open_s": open_s,
        "bytes_per_hash_ram": hot / n,
        "bytes_per_hash_file": file_bytes / n,
        "rss_delta_bytes_per_hash": rss_delta / n,
        "queries": len(queries),
        "qps_one_core": len(queries) / one_s,
        "qps_all_cores": len(queries) / all_s,
        "qps_one_core_probe_only": len(queries) / probe_s,
        "design_variants": variants,
        **recall(found, truth),
    }


def bench_faiss(
    kind: str, hashes: np.ndarray, queries: np.ndarray, truth: set[tuple[int, int]]
) -> dict[str, Any]:
    n = len(hashes)
    gc.collect()
    rss0 = rss_bytes()
    if kind == "mih":
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = THRESHOLD // 16  # as python-threatexchange PDQMultiHashIndex.search
    else:
        index = faiss.IndexBinaryFlat(256)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    index.add(hashes)
    build_s = time.perf_counter() - start
    rss_delta = rss_bytes() - rss0
    start = time.perf_counter()
    blob = faiss.serialize_index_binary(index)
    blob_s = time.perf_counter() - start
    start = time.perf_counter()
    reloaded = faiss.deserialize_index_binary(blob)
    open_s = time.perf_counter() - start
    serialized = int(blob.nbytes)
    del reloaded, blob
    gc.collect()
    subset = queries[: min(len(queries), 100)]
    sub_truth = {(q, i) for q, i in truth if q < len(subset)}
    faiss.omp_set_num_threads(1)
    start = time.perf_counter()
    lims, _, labels = index.range_search(subset, THRESHOLD + 1)
    one_s = time.perf_counter() - start
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    index.range_search(subset, THRESHOLD + 1)
    all_s = time.perf_counter() - start
    found = pairs_from_faiss(lims, labels)
    del index
    gc.collect()
    return {
        "build_s": build_s,
        "open_s": open_s,
        "serialize_s": blob_s,
        # RSS deltas under-report when the allocator reuses freed memory; the serialized
        # size is a floor for what the structure holds.
        "bytes_per_hash_ram": max(rss_delta, serialized) / n,
        "rss_delta_bytes_per_hash": rss_delta / n,
        "bytes_per_hash_serialized": serialized / n,
        "queries": len(subset),
        "qps_one_core": len(subset) / one_s,
        "qps_all_cores": len(subset) / all_s,
        **recall(found, sub_truth),
    }


def ground_truth(hashes: np.ndarray, queries: np.ndarray) -> set[tuple[int, int]]:
    """Exact pairs from faiss brute force, cross-checked with the numpy oracle on a sample."""
    flat = faiss.IndexBinaryFlat(256)
    flat.add(hashes)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    lims, _, labels = flat.range_search(queries, THRESHOLD + 1)
    truth = pairs_from_faiss(lims, labels)
    sample = np.arange(0, len(queries), max(1, len(queries) // 8))[:8]
    ids = np.arange(len(hashes), dtype=np.int64)
    for q in sample:
        expected = {
            (int(q), i)
            for i, _ in oracle.hamming_search(ids, hashes, queries[q : q + 1], THRESHOLD)[0]
        }
        assert expected == {p for p in truth if p[0] == q}, (
            f"faiss flat disagrees with oracle on {q}"
        )
    return truth


def bench_add(workdir: Path, hashes: np.ndarray, extra: int, seed: int) -> dict[str, Any]:
    """Time from add() of ``extra`` hashes to a separate reader object seeing all of them."""
    path = workdir / "safelight"
    writer = HammingIndex.open(path)
    reader = HammingIndex.open(path)
    rng = np.random.default_rng(seed)
    new = synthetic.uniform_hashes(rng, extra)
    new_ids = np.arange(len(hashes), len(hashes) + extra, dtype=np.int64)
    reader.search(new[:1], 0)
    start = time.perf_counter()
    writer.add(new_ids, new)
    seen = reader.search(new[:: max(1, extra // 100)], 0)
    visible_s = time.perf_counter() - start
    assert all(len(hits) >= 1 for hits in seen), "added hashes not visible"
    compact_s, compacted = timed(writer.compact)
    assert compacted and len(reader) == len(hashes) + extra
    return {"added": extra, "visible_s": visible_s, "compact_s": compact_s}


def bench_digest(n: int, lookups: int, workdir: Path) -> dict[str, Any]:
    """DigestIndex (SHA-256) against a Python dict of hex digests, HMA's exact-match index."""
    rng = np.random.default_rng(n + 1)
    keys = synthetic.uniform_hashes(rng, n, 32)
    ids = np.arange(n, dtype=np.int64)
    hits = keys[rng.integers(0, n, lookups // 2)]
    queries = np.concatenate([hits, synthetic.uniform_hashes(rng, lookups - len(hits), 32)])
    build_s, index = timed(
        lambda: DigestIndex.build(workdir / "sha256", ids, keys, signal_type="sha256")
    )
    open_s, index = best_of(3, lambda: DigestIndex.open(workdir / "sha256"))
    index.lookup(queries[:10])
    lookup_s, found = best_of(3, lambda: index.lookup(queries))
    hex_queries = array_to_hex(queries)
    hex_s, _ = best_of(3, lambda: index.lookup(hex_queries))  # parsing hex included, as dict
    gc.collect()
    rss0 = rss_bytes()
    dict_build_s, table = timed(lambda: dict(zip(array_to_hex(keys), ids.tolist(), strict=True)))
    dict_bytes = rss_bytes() - rss0
    dict_s, expected = best_of(3, lambda: [table.get(h) for h in hex_queries])
    assert [[i for i, _ in hits] for hits in found] == [[] if e is None else [e] for e in expected]
    segment = index._view().segments[0]
    return {
        "n": n,
        "lookups": lookups,
        "build_s": build_s,
        "open_s": open_s,
        "lookups_per_s": lookups / lookup_s,
        "lookups_per_s_from_hex": lookups / hex_s,
        "bytes_per_digest_ram": (segment.keys.nbytes + segment._ids.nbytes) / n,
        "dict_build_s": dict_build_s,
        "dict_lookups_per_s": lookups / dict_s,
        "dict_bytes_per_digest": dict_bytes / n,
    }


@numba.njit(nogil=True)
def _verify(words: np.ndarray, rows: np.ndarray, query: np.ndarray, threshold: int) -> int:
    hits = 0
    for k in range(rows.shape[0]):
        row = rows[k]
        d = 0
        for w in range(4):
            d += _popcount(words[row, w] ^ query[w])
        hits += d <= threshold
    return hits


@intrinsic
def _trailing_zeros(typingctx: Any, value: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.uint64(types.uint64), codegen


@numba.njit(nogil=True)
def _search_with_bitmap(
    words: np.ndarray,
    offsets: np.ndarray,
    postings: np.ndarray,
    queries: np.ndarray,
    threshold: int,
    masks: np.ndarray,
    ends: np.ndarray,
) -> int:
    """A design tried and not kept: mark candidates in a bitmap (dedup), read them back in
    ascending row order, then verify each once. Counts matches only (a lower bound on its
    cost)."""
    n = words.shape[0]
    bits = np.zeros((n + 63) >> 6, np.uint64)
    summary = np.zeros((bits.shape[0] + 63) >> 6, np.uint64)  # one bit per non-zero word
    qchunks = np.empty(16, np.int64)
    radius = np.empty(16, np.int64)
    one = np.uint64(1)
    matches = 0
    for qi in range(queries.shape[0]):
        for c in range(16):
            qchunks[c] = kernels._chunk(queries, qi, c)
        total = kernels._plan(offsets, qchunks, threshold, masks, ends, radius)
        rows = np.empty(total, np.int64)
        for c in range(16):
            if radius[c] < 0:
                continue
            for mi in range(ends[radius[c]]):
                v = qchunks[c] ^ masks[mi]
                for k in range(np.int64(offsets[c, v]), np.int64(offsets[c, v + 1])):
                    row = k if c == 0 else np.int64(postings[c - 1, k])
                    bits[row >> 6] |= one << np.uint64(row & 63)
                    summary[row >> 12] |= one << np.uint64((row >> 6) & 63)
        found = 0
        for si in range(summary.shape[0]):
            s = summary[si]
            if s == 0:
                continue
            summary[si] = 0
            while s != 0:
                wi = si * 64 + np.int64(_trailing_zeros(s))
                s &= s - one
                w = bits[wi]
                bits[wi] = 0
                while w != 0:
                    rows[found] = wi * 64 + np.int64(_trailing_zeros(w))
                    w &= w - one
                    found += 1
        for k in range(found):
            row = rows[k]
            d = 0
            for x in range(4):
                d += _popcount(words[row, x] ^ queries[qi, x])
            matches += d <= threshold
    return matches


@numba.njit(nogil=True)
def _search_direct(
    words: np.ndarray,
    offsets: np.ndarray,
    postings: np.ndarray,
    queries: np.ndarray,
    threshold: int,
    masks: np.ndarray,
    ends: np.ndarray,
) -> int:
    """Safelight's design without recording matches: verify every probed row straight from
    the posting lists (a row found through k chunks is verified k times). Counts matches
    only; duplicates are counted too."""
    qchunks = np.empty(16, np.int64)
    radius = np.empty(16, np.int64)
    matches = 0
    limit = np.uint64(threshold)
    for qi in range(queries.shape[0]):
        for c in range(16):
            qchunks[c] = kernels._chunk(queries, qi, c)
        kernels._plan(offsets, qchunks, threshold, masks, ends, radius)
        q0, q1, q2, q3 = queries[qi, 0], queries[qi, 1], queries[qi, 2], queries[qi, 3]
        for c in range(16):
            if radius[c] < 0:
                continue
            for mi in range(ends[radius[c]]):
                v = qchunks[c] ^ masks[mi]
                for k in range(np.int64(offsets[c, v]), np.int64(offsets[c, v + 1])):
                    row = k if c == 0 else np.int64(postings[c - 1, k])
                    matches += np.int64(kernels._dist4(words, row, q0, q1, q2, q3) <= limit)
    return matches


def bench_bitmap_variant(index: HammingIndex, queries: np.ndarray) -> dict[str, Any]:
    """CPU time per 1,000 queries: Safelight's kernel (records and deduplicates matches)
    against two count-only variants: the same probing without recording, and the bitmap
    design (dedup all candidates first, verify in row order)."""
    segment = index._view().segments[0]
    qwords = np.ascontiguousarray(queries).view(np.uint64)
    masks, ends = kernels.flip_masks()
    args = (segment.words, segment.offsets, segment.postings, qwords, THRESHOLD, masks, ends)
    variants: dict[str, Callable[[], Any]] = {
        "kept_cpu_s_per_1000": lambda: kernels.search_segment(*args, 12, 2),
        "bitmap_count_only_cpu_s_per_1000": lambda: _search_with_bitmap(*args),
        "direct_count_only_cpu_s_per_1000": lambda: _search_direct(*args),
    }
    best = dict.fromkeys(variants, float("inf"))
    answers = {}
    for _ in range(3):
        for name, fn in variants.items():
            start = time.process_time()
            answers[name] = fn()
            best[name] = min(best[name], (time.process_time() - start) * 1000 / len(queries))
    kept = len(answers["kept_cpu_s_per_1000"][0])
    assert answers["bitmap_count_only_cpu_s_per_1000"] == kept, "the designs disagree"
    assert answers["direct_count_only_cpu_s_per_1000"] >= kept
    return best


def bench_verify_order(n: int, repeats: int = 15) -> dict[str, Any]:
    """Does sorting candidate rows make verifying them cheaper? As many random rows as one
    threshold-31 query probes on uniform data, verified in random and in ascending order,
    CPU time, best of ``repeats`` fresh draws each."""
    candidates = n * 272 // 65_536  # 16 chunks x 17 probes x n / 65,536 rows per bucket
    rng = np.random.default_rng(3)
    words = synthetic.uniform_hashes(rng, n).view(np.uint64)
    query = words[0].copy()
    _verify(words, np.arange(4, dtype=np.int64), query, THRESHOLD)
    best = {"random_order_ms": float("inf"), "sorted_order_ms": float("inf")}
    for _ in range(repeats):
        rows = rng.choice(n, candidates, replace=False).astype(np.int64)
        for key, order in (("random_order_ms", rows), ("sorted_order_ms", np.sort(rows))):
            start = time.process_time()
            _verify(words, order, query, THRESHOLD)
            best[key] = min(best[key], (time.process_time() - start) * 1e3)
    return {"n": n, "candidates": candidates, **best}


def run(sizes: list[int], datasets: list[str], queries: int, extra: int) -> dict[str, Any]:
    report: dict[str, Any] = {
        "benchmark": "index",
        "threshold": THRESHOLD,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "faiss": faiss.__version__,
        },
        "note": "shared 2-core machine; timings are best-of-3 (safelight) or single runs "
        "(faiss) and carry about +-30% noise; faiss answers the first 100 queries only",
        "runs": [],
    }
    for n in sizes:
        for dataset in datasets:
            print(f"== {dataset} n={n:,}", flush=True)
            workdir = Path(tempfile.mkdtemp(prefix="sl-bench-index-"))
            try:
                hashes, planted = make_data(n, dataset, queries, seed=n % 9973)
                truth = ground_truth(hashes, planted)
                entry: dict[str, Any] = {
                    "n": n,
                    "dataset": dataset,
                    "true_pairs": len(truth),
                    "matches_per_query": len(truth) / len(planted),
                }
                entry["safelight"] = bench_safelight(hashes, planted, truth, workdir)
                print(json.dumps(entry["safelight"], indent=1), flush=True)
                for kind in ("mih", "flat"):
                    entry[f"faiss_{kind}"] = bench_faiss(kind, hashes, planted, truth)
                    print(kind, json.dumps(entry[f"faiss_{kind}"], indent=1), flush=True)
                if dataset == datasets[0]:
                    entry["add"] = bench_add(workdir, hashes, min(extra, n), seed=n)
                    print("add", entry["add"], flush=True)
                entry["ratios"] = ratios(entry)
                print("ratios", json.dumps(entry["ratios"], indent=1), flush=True)
                report["runs"].append(entry)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    report["projection_100M"] = projection(report["runs"])
    report["verify_order"] = bench_verify_order(max(sizes))
    print("verify order", report["verify_order"], flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="sl-bench-digest-"))
    try:
        print(f"== digest sha256 n={max(sizes):,}", flush=True)
        report["digest"] = bench_digest(max(sizes), 100_000, workdir)
        print(json.dumps(report["digest"], indent=1), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def ratios(entry: dict[str, Any]) -> dict[str, float]:
    s, mih, flat = entry["safelight"], entry["faiss_mih"], entry["faiss_flat"]
    return {
        "qps_one_core_vs_faiss_mih": s["qps_one_core"] / mih["qps_one_core"],
        "qps_one_core_vs_faiss_flat": s["qps_one_core"] / flat["qps_one_core"],
        "qps_all_cores_vs_faiss_mih": s["qps_all_cores"] / mih["qps_all_cores"],
        "build_speedup_vs_faiss_mih": mih["build_s"] / s["build_s"],
        "open_speedup_vs_faiss_mih_deserialize": mih["open_s"] / s["open_s"],
        "ram_vs_faiss_mih": s["bytes_per_hash_ram"] / mih["bytes_per_hash_ram"],
        "qps_one_core_vs_hma_measured_23qps_at_10M": s["qps_one_core"] / HMA_BASELINE_QPS_10M,
    }


def projection(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """100M hashes on paper, from the largest measured run's per-hash figures."""
    if not runs:
        return {}
    largest = max(runs, key=lambda r: r["n"])
    per_hash = max(r["safelight"]["bytes_per_hash_ram"] for r in runs if r["n"] == largest["n"])
    per_file = max(r["safelight"]["bytes_per_hash_file"] for r in runs if r["n"] == largest["n"])
    ram = per_hash * 100_000_000
    return {
        "from_n": largest["n"],
        "ram_bytes": ram,
        "file_bytes": per_file * 100_000_000,
        "fits_in_24_GiB": ram < 24 * 2**30,
        "note": "query working set (hashes, ids, bucket offsets, postings); the sorted-id "
        "section is on disk and touched only by writes. Ids must span < 2**32 for 4-byte ids, "
        "else +4 B/hash. Building 100M in one segment needs ~12 GB more transiently.",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--datasets", default="uniform,clustered")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--add", type=int, default=100_000, help="hashes added incrementally")
    parser.add_argument("--quick", action="store_true", help="100k hashes, 200 queries")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    if args.quick:
        sizes, queries, extra = [100_000], 200, 10_000
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        queries, extra = args.queries, args.add
    report = run(sizes, args.datasets.split(","), queries, extra)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    for entry in report["runs"]:
        r = entry["ratios"]
        s = entry["safelight"]
        print(
            f"{entry['dataset']:>9} n={entry['n']:>11,}: "
            f"safelight {s['qps_one_core']:8.0f} q/s/core"
            f" ({r['qps_one_core_vs_faiss_mih']:.1f}x faiss MIH, "
            f"{r['qps_one_core_vs_faiss_flat']:.1f}x flat), recall {s['recall']:.4f}, "
            f"{s['bytes_per_hash_ram']:.1f} B/hash, build {s['build_s']:.1f}s "
            f"({r['build_speedup_vs_faiss_mih']:.1f}x), open {s['open_s'] * 1e3:.2f} ms"
        )
    d = report["digest"]
    print(
        f"digest sha256 n={d['n']:,}: {d['lookups_per_s']:,.0f} lookups/s "
        f"({d['lookups_per_s_from_hex'] / d['dict_lookups_per_s']:.1f}x dict from hex), "
        f"{d['bytes_per_digest_ram']:.0f} B/digest vs dict {d['dict_bytes_per_digest']:.0f}, "
        f"build {d['build_s']:.1f}s vs dict {d['dict_build_s']:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
