"""vPDQ matching: the frame index against comparing every entry, in the same run.

A library of ``--entries`` generated vPDQ entries (``--frames`` reliable frames each, random
hashes, so they are unrelated), plus ``--planted`` entries that are noisy copies of the query
video. Queries: the planted video (a match) and a video of fresh frames (no match). Baseline:
``match_vpdq`` against every entry, as the Matcher did before (python-threatexchange's way).
Both must return the same matches; the run fails loudly if they do not.

    .venv/bin/python bench/vpdq_match.py [--entries 2000] [--frames 300] [--queries 5]

Writes bench/results/vpdq_match.json. Times are CPU seconds (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from safelight.match.vpdq_frames import VpdqCandidates
from safelight.signals.vpdq import VpdqFeature, match_vpdq

ROOT = Path(__file__).resolve().parents[1]


def _video(rng: np.random.Generator, frames: int) -> list[VpdqFeature]:
    raw = rng.integers(0, 256, (frames, 32), dtype=np.uint8)
    return [VpdqFeature(i, float(i), bytes(row).hex(), 100) for i, row in enumerate(raw)]


def _noisy(video: list[VpdqFeature], rng: np.random.Generator, bits: int) -> list[VpdqFeature]:
    out = []
    for feature in video:
        value = bytearray(bytes.fromhex(feature.pdq))
        for bit in rng.choice(256, size=bits, replace=False):
            value[bit // 8] ^= 1 << (bit % 8)
        out.append(VpdqFeature(feature.frame, feature.timestamp, value.hex(), 100))
    return out


def _every_entry(
    entries: list[tuple[int, list[VpdqFeature]]], query: list[VpdqFeature]
) -> dict[int, tuple[float, float]]:
    hits = {}
    for entry_id, features in entries:
        result = match_vpdq(query, features)
        if result.matched:
            hits[entry_id] = (result.query_percent, result.compared_percent)
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--planted", type=int, default=3)
    parser.add_argument("--queries", type=int, default=5, help="repeats per query kind")
    args = parser.parse_args()

    rng = np.random.default_rng(7)
    query_video = _video(rng, args.frames)
    entries = [(i + 1, _video(rng, args.frames)) for i in range(args.entries)]
    entries += [(args.entries + 1 + k, _noisy(query_video, rng, 12)) for k in range(args.planted)]
    fresh = _video(rng, args.frames)

    start = time.process_time()
    index = VpdqCandidates(entries)
    build_s = time.process_time() - start

    timings: dict[str, dict[str, list[float]]] = {}
    for name, query in (("matching_video", query_video), ("unrelated_video", fresh)):
        rows = timings.setdefault(name, {"frame_index": [], "every_entry": []})
        for _ in range(args.queries):
            start = time.process_time()
            fast = index.match(query)
            rows["frame_index"].append(time.process_time() - start)
            start = time.process_time()
            slow = _every_entry(entries, query)
            rows["every_entry"].append(time.process_time() - start)
            if fast != slow:
                raise SystemExit(f"{name}: the frame index and the baseline disagree")
        if name == "matching_video" and len(fast) != args.planted:
            raise SystemExit(f"expected {args.planted} planted matches, found {len(fast)}")

    results: dict[str, object] = {}
    for name, rows in timings.items():
        fast_s = statistics.median(rows["frame_index"])
        slow_s = statistics.median(rows["every_entry"])
        results[name] = {
            "frame_index_cpu_s": round(fast_s, 4),
            "every_entry_cpu_s": round(slow_s, 4),
            "ratio": round(slow_s / fast_s, 1),
        }
        print(f"{name:16s} frame index {fast_s * 1000:8.1f} ms   every entry "
              f"{slow_s * 1000:8.1f} ms   x{slow_s / fast_s:.1f}")  # fmt: skip
    print(f"index build {build_s:.2f} CPU s for {index.frames:,} frames")

    out = {
        "benchmark": "vpdq_match",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "library": {
            "entries": len(entries),
            "frames_per_entry": args.frames,
            "frames_indexed": index.frames,
            "planted_matches": args.planted,
        },
        "method": "CPU seconds, median of --queries repeats; same answers asserted",
        "index_build_cpu_s": round(build_s, 3),
        "results": results,
    }
    target = ROOT / "bench" / "results" / "vpdq_match.json"
    target.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
