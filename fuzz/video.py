"""The video container path: container checks and vPDQ decoding of bytes (PyAV/FFmpeg)."""

from __future__ import annotations

import io

from safelight.signals.video import hash_video_detailed
from safelight.signals.video_container import check_container

from .common import NAME, check, error_tree_is_fine


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    stream = io.BytesIO(data)
    container = check_container(stream, len(data))
    check(stream.tell() == 0, "check_container moved the stream")
    check(container.truncated == bool(container.detail), f"inconsistent check {container}")
    with error_tree_is_fine():
        result = hash_video_detailed(
            data, 0, max_frames=60, max_pixels=1 << 20, workers=1, name=NAME
        )
        check(result.frames_decoded > 0, "a result with no decoded frame")
        frames = [f.frame for f in result.features]
        check(frames == list(range(len(frames))), f"frames out of order: {frames[:10]}")
        check(result.problem is None or NAME in result.problem.message, "unnamed problem")


def seeds() -> dict[str, bytes]:
    from tests.video_synth import make_video

    return {
        kind.replace(".", "-"): make_video(kind, frames=2, fps=10, width=16, height=16)
        for kind in ("mp4", "mkv", "mov", "webm")
    }
