"""Regenerate the oracle data: small synthetic videos and Meta's vPDQ hashes of them.

    # 1. the videos, with the project's environment (PyAV):
    .venv/bin/python tests/data/vpdq-oracle/make_reference.py videos
    # 2. the hashes, in a separate environment with the reference binding installed
    #    (pip install vpdq==0.2.5; it builds against the system FFmpeg dev packages):
    /path/to/vpdq-env/bin/python tests/data/vpdq-oracle/make_reference.py hashes

The videos are committed because encoders change between FFmpeg versions; the hashes were
made by vpdq 0.2.5 (the C++ reference through its Python binding) built on Debian 12's
FFmpeg 5.1. Benign content only: drifting gradients and a moving square.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name -> (kind in tests/video_synth.FORMATS, frames, fps, width, height)
VIDEOS = {
    "ntsc.mp4": ("mp4", 40, Fraction(30000, 1001), 64, 48),
    "slow.mkv": ("mkv", 4, Fraction(1, 2), 48, 32),
    "f24.webm": ("webm", 30, 24, 64, 48),
    "mpeg4.avi": ("avi", 20, 10, 64, 48),
    "mjpeg.mov": ("mov", 20, 10, 64, 48),
    "odd.mp4": ("mp4", 12, 15, 66, 38),
}
SETTINGS = [(0, 0), (1, 0), (0.5, 0), (0, 128)]


def make_videos() -> None:
    sys.path.insert(0, str(HERE.parents[2]))
    from tests.video_synth import make_video

    for name, (kind, frames, fps, width, height) in VIDEOS.items():
        (HERE / name).write_bytes(make_video(kind, frames, fps, width, height))


def make_hashes() -> None:
    import vpdq  # type: ignore[import-not-found]

    out: dict[str, dict[str, list[list[object]]]] = {}
    for name in VIDEOS:
        out[name] = {}
        for seconds, size in SETTINGS:
            features = vpdq.computeHash(
                str(HERE / name),
                seconds_per_hash=seconds,
                downsample_width=size,
                downsample_height=size,
            )
            out[name][f"{seconds}|{size}"] = [
                [f.frame_number, f.quality, f.hex, f.timestamp] for f in features
            ]
    (HERE / "vpdq-0.2.5.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    {"videos": make_videos, "hashes": make_hashes}[sys.argv[1]]()
