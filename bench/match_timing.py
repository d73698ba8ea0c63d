"""``safelight match --hash`` wall time against a large list: index build, reopen, catch-up.

Baseline in the same run: the first open (a full index build from the store). Measured:
a second open (index current: manifest read + a generations check), and an open after a
further import (incremental catch-up of the new entries). Each is one CLI process, so the
figures include Python start-up and imports.

    .venv/bin/python bench/match_timing.py [--entries 1000000] [--added 100000]

Writes bench/results/match_timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
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


def timed(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--added", type=int, default=100_000)
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
        import_more_s = timed(env, "lists", "import", "BIG", str(home / "more.txt"))
        catch_up = timed(env, "match", "--hash", added[0])
        after = timed(env, "match", "--hash", added[0])
    result = {
        "name": "match_timing",
        "store": "sqlite",
        "entries": args.entries,
        "added": args.added,
        "import_seconds": round(import_s, 2),
        "import_added_seconds": round(import_more_s, 2),
        "first_match_seconds_build": round(first, 2),
        "second_match_seconds": round(second, 2),
        "match_after_add_seconds_catch_up": round(catch_up, 2),
        "match_after_catch_up_seconds": round(after, 2),
        "ratio_build_over_reopen": round(first / second, 1),
        "ratio_build_over_catch_up": round(first / catch_up, 1),
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / "match_timing.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
