"""Fuzz: random and mutated bytes never crash, hang or escape as anything but MediaError."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.errors import MediaError
from safelight.signals.video import VideoHashResult, hash_video_detailed

from .video_synth import FORMATS, make_video

SEEDS = {kind: make_video(kind, frames=8, fps=10, width=48, height=32) for kind in FORMATS}
# A hang shows up as an example that never finishes; this bound is generous on purpose
# (shared, noisy machines) and is not a speed assertion.
HANG = timedelta(seconds=30)


def check(data: bytes) -> None:
    try:
        result = hash_video_detailed(data, 0, max_frames=500, name="fuzz.mp4")
    except MediaError as exc:
        assert exc.code and "fuzz.mp4" in exc.message
        return
    assert isinstance(result, VideoHashResult)
    assert result.frames_decoded > 0
    assert [f.frame for f in result.features] == list(range(len(result.features)))
    assert result.problem is None or "fuzz.mp4" in result.problem.message


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 6))):
        operation = draw(st.sampled_from(["flip", "overwrite", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if operation == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif operation == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=64))
            data[at : at + len(chunk)] = chunk
        elif operation == "cut":
            del data[at:]
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[at : at + draw(st.integers(1, 256))]
    return bytes(data)


@settings(
    max_examples=int(os.environ.get("SAFELIGHT_FUZZ_EXAMPLES", "150")),
    deadline=HANG,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated())
def test_mutated_videos_never_escape(data: bytes) -> None:
    check(data)


@settings(max_examples=60, deadline=HANG)
@given(st.binary(max_size=4096))
def test_random_bytes_never_escape(data: bytes) -> None:
    check(data)


@settings(max_examples=40, deadline=HANG)
@given(st.sampled_from(sorted(SEEDS)), st.binary(min_size=1, max_size=2048))
def test_valid_header_then_junk(kind: str, junk: bytes) -> None:
    seed = SEEDS[kind]
    check(seed[: len(seed) // 3] + junk)
