"""Benchmark: Safelight's HammingIndex against HMA's own PDQ index, as HMA runs it.

Side by side in one run, on the same hashes and the same queries:
  * safelight  HammingIndex (multi-index hashing, memory-mapped files)
  * hma        python-threatexchange's ``PDQIndex``, the class HMA uses for PDQ
               (``PdqSignal.get_index_cls()``): faiss ``IndexBinaryIDMap2`` over
               ``IndexBinaryMultiHash(256, 16, 16)``, built from hex strings with
               ``PDQIndex.build([(hex, entry), ...])`` and queried one hex hash at a time with
               ``PDQIndex.query(hex)``, as HMA's lookup does. It runs in a fresh subprocess
               (this script with ``--anchor-worker``), so its memory figures are its own.
on uniform and clustered (heavy-tailed near-duplicate clusters) sets, with 1,000 queries made
from stored hashes at 0-31 bits (matches) and 32-35 bits (near-misses).

Both sides are timed by the same function (``time_per_query``): one untimed warm-up pass over
every query, then ``--rounds`` timed passes, each query one call from its hex string, one
thread (faiss's OpenMP pool set to 1). Reported: the median per-query latency over all timed
calls, p95, and the median over rounds of queries/s. Batch throughput (all queries in one
call) is given beside it for both. Recall is computed for both against ground truth: faiss
IndexBinaryFlat's exact range search over all queries (an independent implementation), itself
checked against the numpy oracle on a sample of queries. The hand-built, unwrapped faiss
``IndexBinaryMultiHash`` of earlier versions is gone: it is not how HMA runs (the ID-map
wrapper made it 2.4-6.5x faster, performance-notes.md).

Usage:  python bench/index.py [--sizes 1000000,10000000] [--quick] [--datasets uniform,clustered]
Also: DigestIndex (SHA-256) against a Python dict of hex digests (HMA's MD5/SHA-256 index).
Writes bench/results/index.json (``--quick``: index-smoke.json, git-ignored; or --out) and
prints ratios. Every repeated timing is a median.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import faiss
import numba
import numpy as np

from safelight.constants import PDQ_MATCH_THRESHOLD
from safelight.index import DigestIndex, HammingIndex, array_to_hex, oracle, synthetic
from safelight.index.kernels import _popcount

THRESHOLD = PDQ_MATCH_THRESHOLD
RESULTS = Path(__file__).resolve().parent / "results" / "index.json"
SMOKE = Path(__file__).resolve().parent / "results" / "index-smoke.json"


def proc_status_bytes(field: str) -> int:
    """A size field of /proc/self/status (VmRSS: now, VmHWM: this process's peak)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes() -> int:
    return proc_status_bytes("VmRSS")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def median_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Median wall seconds of ``repeats`` calls, and the last call's value."""
    times, value = [], None
    for _ in range(repeats):
        seconds, value = timed(fn)
        times.append(seconds)
    return statistics.median(times), value


def time_per_query(
    answer: Callable[[str], Any], queries: Sequence[str], rounds: int
) -> tuple[dict[str, Any], list[Any]]:
    """The one timing protocol both indexes get: an untimed warm-up pass over every query,
    then ``rounds`` timed passes, one call per query. Returns medians and the answers of the
    last pass."""
    for query in queries:
        answer(query)
    latencies: list[float] = []
    round_qps: list[float] = []
    answers: list[Any] = []
    for _ in range(rounds):
        answers, spent = [], 0.0
        for query in queries:
            start = time.perf_counter()
            answers.append(answer(query))
            seconds = time.perf_counter() - start
            latencies.append(seconds)
            spent += seconds
        round_qps.append(len(queries) / spent)
    latencies.sort()
    return {
        "queries": len(queries),
        "warmup_passes": 1,
        "rounds": rounds,
        "latency_ms_median": statistics.median(latencies) * 1e3,
        "latency_ms_p95": latencies[int(0.95 * (len(latencies) - 1))] * 1e3,
        "qps_median": statistics.median(round_qps),
        "qps_rounds": round_qps,
    }, answers


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


def build_from_hex(path: Path, ids: np.ndarray, hashes: np.ndarray) -> float:
    """Seconds to build a HammingIndex from hex strings (parsing included), as HMA's is built."""
    hex_hashes = array_to_hex(hashes)
    seconds, _ = timed(lambda: HammingIndex.build(path, ids, hex_hashes))
    shutil.rmtree(path)
    return seconds


def bench_safelight(
    hashes: np.ndarray, queries: np.ndarray, truth: set[tuple[int, int]], workdir: Path, rounds: int
) -> dict[str, Any]:
    n = len(hashes)
    ids = np.arange(n, dtype=np.int64)
    path = workdir / "safelight"
    build_from_hex(workdir / "warm-up", ids[:1000], hashes[:1000])  # kernels loaded, untimed
    build_hex_s = build_from_hex(workdir / "from-hex", ids, hashes)
    build_s, index = timed(lambda: HammingIndex.build(path, ids, hashes))
    del index
    gc.collect()
    segment_file = next(path.glob("seg-*.seg"))
    file_bytes = segment_file.stat().st_size
    rss0 = rss_bytes()
    open_s, index = median_of(5, lambda: HammingIndex.open(path))
    segment = index._view().segments[0]
    hot = segment.words.nbytes + segment._ids.nbytes + segment.offsets.nbytes
    hot += segment.postings.nbytes + segment.bases.nbytes
    hex_queries = array_to_hex(queries)
    per_query, answers = time_per_query(
        lambda query: index.search(query, THRESHOLD, workers=1), hex_queries, rounds
    )
    found = {(q, i) for q, result in enumerate(answers) for i, _ in result[0]}
    index.search(queries, THRESHOLD, workers=1)  # the batch path's warm-up
    batch_s, result = median_of(rounds, lambda: index.search(queries, THRESHOLD, workers=1))
    all_s, result_all = median_of(rounds, lambda: index.search_batch(queries, THRESHOLD))
    rss_delta = rss_bytes() - rss0
    assert found == pairs_from_result(result) == pairs_from_result(result_all)
    probe_s, _ = median_of(
        rounds, lambda: index.search(queries, THRESHOLD, workers=1, mode="probe")
    )
    return {
        "build_s": build_s,
        "build_from_hex_s": build_hex_s,
        "open_s": open_s,
        "bytes_per_hash_ram": hot / n,
        "bytes_per_hash_file": file_bytes / n,
        "rss_delta_bytes_per_hash": rss_delta / n,
        "per_query": per_query,
        "qps_one_core": per_query["qps_median"],
        "qps_one_core_batch": len(queries) / batch_s,
        "qps_all_cores_batch": len(queries) / all_s,
        "qps_one_core_batch_probe_only": len(queries) / probe_s,
        **recall(found, truth),
    }


def bench_anchor(
    hashes: np.ndarray, queries: np.ndarray, truth: set[tuple[int, int]], workdir: Path, rounds: int
) -> dict[str, Any]:
    """HMA's PDQIndex in a fresh process (``--anchor-worker``), on the same hashes and queries."""
    np.save(workdir / "hashes.npy", hashes)
    np.save(workdir / "queries.npy", queries)
    subprocess.run(
        [sys.executable, __file__, "--anchor-worker", str(workdir), "--rounds", str(rounds)],
        check=True,
    )
    report: dict[str, Any] = json.loads((workdir / "anchor.json").read_text())
    pairs = np.load(workdir / "anchor-pairs.npy")
    found = {(int(q), int(i)) for q, i in pairs}
    for name in ("hashes.npy", "queries.npy", "anchor.json", "anchor-pairs.npy"):
        (workdir / name).unlink()
    return {**report, **recall(found, truth)}


def anchor_batch_seconds(inner: Any, hex_queries: list[str], rounds: int) -> float:
    """Median seconds of pytx's PDQMultiHashIndex answering all queries in one call (the call
    PDQIndex.query makes with one hash), after one untimed call."""
    inner.search_with_distance_in_result(hex_queries, THRESHOLD)
    seconds, _ = median_of(
        rounds, lambda: inner.search_with_distance_in_result(hex_queries, THRESHOLD)
    )
    return seconds


def reopen_as_hma(holder: list[Any], index_cls: Any, path: Path) -> tuple[float, int, float]:
    """Serialize the index as HMA stores it, drop it, and time loading it back (its "open").

    ``holder`` holds the only reference, so the built index is freed before it is loaded
    again: one copy in memory at a time, as in an HMA process that loads its index."""
    with path.open("wb") as handle:
        serialize_s, _ = timed(lambda: holder[0].serialize(handle))
    file_bytes = path.stat().st_size
    holder.clear()
    gc.collect()
    with path.open("rb") as handle:
        open_s, reopened = timed(lambda: index_cls.deserialize(handle))
    assert len(reopened) > 0
    path.unlink()
    return serialize_s, file_bytes, open_s


def anchor_worker(workdir: Path, rounds: int) -> None:
    """Build and query python-threatexchange's PDQIndex as HMA does; runs in its own process."""
    from threatexchange.signal_type.pdq.signal import PdqSignal

    index_cls = PdqSignal.get_index_cls()  # PDQIndex: HMA asks the signal type, as here
    faiss.omp_set_num_threads(1)  # one core, as Safelight's per-query figures
    hashes = np.load(workdir / "hashes.npy")
    hex_hashes = array_to_hex(hashes)  # HMA reads hex strings from its database
    hex_queries = array_to_hex(np.load(workdir / "queries.npy"))
    del hashes
    gc.collect()
    index_cls.build((h, i) for i, h in enumerate(hex_hashes[:1000]))  # warm-up, as Safelight's
    gc.collect()
    rss0 = rss_bytes()
    build_s, index = timed(lambda: index_cls.build((h, i) for i, h in enumerate(hex_hashes)))
    gc.collect()
    rss_build = rss_bytes() - rss0
    per_query, answers = time_per_query(index.query, hex_queries, rounds)
    pairs = [(q, match.metadata) for q, matches in enumerate(answers) for match in matches]
    np.save(workdir / "anchor-pairs.npy", np.array(pairs, dtype=np.int64).reshape(-1, 2))
    batch_s = anchor_batch_seconds(index.index, hex_queries, rounds)
    n = len(hex_hashes)
    faiss_name = type(index.index.faiss_index).__name__
    names = type(index).__module__, type(index).__qualname__, faiss_name
    peak_before_open = proc_status_bytes("VmHWM")
    holder = [index]
    del index, answers
    serialize_s, file_bytes, open_s = reopen_as_hma(holder, index_cls, workdir / "anchor.pickle")
    report = {
        "class": f"{names[0]}.{names[1]}",
        "faiss_index": names[2],
        "threatexchange": version("threatexchange"),
        "build_s": build_s,
        "build_input": "hex strings, PDQIndex.build([(hex, id), ...])",
        # RSS growth over the build: faiss's tables, pytx's (hex, id) list and id map; the
        # hex strings themselves were allocated before and are kept by the index.
        "rss_growth_bytes_per_hash": rss_build / n,
        "hex_str_bytes_per_hash": sys.getsizeof(hex_hashes[0]),
        "peak_rss_bytes_build_and_query": peak_before_open,
        "peak_rss_bytes": proc_status_bytes("VmHWM"),
        # HMA stores the built index as PDQIndex.serialize's pickle and loads it with
        # deserialize: its "open".
        "serialize_s": serialize_s,
        "bytes_per_hash_serialized": file_bytes / n,
        "open_s": open_s,
        "per_query": per_query,
        "qps_one_core": per_query["qps_median"],
        "qps_one_core_batch": len(hex_queries) / batch_s,
        "batch_call": "PDQMultiHashIndex.search_with_distance_in_result(all queries), "
        "the call PDQIndex.query makes with one hash",
    }
    (workdir / "anchor.json").write_text(json.dumps(report, indent=1))


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
    open_s, index = median_of(3, lambda: DigestIndex.open(workdir / "sha256"))
    index.lookup(queries[:10])
    lookup_s, found = median_of(3, lambda: index.lookup(queries))
    hex_queries = array_to_hex(queries)
    hex_s, _ = median_of(3, lambda: index.lookup(hex_queries))  # parsing hex included, as dict
    gc.collect()
    rss0 = rss_bytes()
    dict_build_s, table = timed(lambda: dict(zip(array_to_hex(keys), ids.tolist(), strict=True)))
    dict_bytes = rss_bytes() - rss0
    dict_s, expected = median_of(3, lambda: [table.get(h) for h in hex_queries])
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


def bench_verify_order(n: int, repeats: int = 15) -> dict[str, Any]:
    """Does sorting candidate rows make verifying them cheaper? As many random rows as one
    threshold-31 query probes on uniform data, verified in random and in ascending order,
    CPU time, best of ``repeats`` fresh draws each."""
    candidates = n * 272 // 65_536  # 16 chunks x 17 probes x n / 65,536 rows per bucket
    rng = np.random.default_rng(3)
    words = synthetic.uniform_hashes(rng, n).view(np.uint64)
    query = words[0].copy()
    _verify(words, np.arange(4, dtype=np.int64), query, THRESHOLD)
    spent: dict[str, list[float]] = {"random_order_ms": [], "sorted_order_ms": []}
    for _ in range(repeats):
        rows = rng.choice(n, candidates, replace=False).astype(np.int64)
        for key, order in (("random_order_ms", rows), ("sorted_order_ms", np.sort(rows))):
            start = time.process_time()
            _verify(words, order, query, THRESHOLD)
            spent[key].append((time.process_time() - start) * 1e3)
    medians = {key: statistics.median(times) for key, times in spent.items()}
    return {"n": n, "candidates": candidates, **medians}


def run(
    sizes: list[int], datasets: list[str], queries: int, extra: int, rounds: int
) -> dict[str, Any]:
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
            "threatexchange": version("threatexchange"),
            "load_average_start": os.getloadavg(),
        },
        "method": "both indexes answer the same queries, one call per hex query, one thread, "
        f"after one untimed warm-up pass, {rounds} timed passes; medians reported "
        "(per-query latency over all calls, queries/s over passes). The anchor is "
        "python-threatexchange's PDQIndex (HMA's class) built from hex strings, in its own "
        "process.",
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
                entry["safelight"] = bench_safelight(hashes, planted, truth, workdir, rounds)
                print(json.dumps(entry["safelight"], indent=1), flush=True)
                entry["hma_pdqindex"] = bench_anchor(hashes, planted, truth, workdir, rounds)
                print("hma", json.dumps(entry["hma_pdqindex"], indent=1), flush=True)
                if dataset == datasets[0]:
                    entry["add"] = bench_add(workdir, hashes, min(extra, n), seed=n)
                    print("add", entry["add"], flush=True)
                entry["ratios"] = ratios(entry)
                print("ratios", json.dumps(entry["ratios"], indent=1), flush=True)
                report["runs"].append(entry)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    report["machine"]["load_average_end"] = os.getloadavg()
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
    s, hma = entry["safelight"], entry["hma_pdqindex"]
    return {
        "qps_one_core_vs_hma": s["qps_one_core"] / hma["qps_one_core"],
        "latency_median_hma_over_safelight": hma["per_query"]["latency_ms_median"]
        / s["per_query"]["latency_ms_median"],
        "qps_one_core_batch_vs_hma_batch": s["qps_one_core_batch"] / hma["qps_one_core_batch"],
        "build_from_hex_speedup_vs_hma": hma["build_s"] / s["build_from_hex_s"],
        "open_speedup_vs_hma_deserialize": hma["open_s"] / s["open_s"],
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
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the queries")
    parser.add_argument("--quick", action="store_true", help="100k hashes, 200 queries, 3 rounds")
    parser.add_argument("--out", help="results file (default index.json; --quick: smoke)")
    parser.add_argument("--anchor-worker", help=argparse.SUPPRESS)  # internal: HMA's side
    args = parser.parse_args(argv)
    if args.anchor_worker:
        anchor_worker(Path(args.anchor_worker), args.rounds)
        return 0
    if args.quick:
        sizes, queries, extra, rounds = [100_000], 200, 10_000, 3
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        queries, extra, rounds = args.queries, args.add, args.rounds
    report = run(sizes, args.datasets.split(","), queries, extra, rounds)
    out = Path(args.out) if args.out else SMOKE if args.quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    for entry in report["runs"]:
        r, s, hma = entry["ratios"], entry["safelight"], entry["hma_pdqindex"]
        print(
            f"{entry['dataset']:>9} n={entry['n']:>11,}: "
            f"safelight {s['qps_one_core']:8.0f} q/s/core "
            f"({s['per_query']['latency_ms_median']:.3f} ms median), HMA PDQIndex "
            f"{hma['qps_one_core']:8.0f} q/s ({hma['per_query']['latency_ms_median']:.3f} ms): "
            f"{r['qps_one_core_vs_hma']:.1f}x; recall {s['recall']:.4f} / {hma['recall']:.4f}; "
            f"{s['bytes_per_hash_ram']:.1f} B/hash, build from hex {s['build_from_hex_s']:.1f}s "
            f"vs {hma['build_s']:.1f}s, open {s['open_s'] * 1e3:.2f} ms vs {hma['open_s']:.2f} s"
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
