"""Scan throughput: folder vs zip vs tar.gz, one process vs --jobs 2 vs a 2-worker LocalCluster,
hash-only vs hash+match against a 1M-entry list.

Baselines measured in the same run: the hash-only scan (for the cost of matching) and
``--jobs 2`` (for the cost of Dask). Pools and the cluster are started and warmed (each worker
has opened the list) before timing, as a long-running deployment would have them; the times
still include listing, archive reading, the store's transactions and the JSONL output.

    .venv/bin/python bench/scan.py            # ~6 minutes on 2 cores (5 rounds)
    .venv/bin/python bench/scan.py --quick    # a smoke run: bench/results/scan-smoke.json
    .venv/bin/python bench/scan.py --out bench/results/scan-dev.json   # a busy machine

Writes bench/results/scan.json. Besides items/s it records CPU per item (client + workers):
on a machine shared with other work the wall ratios say little, the CPU ratios still hold.
Every figure is a median of the interleaved rounds; every ratio is the median of the ratios
of its rounds (the two configurations compared ran in the same round, minutes apart at most).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from safelight.lists import HashListStore
from safelight.scan.corpus import jpeg_bytes
from safelight.scan.executors import DaskExecutor, Executor, InlineExecutor, ProcessExecutor
from safelight.scan.matching import MatchConfig, StoreMatcher
from safelight.scan.pipeline import PipelineConfig
from safelight.scan.runner import ScanOptions, run_scan
from safelight.store import Database

HERE = Path(__file__).resolve().parent
CORPUS = HERE / ".corpus" / "scan"
RESULTS = HERE / "results" / "scan.json"
SMOKE = HERE / "results" / "scan-smoke.json"


def build_corpus(images: int, width: int, height: int) -> dict[str, Path]:
    folder = CORPUS / f"photos-{images}-{width}x{height}"
    zip_path = folder.with_suffix(".zip")
    tar_path = folder.with_suffix(".tar.gz")
    if not tar_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        blobs = {f"IMG_{i:05d}.jpg": jpeg_bytes(i, width, height) for i in range(images)}
        for name, data in blobs.items():
            (folder / name).write_bytes(data)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in blobs.items():
                archive.writestr(f"photos/{name}", data)
        with tarfile.open(tar_path, "w:gz") as archive:
            for name, data in blobs.items():
                info = tarfile.TarInfo(f"photos/{name}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return {"folder": folder, "zip": zip_path, "tar.gz": tar_path}


def build_list_file(size: int) -> Path:
    """``size`` random PDQ hashes as plain lines (HMA's file exchange format)."""
    path = CORPUS / f"list-{size}.txt"
    if not path.exists():
        rng = np.random.default_rng(1)
        raw = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
        CORPUS.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            for row in raw:
                handle.write(f"pdq {row.tobytes().hex()}\n")
    return path


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_cpu(executor: Executor) -> dict[Any, float]:
    """CPU seconds used so far by each worker process of ``executor`` (none for inline)."""
    if isinstance(executor, ProcessExecutor) and executor.pool is not None:
        return {pid: _proc_cpu(pid) for pid in list(executor.pool._processes)}
    if isinstance(executor, DaskExecutor):
        return dict(executor.client.run(time.process_time))
    return {}


def timed_scan(
    db: Database, executor: Executor, source: Path, lists: list[str], workdir: Path
) -> dict[str, Any]:
    options = ScanOptions([str(source)], lists, out=workdir / "out.jsonl")
    workers_before = worker_cpu(executor)
    cpu = time.process_time()
    started = time.perf_counter()
    summary = run_scan(db, options, executor=executor)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    workers_after = worker_cpu(executor)
    used = sum(after - workers_before.get(key, 0.0) for key, after in workers_after.items())
    items = summary.total.items
    return {
        "items": items,
        "errors": summary.total.errors,
        "seconds": seconds,
        "items_per_s": items / seconds,
        "mb_per_s": summary.total.bytes / seconds / 1e6,
        # CPU of the scanning process only: all the work for "single", the client's share
        # (listing, archives, store, scheduling) for the others.
        "client_cpu_ms_per_item": cpu / items * 1000,
        "worker_cpu_ms_per_item": used / items * 1000,
        "total_cpu_ms_per_item": (cpu + used) / items * 1000,
        # Cores the scan actually got: on a shared machine, less than it asked for.
        "cores_used": (cpu + used) / seconds,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the rounds of one configuration."""

    def median(key: str) -> float:
        return round(statistics.median(row[key] for row in rows), 2)

    return {
        "items": rows[0]["items"],
        "runs": len(rows),
        "median_items_per_s": median("items_per_s"),
        "rounds_items_per_s": [round(row["items_per_s"], 2) for row in rows],
        "median_client_cpu_ms_per_item": median("client_cpu_ms_per_item"),
        "median_worker_cpu_ms_per_item": median("worker_cpu_ms_per_item"),
        # Client + workers: what an item costs the machine, whatever else runs on it.
        "median_total_cpu_ms_per_item": median("total_cpu_ms_per_item"),
        "median_cores_used": median("cores_used"),
    }


def median_ratio(
    numerators: list[dict[str, Any]], denominators: list[dict[str, Any]], key: str
) -> float:
    """The median over rounds of numerator[key] / denominator[key], round by round."""
    pairs = zip(numerators, denominators, strict=True)
    return round(statistics.median(top[key] / bottom[key] for top, bottom in pairs), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=320)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--list-size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="40 images, 20k list, 2 rounds")
    parser.add_argument(
        "--out", type=Path, help="results file (scan.json; a busy machine: scan-dev.json)"
    )
    args = parser.parse_args()
    if args.quick:
        args.images, args.list_size, args.rounds = 40, 20_000, 2
    out = args.out or (SMOKE if args.quick else RESULTS)
    load_start = os.getloadavg()
    sources = build_corpus(args.images, args.width, args.height)
    list_file = build_list_file(args.list_size)
    home = Path(tempfile.mkdtemp(prefix="scan-bench-home-"))
    os.environ["SAFELIGHT_HOME"] = str(home)  # index directories go here
    db = Database.open(f"sqlite:///{home / 'store.db'}")
    started = time.perf_counter()
    HashListStore(db).create("BENCH_1M")
    HashListStore(db).import_file("BENCH_1M", list_file, fmt="lines")
    imported = time.perf_counter() - started
    started = time.perf_counter()
    generation = HashListStore(db).generations(["BENCH_1M"])["BENCH_1M"]
    match = MatchConfig(("BENCH_1M",), (generation,), db.url, None, str(home))
    syncing = StoreMatcher(match)
    syncing.sync()  # builds the index from the store, as a scan's first run does
    syncing.release()
    indexed = time.perf_counter() - started
    print(f"list: imported in {imported:.1f}s, indexed in {indexed:.1f}s")
    modes: dict[str, list[str]] = {"hash_only": [], "hash_match": ["BENCH_1M"]}
    configs = {"hash_only": PipelineConfig(), "hash_match": PipelineConfig(match=match)}

    # A pool per mode (a pool's workers are started for one list configuration); the inline
    # executor and the Dask workers cache both configurations.
    executors: dict[tuple[str, str], Executor] = {}
    inline, dask = InlineExecutor(), DaskExecutor("local", 2)
    for mode in modes:
        executors[("single", mode)] = inline
        executors[("jobs2", mode)] = ProcessExecutor(2)
        executors[("dask_local2", mode)] = dask
    raw: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        try:
            for (name, mode), executor in executors.items():
                warm = time.perf_counter()
                executor.prepare(configs[mode])
                # A short scan so that every worker has run once (imports, JIT caches).
                timed_scan(db, executor, sources["zip"], modes[mode], workdir)
                print(f"{name}/{mode}: workers ready in {time.perf_counter() - warm:.1f}s")
            # Interleaved rounds: every configuration sees the same mix of machine load.
            for round_number in range(args.rounds):
                for source_name, source in sources.items():
                    for (name, mode), executor in executors.items():
                        row = timed_scan(db, executor, source, modes[mode], workdir)
                        raw.setdefault((source_name, name, mode), []).append(row)
                        print(
                            f"round {round_number} {source_name:7} {name:12} {mode:10} "
                            f"{row['items_per_s']:7.1f} items/s  "
                            f"client cpu {row['client_cpu_ms_per_item']:5.1f} ms/item  "
                            f"cores used {row['cores_used']:4.2f}"
                        )
        finally:
            for executor in {id(e): e for e in executors.values()}.values():
                executor.close()

    results: dict[str, dict[str, dict[str, Any]]] = {}
    for (source_name, name, mode), rows in raw.items():
        results.setdefault(source_name, {}).setdefault(name, {})[mode] = summarise(rows)
    ratios: dict[str, Any] = {}
    for source_name in sources:
        for name in ("single", "jobs2", "dask_local2"):
            ratios[f"{source_name}/{name}/match_vs_hash_only"] = median_ratio(
                raw[(source_name, name, "hash_match")],
                raw[(source_name, name, "hash_only")],
                "items_per_s",
            )
        # CPU per item is a cost: the ratio of rates is the inverse ratio of costs.
        ratios[f"{source_name}/single/match_vs_hash_only_cpu"] = median_ratio(
            raw[(source_name, "single", "hash_only")],
            raw[(source_name, "single", "hash_match")],
            "client_cpu_ms_per_item",
        )
        for mode in modes:
            single = raw[(source_name, "single", mode)]
            jobs2 = raw[(source_name, "jobs2", mode)]
            dask_rows = raw[(source_name, "dask_local2", mode)]
            ratios[f"{source_name}/{mode}/jobs2_vs_single"] = median_ratio(
                jobs2, single, "items_per_s"
            )
            ratios[f"{source_name}/{mode}/dask_vs_jobs2"] = median_ratio(
                dask_rows, jobs2, "items_per_s"
            )
            # On 2 busy cores, items/s ~ 2 / (CPU per item): the ratio of CPU per item says
            # what the wall ratio would be on a quiet machine, less any idle tail.
            ratios[f"{source_name}/{mode}/dask_vs_jobs2_cpu"] = median_ratio(
                jobs2, dask_rows, "total_cpu_ms_per_item"
            )
    worst_match = min(v for k, v in ratios.items() if k.endswith("match_vs_hash_only"))
    worst_match_cpu = min(v for k, v in ratios.items() if k.endswith("match_vs_hash_only_cpu"))
    worst_dask = min(v for k, v in ratios.items() if k.endswith("dask_vs_jobs2"))
    worst_dask_cpu = min(v for k, v in ratios.items() if k.endswith("dask_vs_jobs2_cpu"))
    report = {
        "benchmark": "scan",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "method": (
            "interleaved rounds; every figure is the median of the rounds and every ratio the "
            "median of its rounds' ratios (both sides of a ratio ran in the same round); "
            "workers started and warmed before timing; *_cpu ratio = CPU time per item; "
            "cores_used = (client + worker CPU seconds) / wall seconds, what the shared "
            "machine gave the scan"
        ),
        "rounds": args.rounds,
        "quick_smoke_run": args.quick,
        "corpus": {
            "images": args.images,
            "size": f"{args.width}x{args.height}",
            "format": "photo-like JPEG q85 (safelight.scan.corpus)",
            "list_entries": args.list_size,
            "matcher": "store list -> safelight.match.Matcher (safelight.index HammingIndex)",
        },
        "results": results,
        "ratios": ratios,
        "targets": {
            "match_within_15pct_of_hash_only_wall": {
                "worst": worst_match,
                "met": worst_match >= 0.85,
            },
            "match_within_15pct_of_hash_only_cpu": {
                "worst": worst_match_cpu,
                "met": worst_match_cpu >= 0.85,
            },
            "dask_overhead_le_15pct_vs_jobs2": {"worst": worst_dask, "met": worst_dask >= 0.85},
            "dask_overhead_le_15pct_vs_jobs2_cpu": {
                "worst": worst_dask_cpu,
                "met": worst_dask_cpu >= 0.85,
            },
        },
    }
    report["list_setup_seconds"] = {"import": round(imported, 1), "index": round(indexed, 1)}
    for key, value in ratios.items():
        print(f"{key:45} {value:6.3f}")
    print(json.dumps(report["targets"], indent=2))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
