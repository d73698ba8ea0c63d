"""CPU time per query of ``HammingIndex`` on one thread: the figure the index is tuned on.

    python bench/index_speed.py --sizes 1000000 10000000 --datasets uniform clustered

For each size and dataset: build an index in a temporary directory (wall time), open it,
then time ``search`` of the same planted queries (0-35 bits from stored rows) on this thread
with ``time.process_time`` (CPU time, steadier than wall time on a shared machine), the
median of ``--repeats`` passes. Recall is checked against ``mode="scan"`` (exact brute force)
on the first ``--check`` queries. RAM per hash is the size of the arrays a query reads
(hashes, ids, postings, bucket offsets) over the rows. Prints one JSON object per line.
Runs against whatever ``safelight`` is importable, so the same script measures two trees.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from typing import Any

import numpy as np

from safelight.index import HammingIndex, synthetic


def _dataset(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return synthetic.uniform_hashes(rng, n)
    return synthetic.clustered_hashes(rng, n)


def _working_set(index: HammingIndex) -> int:
    total = 0
    for segment in index._view().segments:  # noqa: SLF001 - a benchmark may look inside
        for name in ("words", "_ids", "postings", "offsets", "bases"):
            array = getattr(segment, name, None)
            total += 0 if array is None else int(array.nbytes)
    return total


def measure(kind: str, n: int, queries: int, repeats: int, check: int, seed: int) -> dict[str, Any]:
    hashes = _dataset(kind, n, seed)
    rng = np.random.default_rng(seed + 1)
    planted, _, _ = synthetic.planted_queries(rng, hashes, queries)
    ids = np.arange(n, dtype=np.int64)
    with tempfile.TemporaryDirectory(prefix="sl-speed-") as tmp:
        start = time.perf_counter()
        HammingIndex.build(f"{tmp}/idx", ids, hashes)
        build_s = time.perf_counter() - start
        del hashes
        start = time.perf_counter()
        index = HammingIndex.open(f"{tmp}/idx")
        open_ms = (time.perf_counter() - start) * 1000
        index.search(planted[:50], 31)  # compile, fault in the first pages
        cpu = []
        found = None
        for _ in range(repeats):
            start = time.process_time()
            found = index.search(planted, 31)
            cpu.append(time.process_time() - start)
        assert found is not None
        exact = index.search(planted[:check], 31, mode="scan")
        got = [sorted(found[i]) for i in range(check)]
        want = [sorted(exact[i]) for i in range(check)]
        pairs = sum(len(w) for w in want)
        recall = sum(len(set(g) & set(w)) for g, w in zip(got, want, strict=True)) / max(pairs, 1)
        per_query = statistics.median(cpu) / queries
        return {
            "dataset": kind,
            "rows": n,
            "queries_per_s_per_core": round(1 / per_query),
            "cpu_us_per_query": round(per_query * 1e6, 1),
            "cpu_s_runs": [round(c, 3) for c in cpu],
            "recall": recall,
            "checked_pairs": pairs,
            "false_positives": sum(len(set(g) - set(w)) for g, w in zip(got, want, strict=True)),
            "build_s": round(build_s, 2),
            "open_ms": round(open_ms, 2),
            "ram_bytes_per_hash": round(_working_set(index) / n, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--datasets", nargs="+", default=["uniform", "clustered"])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for n in args.sizes:
        for kind in args.datasets:
            row = measure(kind, n, args.queries, args.repeats, args.check, args.seed)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
