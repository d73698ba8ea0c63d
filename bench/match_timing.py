"""``safelight match --hash`` wall time against a large list: index build, reopen, catch-up.

Baseline in the same run: the first open (a full index build from the store). Measured:
a second open (index current: manifest read + a generations check), and an open after a
further import (incremental catch-up of the new entries). Each is one CLI process, so the
figures include Python start-up and imports; ``safelight --help`` (best of 3) is that floor.

    .venv/bin/python bench/match_timing.py [--entries 1000000] [--added 100000]
                                           [--baseline-rev bb42239]

With ``--baseline-rev``, the current-index reopen is also timed with the ``src/`` of that
git revision (extracted to a temporary folder) against the same store and index, runs
interleaved, median of ``--repeat``: a before/after of the reopen cost in one run. CPU
seconds (user + sys of the child) are reported beside wall seconds: the machine is shared,
and wall time under load mostly measures the other users.

Writes bench/results/match_timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent / "safelight"


def write_hashes(path: Path, rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    values = [bytes(row).hex() for row in raw]
    path.write_text("".join(f"pdq {v}\n" for v in values))
    return values


def timed(env: dict[str, str], *args: str, src: Path | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one CLI process; ``src`` runs another checkout's code."""
    command = [str(BIN), *args]
    if src is not None:
        code = f"import sys; sys.path.insert(0, {str(src)!r}); from safelight.cli import main; "
        command = [sys.executable, "-c", code + "main()", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr}")
    return elapsed, cpu


def reopen_before_after(
    env: dict[str, str], query: str, rev: str, repeat: int, tmp: Path
) -> dict[str, float]:
    """Medians of the current-index reopen with ``rev``'s code and with this checkout's."""
    old_src = tmp / "baseline"
    old_src.mkdir()
    archive = subprocess.run(["git", "archive", rev, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive.stdout, check=True)
    src = old_src / "src"
    timed(env, "match", "--hash", query, src=src)  # compiles that copy's numba cache
    old, new = [], []
    for _ in range(repeat):
        old.append(timed(env, "match", "--hash", query, src=src))
        new.append(timed(env, "match", "--hash", query))
    return {
        "baseline_rev": rev,  # type: ignore[dict-item]
        "reopen_wall_seconds_baseline": round(statistics.median(w for w, _ in old), 2),
        "reopen_cpu_seconds_baseline": round(statistics.median(c for _, c in old), 2),
        "reopen_wall_seconds_now": round(statistics.median(w for w, _ in new), 2),
        "reopen_cpu_seconds_now": round(statistics.median(c for _, c in new), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--added", type=int, default=100_000)
    parser.add_argument("--baseline-rev", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {**os.environ, "SAFELIGHT_HOME": str(home)}
        env.pop("SAFELIGHT_DATABASE_URL", None)
        env.pop("SAFELIGHT_DATABASE_SCHEMA", None)
        values = write_hashes(home / "base.txt", rng, args.entries)
        added = write_hashes(home / "more.txt", rng, args.added)
        timed(env, "lists", "create", "BIG")
        import_s = timed(env, "lists", "import", "BIG", str(home / "base.txt"))
        query = values[len(values) // 2]
        first = timed(env, "match", "--hash", query)
        second = timed(env, "match", "--hash", query)
        compared = (
            reopen_before_after(env, query, args.baseline_rev, args.repeat, home)
            if args.baseline_rev
            else {}
        )
        import_more_s = timed(env, "lists", "import", "BIG", str(home / "more.txt"))
        catch_up = timed(env, "match", "--hash", added[0])
        after = timed(env, "match", "--hash", added[0])
        floor = min((timed(env, "--help") for _ in range(3)), key=lambda t: t[0])
    result = {
        "name": "match_timing",
        "store": "sqlite",
        "entries": args.entries,
        "added": args.added,
        "import_seconds": round(import_s[0], 2),
        "import_added_seconds": round(import_more_s[0], 2),
        "first_match_seconds_build": round(first[0], 2),
        "second_match_seconds": round(second[0], 2),
        "second_match_cpu_seconds": round(second[1], 2),
        "match_after_add_seconds_catch_up": round(catch_up[0], 2),
        "match_after_catch_up_seconds": round(after[0], 2),
        "cli_help_seconds_floor": round(floor[0], 2),
        "cli_help_cpu_seconds_floor": round(floor[1], 2),
        "ratio_build_over_reopen": round(first[0] / second[0], 1),
        "ratio_build_over_catch_up": round(first[0] / catch_up[0], 1),
        **compared,
    }
    if compared:
        result["ratio_reopen_cpu_baseline_over_now"] = round(
            compared["reopen_cpu_seconds_baseline"] / compared["reopen_cpu_seconds_now"], 2
        )
        result["ratio_reopen_wall_baseline_over_now"] = round(
            compared["reopen_wall_seconds_baseline"] / compared["reopen_wall_seconds_now"], 2
        )
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / "match_timing.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
