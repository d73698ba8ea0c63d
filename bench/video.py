"""Benchmark vPDQ hashing of Meta's doorknob sample (1280x720, 120 frames, 30 fps, h264).

Measured in the same run:

* ``naive``: the obvious PyAV loop - no decoder threads, every frame converted to RGB24,
  PDQ on the kept ones, one thread;
* ``safelight``: ``hash_video`` with its defaults (decoder threads, only kept frames
  converted, PDQ on a small thread pool), for the conformant ``rgb`` path and the ``luma``
  fast path;
* ``vpdq``: Meta's reference binding (pip ``vpdq``), when ``SAFELIGHT_VPDQ_PYTHON`` names a
  Python that has it installed (it needs FFmpeg's development packages to build, so it is not
  a project dependency); it runs in a subprocess, timed inside that process.

Prints video frames decoded per second and ratios to the naive loop; writes
``bench/results/video.json``. Usage: ``.venv/bin/python bench/video.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av

from safelight.signals.pdq import pdq_from_rgb
from safelight.signals.video import frame_modulus, hash_video

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "video.json"
VIDEO_NAME = "doorknob-hd-no-bar.mp4"


def find_video() -> Path:
    for parent in ROOT.parents:
        candidate = parent / "shared" / "conformance" / "vpdq" / "videos" / VIDEO_NAME
        if candidate.is_file():
            return candidate
    sys.exit(f"{VIDEO_NAME} not found under ../shared/conformance/vpdq/videos")


def naive(path: Path, seconds_per_hash: float) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        modulus = frame_modulus(seconds_per_hash, float(stream.average_rate))
        hashed = 0
        for number, frame in enumerate(container.decode(stream)):
            rgb = frame.to_ndarray(format="rgb24", interpolation="AREA")
            if number % modulus == 0:
                pdq_from_rgb(rgb)
                hashed += 1
    return hashed


REFERENCE_SCRIPT = """
import sys, time, vpdq
path, seconds = sys.argv[1], float(sys.argv[2])
vpdq.computeHash(path, seconds_per_hash=seconds)  # warm up
best = min(
    (lambda t: (vpdq.computeHash(path, seconds_per_hash=seconds), time.perf_counter() - t)[1])(
        time.perf_counter()
    )
    for _ in range(int(sys.argv[3]))
)
print(best)
"""


def reference_seconds(path: Path, seconds_per_hash: float, repeat: int) -> float | None:
    python = os.environ.get("SAFELIGHT_VPDQ_PYTHON")
    if not python:
        return None
    command = [python, "-c", REFERENCE_SCRIPT, str(path), str(seconds_per_hash), str(repeat)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def best_of(repeat: int, run: Callable[[], object]) -> float:
    run()  # warm caches and numba
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = find_video()
    with av.open(str(path)) as container:
        frames = container.streams.video[0].frames
    rows = []
    for seconds_per_hash in (0.0, 1.0):
        timings: dict[str, float | None] = {
            "naive": best_of(args.repeat, lambda s=seconds_per_hash: naive(path, s)),
            "safelight_rgb": best_of(args.repeat, lambda s=seconds_per_hash: hash_video(path, s)),
            "safelight_rgb_1_thread": best_of(
                args.repeat, lambda s=seconds_per_hash: hash_video(path, s, workers=1)
            ),
            "safelight_luma": best_of(
                args.repeat, lambda s=seconds_per_hash: hash_video(path, s, pixels="luma")
            ),
            "vpdq_reference": reference_seconds(path, seconds_per_hash, args.repeat),
        }
        baseline = timings["naive"]
        assert baseline is not None
        for name, seconds in timings.items():
            if seconds is None:
                continue
            row = {
                "seconds_per_hash": seconds_per_hash,
                "implementation": name,
                "seconds": round(seconds, 4),
                "video_frames_per_second": round(frames / seconds, 1),
                "speedup_vs_naive": round(baseline / seconds, 2),
            }
            rows.append(row)
            print(
                f"sph={seconds_per_hash:<4} {name:24s} {row['video_frames_per_second']:8.1f} "
                f"frames/s  x{row['speedup_vs_naive']:.2f} vs naive"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "video",
        "video": VIDEO_NAME,
        "frames": frames,
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),  # the machine is shared
        "machine": platform.machine(),
        "python": platform.python_version(),
        "pyav": av.__version__,
        "ffmpeg": av.ffmpeg_version_info,
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
