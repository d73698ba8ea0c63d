"""Run the fuzz harnesses with atheris and record what each one did.

    python fuzz/run.py [--runs N] [--max-time S] [--targets sniff,photo] [--scratch DIR]
    python fuzz/run.py --make-seeds     # regenerate fuzz/seeds/<target>/ (tiny benign files)

Each harness runs in a child process of its own (atheris ends the process when libFuzzer
stops) for N inputs or S seconds, whichever comes first, starting from the committed seeds
plus the scratch corpus of earlier runs. New corpus entries and crash reproducers go to the
scratch folder (outside git: ``$FUZZ_SCRATCH``, default ``/tmp/safelight-fuzz``); the figures
(inputs tried, crashes, seconds, inputs/s) go to ``fuzz/results/<target>.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from fuzz import TARGETS  # noqa: E402 - after the path set-up above

SEEDS = ROOT / "fuzz" / "seeds"
RESULTS = ROOT / "fuzz" / "results"
# numba compiles these modules' functions from their bytecode: atheris' coverage hooks would
# break that compilation, so they run uninstrumented (their oracles are fuzzed instead).
# Modules with numba-compiled functions: atheris must not instrument them (numba cannot
# compile the coverage hooks it inserts). Found by scanning the source, so a new kernel module
# is never missed (a hand-kept list once missed network.hashtables and broke network_logs).
JIT_MARKERS = re.compile(r"\bnjit\b|numba\.jit\b|@jit\b|numba\.vectorize\b")


def numba_modules() -> list[str]:
    source = ROOT / "src"
    return sorted(
        ".".join(path.relative_to(source).with_suffix("").parts)
        for path in (source / "safelight").rglob("*.py")
        if JIT_MARKERS.search(path.read_text(encoding="utf-8"))
    )


# Longest input per target: media and archives need room; text parsers find more when short.
MAX_LEN = {"photo": 65536, "video": 65536, "archives": 65536, "mmdb": 16384}
# Pure-Python parsers outside Safelight that a harness feeds its bytes to, instrumented too so
# that coverage guides the mutations into them: maxminddb's decoder (geo.py reads with it), the
# standard library's zip, tar and gzip readers, Pillow's format plugins (headers, chunks, tags).
INSTRUMENT_ALSO = {
    "mmdb": ["maxminddb"],
    "archives": ["zipfile", "tarfile", "gzip"],
    "photo": ["PIL"],
}
HANG_SECONDS = 30  # one input taking longer than this is reported as a hang (a crash)


def make_seeds(targets: list[str]) -> None:
    for target in targets:
        module = importlib.import_module(f"fuzz.{target}")
        folder = SEEDS / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, data in module.seeds().items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(list(folder.iterdir()))} seeds")


def child(target: str, runs: int, max_time: int, scratch: Path) -> None:
    """Inside the child: instrument Safelight, load the harness, hand it to libFuzzer."""
    import atheris

    include = ["safelight", "fuzz", *INSTRUMENT_ALSO.get(target, [])]
    with atheris.instrument_imports(include=include, exclude=numba_modules()):
        module = importlib.import_module(f"fuzz.{target}")
    # Warm up first: the seeds compile every numba kernel the harness reaches, which can take
    # longer than the hang limit on a busy machine and would be reported as a hang.
    for seed in sorted((SEEDS / target).iterdir()):
        module.TestOneInput(seed.read_bytes())
    corpus = scratch / target / "corpus"
    crashes = scratch / target / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        f"-runs={runs}",
        f"-max_total_time={max_time}",
        f"-timeout={HANG_SECONDS}",
        f"-max_len={MAX_LEN.get(target, 4096)}",
        "-rss_limit_mb=4096",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/",
        str(corpus),
        str(SEEDS / target),
    ]
    atheris.Setup(argv, module.TestOneInput)
    atheris.Fuzz()


def _figure(pattern: str, text: str) -> int | None:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else None


def run_target(target: str, runs: int, max_time: int, scratch: Path) -> dict[str, object]:
    crashes = scratch / target / "crashes"
    before = set(crashes.iterdir()) if crashes.is_dir() else set()
    log = scratch / target / "last-run.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--child", target, "--runs", str(runs)]
    command += ["--max-time", str(max_time), "--scratch", str(scratch)]
    started = time.monotonic()
    with log.open("wb") as out:
        # Slack over max_time for the start-up and the initial corpus; a stuck child is a hang.
        try:
            code = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=max_time + 600
            ).returncode
        except subprocess.TimeoutExpired:
            code = -9
    seconds = time.monotonic() - started
    text = log.read_text(errors="replace")
    inputs = _figure(r"stat::number_of_executed_units:\s*(\d+)", text)
    if inputs is None:
        inputs = _figure(r"#(\d+)\s", text) or 0
    found = sorted(str(p) for p in (set(crashes.iterdir()) - before)) if crashes.is_dir() else []
    fuzz_seconds = _figure(r"Done \d+ runs in (\d+) second", text)
    result: dict[str, object] = {
        "target": target,
        "inputs": inputs,
        "crashes": len(found) if found else int(code != 0),
        "crash_files": found,
        "exit_code": code,
        "seconds": round(seconds, 1),
        "fuzz_seconds": fuzz_seconds,
        "inputs_per_second": round(inputs / max(seconds, 1e-9), 1),
        "coverage": _figure(r"cov: (\d+)", text),
        "corpus_entries": len(list((scratch / target / "corpus").iterdir())),
        "runs_asked": runs,
        "max_time_asked": max_time,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "log": str(log),
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("FUZZ_RUNS", 100_000)))
    parser.add_argument(
        "--max-time", type=int, default=int(os.environ.get("FUZZ_SECONDS", 600)),
        help="seconds per harness at most",
    )  # fmt: skip
    parser.add_argument("--targets", default=os.environ.get("FUZZ_TARGETS", ",".join(TARGETS)))
    parser.add_argument(
        "--scratch", type=Path, default=Path(os.environ.get("FUZZ_SCRATCH", "/tmp/safelight-fuzz"))
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--make-seeds", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    if args.child:
        child(args.child, args.runs, args.max_time, args.scratch)
        return 0
    if args.make_seeds:
        make_seeds(targets)
        return 0
    args.results.mkdir(parents=True, exist_ok=True)
    failed = 0
    for target in targets:
        result = run_target(target, args.runs, args.max_time, args.scratch)
        (args.results / f"{target}.json").write_text(json.dumps(result, indent=2) + "\n")
        failed += bool(result["crashes"])
        print(
            f"{target:18} {result['inputs']:>9} inputs {result['seconds']:>7}s "
            f"{result['inputs_per_second']:>8}/s crashes {result['crashes']}",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
