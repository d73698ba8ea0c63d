"""Before and after: the same workloads against an earlier revision and this tree, in one run.

The earlier revision (``--old``, default de49adc: main when issue 9 was filed) is checked out
into a temporary ``git worktree add --detach`` (removed at the end); the new side is this
working tree (or ``--new REV``, checked out the same way). Each repetition runs every
workload once per side, alternating which side goes first, each side in a fresh process of
``bench/before_after_worker.py`` with ``PYTHONPATH=<that tree>/src`` and this interpreter
(the main venv's), on the same inputs after the same warm-up. Before the repetitions, each
side runs each workload once untimed on a small input (numba compiles the earlier tree's
kernels into its fresh worktree there; ``prime_s`` in the JSON).

Workloads, through entry points both versions have:

* hashing: ``hash_file`` in every mode (default, ``--fast``, ``--exact-reference``, and the
  first two with PDQ only) over bench/hashing.py's photo-like 2 MP JPEGs and its independent
  2 MP corpus (re-encoded scikit-image / scikit-learn photos), and over files that are no
  media (digests, sniffing and the record only); files/s by CPU and wall time; every
  variant's PDQ bits against the new ``--exact-reference`` (pdqhash's bits);
* index: ``HammingIndex`` build from arrays, open, one-thread queries (one call per hex query,
  bench/index.py's protocol) and one-thread batch search, uniform hashes, threshold 31; both
  sides' answers compared;
* scan: ``safelight scan`` (CLI, one process) of a folder of loose JPEGs, a zip and a tar.gz,
  and of its loose JPEGs alone, per mode, against a list of random PDQ hashes plus a few of
  the folder's own PDQs and MD5s;
* network: ``safelight network ingest`` (simulated log, its list file) + ``network analyze``
  (its geo database) of a case simulated once by this tree.

Every figure is the median of ``--reps`` repetitions per side. ``speedup`` is new over old
for rates and old over new for times and memory (above 1: the new code is faster or smaller).
``noise`` is the larger of the two sides' spreads, (max - min) / median of its repetitions; a
verdict is "better" or "worse" only beyond it. Comparisons of different work (the default
PDQ became bit-exact in issue 10; the index layout changed in issue 11) are labelled with
what moved, beside the like-for-like pairs (``before_after_report.py``).

    .venv/bin/python bench/before_after.py --quick        # smoke: before_after-smoke.json
    .venv/bin/python bench/before_after.py --index-sizes 1000000,10000000   # run of record
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from before_after_report import compare_workloads, print_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "before_after_worker.py"
CORPUS = HERE / ".corpus" / "before-after"
RESULTS = HERE / "results" / "before_after.json"
SMOKE = HERE / "results" / "before_after-smoke.json"
OLD_DEFAULT = "de49adc"  # main when issue 9 was filed
WORKLOAD_NAMES = ("hashing", "index", "scan", "network")
NON_MEDIA_FILES = 400


class Side:
    """One code version: its name in the report, its tree, and the revision it holds."""

    def __init__(self, name: str, tree: Path, rev: str, temporary: bool) -> None:
        self.name, self.tree, self.rev, self.temporary = name, tree, rev, temporary
        self.src = tree / "src"

    def describe(self) -> dict[str, Any]:
        commit = git("rev-parse", "HEAD", cwd=self.tree)
        dirty = bool(git("status", "--porcelain", "--", "src", cwd=self.tree))
        return {
            "rev": self.rev,
            "commit": commit,
            "subject": git("log", "-1", "--format=%s", cwd=self.tree)[:160],
            "date": git("log", "-1", "--format=%cI", cwd=self.tree),
            "src_modified_since_commit": dirty,
        }


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def checkout(name: str, rev: str) -> Side:
    tree = Path(tempfile.mkdtemp(prefix=f"safelight-{name}-"))
    git("worktree", "add", "--detach", "--quiet", str(tree), rev)
    return Side(name, tree, rev, temporary=True)


def remove(side: Side) -> None:
    if side.temporary:
        subprocess.run(["git", "worktree", "remove", "--force", str(side.tree)], cwd=ROOT)
        shutil.rmtree(side.tree, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT)


class Runner:
    """Starts worker processes: one workload, one side, one fresh interpreter."""

    def __init__(self, python: str, work: Path) -> None:
        self.python, self.work, self.calls = python, work, 0

    def __call__(self, side: Side, workload: str, spec: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        folder = self.work / f"{self.calls:04d}-{side.name}-{workload}"
        folder.mkdir(parents=True)
        spec = {
            "workload": workload,
            "src": str(side.src),
            # The side's store, kept across its runs (the scan's list lives there), unless the
            # workload asks for a fresh one (network: a second ingest of a file is a no-op).
            "home": str(folder / "home" if workload == "network" else self.work / side.name),
            "workdir": str(folder),
            "result": str(folder / "result.json"),
            **spec,
        }
        (folder / "spec.json").write_text(json.dumps(spec))
        env = {**os.environ, "PYTHONPATH": str(side.src)}
        env.pop("SAFELIGHT_DATABASE_URL", None)
        started = time.perf_counter()
        done = subprocess.run(
            [self.python, str(WORKER), str(folder / "spec.json")],
            cwd=folder, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(
                f"{side.name} {workload} failed (exit {done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        result: dict[str, Any] = json.loads((folder / "result.json").read_text())
        result["process_s"] = time.perf_counter() - started
        shutil.rmtree(folder, ignore_errors=True)  # an index of 10M is ~1 GB: one at a time
        return result


def repeat(
    run: Runner, sides: list[Side], workload: str, reps: int, spec: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """``reps`` repetitions, each running both sides, old first in even repetitions."""
    raw: dict[str, list[dict[str, Any]]] = {side.name: [] for side in sides}
    for rep in range(reps):
        for side in sides if rep % 2 == 0 else sides[::-1]:
            raw[side.name].append(run(side, workload, {**spec, "rep": rep}))
        print(f"  {workload} rep {rep + 1}/{reps} done", flush=True)
    return raw


def prime(run: Runner, sides: list[Side], workload: str, spec: dict[str, Any]) -> dict[str, float]:
    """One untimed run per side on a small input: numba caches filled, stores set up."""
    seconds = {}
    for side in sides:
        started = time.perf_counter()
        run(side, workload, {"rep": 0, **spec})
        seconds[side.name] = round(time.perf_counter() - started, 1)
    return seconds


# --- inputs, made once by this tree ---------------------------------------------------------


IMAGE_VARIANTS = ["default", "fast", "reference", "default_pdq_only", "fast_pdq_only"]


def hashing_sets(limit: int | None) -> dict[str, dict[str, Any]]:
    """bench/hashing.py's photo-like 2 MP JPEGs and its independent 2 MP corpus (every mode),
    and files that are no media (digests, sniffing and the record only: the same work in
    every version since the decode is not involved)."""
    import hashing as hashing_bench  # bench/hashing.py: its corpus generators and cache

    photo_like = hashing_bench.build_corpus()["jpeg_2mp"]
    independent = hashing_bench.build_independent_corpus({})["independent_2mp"]
    folder = CORPUS / "non-media-16k"
    if not folder.is_dir():  # made beside and renamed: an interrupted run leaves no half set
        rng, partial = np.random.default_rng(16), folder.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for i in range(NON_MEDIA_FILES):
            data = b"not media: bench/before_after.py\n" + rng.bytes(16 * 1024)
            (partial / f"file-{i:04d}.bin").write_bytes(data)
        partial.rename(folder)
    other = sorted(folder.glob("*.bin"))
    sets = {
        "photo_like_2mp": (photo_like, IMAGE_VARIANTS),
        "independent_2mp": (independent, IMAGE_VARIANTS),
        "non_media_16k": (other, ["default"]),
    }
    return {
        name: {"paths": [str(p) for p in paths[:limit]], "variants": variants}
        for name, (paths, variants) in sets.items()
    }


def index_inputs(n: int, queries: int, work: Path) -> dict[str, str]:
    """``n`` uniform hashes and planted queries (0-35 bits from stored rows), as .npy."""
    from safelight.index import synthetic

    rng = np.random.default_rng(n % 9973)
    hashes = synthetic.uniform_hashes(rng, n)
    planted, _, _ = synthetic.planted_queries(rng, hashes, queries, max_distance=35)
    paths = {"hashes": str(work / f"hashes-{n}.npy"), "queries": str(work / f"queries-{n}.npy")}
    np.save(paths["hashes"], hashes)
    np.save(paths["queries"], planted)
    return paths


def _jpeg_folder(
    folder: Path, first: int, loose: int, archived: int, size: tuple[int, int]
) -> None:
    """``loose`` JPEGs in ``folder``, ``archived`` more in a zip and as many in a tar.gz."""
    import io
    import tarfile
    import zipfile

    from safelight.scan.corpus import jpeg_bytes

    folder.mkdir(parents=True)
    for i in range(first, first + loose):
        (folder / f"IMG_{i:05d}.jpg").write_bytes(jpeg_bytes(i, *size))
    start = first + loose
    with zipfile.ZipFile(folder / "photos.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(start, start + archived):
            archive.writestr(f"photos/IMG_{i:05d}.jpg", jpeg_bytes(i, *size))
    with tarfile.open(folder / "photos.tar.gz", "w:gz") as archive:
        for i in range(start + archived, start + 2 * archived):
            data = jpeg_bytes(i, *size)
            info = tarfile.TarInfo(f"photos/IMG_{i:05d}.jpg")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def scan_inputs(images: int, list_size: int, work: Path) -> dict[str, Any]:
    """The scanned folder (half loose, a quarter in a zip, a quarter in a tar.gz), a folder
    of its loose JPEGs alone, a small folder of the same kinds for the warm-up, and the list
    files: ``list_size`` random PDQ hashes plus the PDQ of every tenth loose image (one line
    each), and the MD5 of every tenth other one."""
    from safelight.signals.files import hash_file
    from safelight.signals.options import HashOptions

    source, warm, loose_only = work / "scan-source", work / "scan-warm", work / "scan-loose"
    _jpeg_folder(source, 0, images // 2, images // 4, (1024, 768))
    _jpeg_folder(warm, 90_000, 4, 2, (1024, 768))
    loose = sorted(source.glob("*.jpg"))
    loose_only.mkdir()
    for path in loose:
        os.link(path, loose_only / path.name)
    records = [hash_file(p, HashOptions(mode="reference")) for p in loose[::10]]
    others = [hash_file(p, HashOptions()) for p in loose[5::10]]
    rng = np.random.default_rng(1)
    pdq_list, md5_list = work / "list-pdq.txt", work / "list-md5.txt"
    with pdq_list.open("w") as handle:
        for row in rng.integers(0, 256, size=(list_size, 32), dtype=np.uint8):
            handle.write(row.tobytes().hex() + "\n")
        for record in records:
            assert record.pdq is not None
            handle.write(record.pdq.hex + "\n")
    md5_list.write_text("".join(r.digests["md5"] + "\n" for r in others))
    return {
        "sources": {"with_archives": str(source), "loose_only": str(loose_only)},
        "warm_source": str(warm),
        "pdq_list": str(pdq_list),
        "md5_list": str(md5_list),
        "list": "BEFORE_AFTER",
    }


def network_inputs(sightings: int, cache: Path) -> dict[str, str]:
    """A simulated case (10 sightings per connection, bench/network.py's shape at 1/10 the
    connections per sighting count) and its first 2,000 rows for the warm-up; cached."""
    from safelight.network.simulate import simulate

    folder = cache / f"network-{sightings}"
    csv_path = folder / "sightings.csv"
    if not (folder / "done").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        connections = max(sightings // 10, 1000)
        simulate(
            csv_path, connections=connections, countries=60, groups=max(connections // 200, 10),
            files=max(connections // 5, 500), seed=0, sightings=sightings, overwrite=True,
        )  # fmt: skip
        (folder / "done").write_text("")
    warm = folder / "warm.csv"
    if not warm.is_file():
        with csv_path.open(newline="") as src, warm.open("w", newline="") as dst:
            writer = csv.writer(dst, quoting=csv.QUOTE_ALL)
            for i, row in enumerate(csv.reader(src)):
                if i > 2000:
                    break
                writer.writerow(row)
    return {
        "sightings": str(csv_path),
        "warm_sightings": str(warm),
        "list_file": str(folder / "known.csv"),
        "geo": str(folder / "geo.mmdb"),
    }


# --- the run --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu, memory = "unknown", 0
    with open("/proc/cpuinfo") as handle:
        cpu = next((ln.split(":", 1)[1].strip() for ln in handle if ln.startswith("model name")),
                   cpu)  # fmt: skip
    with open("/proc/meminfo") as handle:
        memory = int(next(ln.split()[1] for ln in handle if ln.startswith("MemTotal"))) * 1024
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_bytes": memory,
        "python": platform.python_version(),
        "interpreter": sys.executable,
    }


def run_workloads(
    args: argparse.Namespace, run: Runner, sides: list[Side], work: Path
) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    wanted = args.workloads.split(",")
    if "hashing" in wanted:
        print("hashing: corpora", flush=True)
        sets = hashing_sets(6 if args.quick else None)
        small = {name: {**entry, "paths": entry["paths"][:2]} for name, entry in sets.items()}
        raw["hashing"] = {
            "inputs": {name: len(entry["paths"]) for name, entry in sets.items()},
            "passes": args.hash_passes,
            "prime_s": prime(run, sides, "hashing", {"sets": small, "passes": 1}),
            "reps": repeat(
                run, sides, "hashing", args.reps, {"sets": sets, "passes": args.hash_passes}
            ),
        }
    if "index" in wanted:
        prime_s = prime(run, sides, "index", {**index_inputs(20_000, 50, work), "rounds": 1})
        raw["index"] = {"prime_s": prime_s, "sizes": {}}
        for n in [int(s) for s in args.index_sizes.split(",")]:
            print(f"index: {n:,} hashes", flush=True)
            inputs = index_inputs(n, args.queries, work)
            spec = {**inputs, "rounds": args.index_rounds}
            reps = args.index_reps_large if n >= 5_000_000 else args.reps
            raw["index"]["sizes"][str(n)] = repeat(run, sides, "index", reps, spec)
            for path in inputs.values():
                Path(path).unlink()
    if "scan" in wanted:
        print("scan: corpus and lists", flush=True)
        inputs = scan_inputs(args.scan_images, args.list_size, work)
        setup = {side.name: run(side, "scan_setup", inputs)["setup_s"] for side in sides}
        warm_only = {**inputs, "sources": {"warm": inputs["warm_source"]}}
        prime_s = prime(run, sides, "scan", warm_only)
        raw["scan"] = {
            "inputs": {"images": args.scan_images, "list_entries": args.list_size},
            "list_setup_s": setup,
            "prime_s": prime_s,
            "reps": repeat(run, sides, "scan", args.reps, inputs),
        }
    if "network" in wanted:
        print("network: simulated case", flush=True)
        inputs = network_inputs(args.sightings, CORPUS)
        warm_only = {**inputs, "sightings": inputs["warm_sightings"]}
        raw["network"] = {
            "inputs": {"sightings": args.sightings},
            "prime_s": prime(run, sides, "network", warm_only),
            "reps": repeat(run, sides, "network", args.reps, inputs),
        }
    return raw


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", default=OLD_DEFAULT, help="earlier revision (default de49adc)")
    parser.add_argument("--new", help="later revision (default: this working tree)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per side")
    parser.add_argument("--workloads", default=",".join(WORKLOAD_NAMES))
    parser.add_argument("--hash-passes", type=int, default=3, help="passes over each set")
    parser.add_argument("--index-sizes", default="1000000")
    parser.add_argument("--index-reps-large", type=int, default=3, help="reps at >= 5M hashes")
    parser.add_argument("--index-rounds", type=int, default=3, help="timed query passes")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--scan-images", type=int, default=240)
    parser.add_argument("--list-size", type=int, default=1_000_000)
    parser.add_argument("--sightings", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: small inputs, 2 reps")
    parser.add_argument("--out", type=Path, help="results file (default before_after.json)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for both sides")
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.hash_passes, args.index_sizes, args.queries = 2, 1, "100000", 200
        args.scan_images, args.list_size, args.sightings = 40, 20_000, 100_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The inputs are made by this tree's code, whatever the venv's editable install points at.
    sys.path.insert(0, str(ROOT / "src"))
    out = args.out or (SMOKE if args.quick else RESULTS)
    started, load_start = time.time(), os.getloadavg()
    CORPUS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="safelight-before-after-"))
    sides = [checkout("old", args.old)]
    try:
        new = checkout("new", args.new) if args.new else Side("new", ROOT, "working tree", False)
        sides.append(new)
        revisions = {side.name: side.describe() for side in sides}
        print(f"old {revisions['old']['commit'][:10]}, new {revisions['new']['commit'][:10]}")
        raw = run_workloads(args, Runner(args.python, work), sides, work)
    finally:
        for side in sides:
            remove(side)
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "benchmark": "before_after",
        "quick_smoke_run": args.quick,
        "revisions": revisions,
        "machine": machine(),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "duration_s": round(time.time() - started, 1),
        "command": " ".join(["bench/before_after.py", *(argv or sys.argv[1:])]),
        "method": (
            f"{args.reps} repetitions per side (index at >= 5M: {args.index_reps_large}), "
            "alternating which side runs first; each side in a fresh process with "
            "PYTHONPATH=<its tree>/src and the same interpreter, same inputs, same untimed "
            "warm-up; medians of the repetitions; speedup = new/old for rates, old/new for "
            "times and memory; noise = the larger side's (max - min) / median"
        ),
        "workloads": compare_workloads(raw),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"wrote {out} ({report['duration_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
