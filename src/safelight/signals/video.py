"""Video decoding and frame sampling for vPDQ, conformant to Meta's reference.

The rules are those of the C++ reference (vpdq/cpp/vpdq/cpp/hashing/filehasher.cpp,
ffmpegwrapper.cpp, hasher.h):

* the first video stream is decoded; frames are numbered 0, 1, 2, ... in the order the
  decoder outputs them (``AVCodecContext.frame_num - 1``);
* frame rate = the stream's ``avg_frame_rate``, or ``r_frame_rate`` when that is 0 (PyAV:
  ``average_rate`` / ``base_rate``);
* a frame is hashed when ``frame % int(seconds_per_hash * fps) == 0`` (a modulus of 0 -
  seconds_per_hash 0, or fps * seconds_per_hash < 1 - becomes 1: every frame);
* a kept frame is converted to RGB24 by swscale with SWS_AREA (scaled to ``downsample`` if
  given, else at native size, with no 512 pre-resize) and PDQ-hashed from that RGB;
* timestamp = frame / fps, computed in float32 as the reference does.

Bad input raises ``MediaError`` with a code of ``MEDIA_ERROR_CODES`` and a message naming
the file. A video that is cut short or breaks part-way is *partial*: ``hash_video_detailed``
returns the hashes of the decodable prefix and says what is wrong (a partial download can
still match known material); ``hash_video`` raises unless ``allow_partial=True``.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import av
import numpy as np
import numpy.typing as npt

from safelight.constants import (
    DEFAULT_MAX_PIXELS,
    VIDEO_ANALYZE_MICROSECONDS,
    VIDEO_FORMAT_WHITELIST,
    VIDEO_MAX_DECODE_ERRORS,
    VIDEO_MAX_FRAMES,
    VIDEO_PROBE_BYTES,
    VPDQ_SECONDS_PER_HASH,
    VPDQ_SWS_INTERPOLATION,
)
from safelight.errors import MediaError, UsageError
from safelight.signals.hashes import PdqHash
from safelight.signals.pdq import pdq_from_luma, pdq_from_rgb
from safelight.signals.video_container import ContainerCheck, check_container
from safelight.signals.vpdq import VpdqFeature

# "rgb": the reference's swscale call (SWS_AREA) - the default, conformant path.
# "rgb-accurate": adds SWS_ACCURATE_RND, which bypasses swscale's SIMD YUV->RGB; the result
#   no longer depends on the CPU (reproduces the doorknob sample hashes bit for bit).
# "luma": hashes the decoder's Y plane directly, skipping colour conversion (fast path).
PixelPath = Literal["rgb", "rgb-accurate", "luma"]
VideoSource = str | os.PathLike[str] | bytes
_LIMITED_RANGE_SCALE = np.float32(255.0 / 219.0)
_YUV_8BIT = {"yuv420p", "yuv422p", "yuv444p", "yuv411p", "yuv440p", "nv12", "nv21"}
_YUVJ_8BIT = {"yuvj420p", "yuvj422p", "yuvj444p", "yuvj411p", "yuvj440p"}


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container declares about the hashed stream."""

    container: str
    codec: str
    width: int
    height: int
    fps: float
    declared_frames: int
    frame_modulus: int


@dataclass(frozen=True, slots=True)
class VideoHashResult:
    """Features of the decodable frames, and why decoding stopped early if it did."""

    features: list[VpdqFeature]
    info: VideoInfo
    frames_decoded: int
    problem: MediaError | None = field(default=None)

    @property
    def partial(self) -> bool:
        return self.problem is not None


def frame_modulus(seconds_per_hash: float, fps: float) -> int:
    """Keep every n-th frame: ``int(seconds_per_hash * fps)``, at least 1 (filehasher.cpp)."""
    return max(1, int(seconds_per_hash * fps))


def frame_timestamp(frame: int, fps: float) -> float:
    """frame / fps in float32, as the reference stores it (hasher.h ``hashFrame``)."""
    return float(np.float32(frame) / np.float32(fps))


def _describe(source: VideoSource, name: str | None) -> str:
    if name is not None:
        return name
    return "<bytes>" if isinstance(source, bytes) else os.fspath(source)


@contextmanager
def _open_bytes(source: VideoSource, label: str) -> Iterator[tuple[BinaryIO, int]]:
    if isinstance(source, bytes):
        yield io.BytesIO(source), len(source)
        return
    path = Path(source)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after FFmpeg is done
    except OSError as exc:
        raise MediaError(
            f"{label}: cannot open: {exc.strerror or exc}", code="unreadable", path=label
        ) from exc
    try:
        yield handle, os.fstat(handle.fileno()).st_size
    finally:
        handle.close()


def _open_container(stream: BinaryIO, label: str, check: ContainerCheck) -> Any:
    options = {
        "format_whitelist": VIDEO_FORMAT_WHITELIST,
        "probesize": str(VIDEO_PROBE_BYTES),
        "analyzeduration": str(VIDEO_ANALYZE_MICROSECONDS),
    }
    try:
        return av.open(stream, mode="r", container_options=options)
    except av.error.ArgumentError:
        raise MediaError(
            f"{label}: not a video container Safelight decodes "
            "(FFmpeg identified a format outside the video whitelist)",
            code="not_media",
            path=label,
        ) from None
    except (av.FFmpegError, OSError, ValueError) as exc:
        if check.truncated:
            raise MediaError(
                f"{label}: truncated {check.family} file, nothing decodable: {check.detail}",
                code="truncated",
                path=label,
            ) from exc
        if check.family is not None:
            raise MediaError(
                f"{label}: corrupt {check.family} file: FFmpeg cannot read it ({_reason(exc)})",
                code="corrupt_video",
                path=label,
            ) from exc
        raise MediaError(
            f"{label}: not a video file (no known container signature; FFmpeg: {_reason(exc)})",
            code="not_media",
            path=label,
        ) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, av.FFmpegError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__


def _family(container: Any) -> str:
    return str(container.format.name).split(",")[0]


def _video_info(container: Any, stream: Any, label: str, sph: float, max_pixels: int) -> VideoInfo:
    if stream.codec_context is None:  # FFmpeg has no decoder for the stream's codec id
        raise MediaError(
            f"{label}: the video stream's codec is unknown to FFmpeg; cannot decode it",
            code="undecodable",
            path=label,
        )
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    if width <= 0 or height <= 0:
        raise MediaError(
            f"{label}: video stream declares no frame size ({width}x{height})",
            code="corrupt_video",
            path=label,
        )
    _check_pixels(width, height, max_pixels, label, "declares")
    rate = stream.average_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if not fps > 0:
        raise MediaError(
            f"{label}: video stream has no frame rate (avg_frame_rate and r_frame_rate are 0)",
            code="corrupt_video",
            path=label,
        )
    return VideoInfo(
        container=str(container.format.name),
        codec=str(stream.codec_context.name),
        width=width,
        height=height,
        fps=fps,
        declared_frames=int(stream.frames or 0),
        frame_modulus=frame_modulus(sph, fps),
    )


def _check_pixels(width: int, height: int, max_pixels: int, label: str, verb: str) -> None:
    if width * height > max_pixels:
        raise MediaError(
            f"{label}: video {verb} {width}x{height} = {width * height} pixels per frame, "
            f"over the limit of {max_pixels}",
            code="decompression_bomb",
            path=label,
        )


def _luma_plane(frame: Any) -> npt.NDArray[np.uint8] | npt.NDArray[np.float32]:
    """The Y plane as PDQ luma: full-range as is, limited-range (16-235) stretched to 0-255."""
    name = frame.format.name
    if name not in _YUV_8BIT and name not in _YUVJ_8BIT:
        grey: npt.NDArray[np.uint8] = frame.to_ndarray(format="gray")
        return grey
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
    y = rows[:, : frame.width]
    if name in _YUVJ_8BIT or frame.color_range == 2:  # AVCOL_RANGE_JPEG: full range
        return np.ascontiguousarray(y)
    stretched: npt.NDArray[np.float32] = (y.astype(np.float32) - 16) * _LIMITED_RANGE_SCALE
    return stretched


def _frame_hasher(pixels: PixelPath, size: tuple[int, int] | None) -> Callable[[Any], PdqHash]:
    interpolation = av.video.reformatter.Interpolation[VPDQ_SWS_INTERPOLATION]
    if pixels == "rgb-accurate":
        interpolation |= av.video.reformatter.Interpolation.ACCURATE_RND
    width, height = size if size else (None, None)

    def hash_rgb(frame: Any) -> PdqHash:
        rgb = frame.to_ndarray(
            format="rgb24", width=width, height=height, interpolation=interpolation
        )
        return pdq_from_rgb(rgb)

    def hash_luma(frame: Any) -> PdqHash:
        if size is not None:
            frame = frame.reformat(width=width, height=height, interpolation=interpolation)
        return pdq_from_luma(_luma_plane(frame))

    if pixels == "luma":
        return hash_luma
    if pixels in ("rgb", "rgb-accurate"):
        return hash_rgb
    raise UsageError(f"pixels must be 'rgb', 'rgb-accurate' or 'luma', got {pixels!r}")


def _downsample_size(downsample: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if downsample is None or downsample == 0:
        return None
    width, height = (downsample, downsample) if isinstance(downsample, int) else downsample
    if width <= 0 or height <= 0:
        raise UsageError(f"downsample must be positive, got {downsample!r}")
    return int(width), int(height)


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class _Hasher:
    """Hashes kept frames inline or on a small thread pool (PDQ and swscale release the GIL),
    returning features in frame order."""

    def __init__(
        self, hash_frame: Callable[[Any], PdqHash], fps: float, workers: int, label: str
    ) -> None:
        self._hash = hash_frame
        self._fps = fps
        self._label = label
        self._features: list[VpdqFeature] = []
        self._pool = ThreadPoolExecutor(workers) if workers > 1 else None
        self._pending: deque[tuple[int, Future[PdqHash]]] = deque()
        self._max_pending = 2 * workers  # bounds frames held in memory

    def add(self, number: int, frame: Any) -> None:
        if self._pool is None:
            self._store(number, lambda: self._hash(frame))
            return
        self._pending.append((number, self._pool.submit(self._hash, frame)))
        while len(self._pending) > self._max_pending:
            self._collect_one()

    def _collect_one(self) -> None:
        number, future = self._pending.popleft()
        self._store(number, future.result)

    def _store(self, number: int, compute: Callable[[], PdqHash]) -> None:
        try:
            pdq = compute()
        except (av.FFmpegError, ValueError) as exc:
            raise MediaError(
                f"{self._label}: frame {number} cannot be converted for hashing: {_reason(exc)}",
                code="undecodable",
                path=self._label,
            ) from exc
        timestamp = frame_timestamp(number, self._fps)
        self._features.append(VpdqFeature(number, timestamp, pdq.hex, pdq.quality))

    def finish(self) -> list[VpdqFeature]:
        while self._pending:
            self._collect_one()
        return self._features

    def close(self) -> None:
        """Stop the pool; frames still pending are dropped (used on errors, and after)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _decode(
    container: Any,
    stream: Any,
    hasher: _Hasher,
    modulus: int,
    limits: tuple[int, int | None],
    label: str,
) -> tuple[int, MediaError | None]:
    """Decode every frame, hand the kept ones to ``hasher``; (frames decoded, problem).

    A packet the decoder rejects is skipped and decoding goes on (the reference gives up on
    the whole video instead); the result is then partial, since later frames may be numbered
    early. Reading errors end decoding.
    """
    max_pixels, max_frames = limits
    decoded = 0
    failures: list[str] = []
    packets = container.demux(stream)  # ends with an empty packet that drains the decoder
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError as exc:
            failures.append(f"reading stopped after frame {decoded}: {_reason(exc)}")
            break
        try:
            frames = stream.decode(packet)
        except av.FFmpegError as exc:
            failures.append(
                f"a packet after frame {decoded} did not decode ({_reason(exc)}); "
                "later frames are numbered as decoded"
            )
            if len(failures) > VIDEO_MAX_DECODE_ERRORS:
                break
            continue
        for frame in frames:
            if max_frames is not None and decoded >= max_frames:
                return decoded, MediaError(
                    f"{label}: stopped after {max_frames} frames (the max_frames limit); "
                    "the rest of the video is not hashed",
                    code="decompression_bomb",
                    path=label,
                )
            _check_pixels(frame.width, frame.height, max_pixels, label, "decodes a frame of")
            if decoded % modulus == 0:
                hasher.add(decoded, frame)
            decoded += 1
    if not failures:
        return decoded, None
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return decoded, MediaError(
        f"{label}: damaged video stream: {failures[0]}{more}", code="corrupt_video", path=label
    )


def hash_video_detailed(
    source: VideoSource,
    seconds_per_hash: float = VPDQ_SECONDS_PER_HASH,
    downsample: int | tuple[int, int] | None = None,
    *,
    pixels: PixelPath = "rgb",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int | None = VIDEO_MAX_FRAMES,
    workers: int | None = None,
    name: str | None = None,
) -> VideoHashResult:
    """vPDQ features of a video file or its bytes, with what the container declares.

    ``downsample`` scales frames to NxN (or (width, height)) before PDQ, like the
    reference's ``-s``/``downsample_width``; ``name`` labels bytes in error messages.
    Raises ``MediaError`` when nothing is decodable; a video that breaks part-way comes back
    with the features of its decodable prefix and ``problem`` set.
    """
    if not seconds_per_hash >= 0:
        raise UsageError(f"seconds_per_hash must be >= 0, got {seconds_per_hash}")
    size = _downsample_size(downsample)
    hash_frame = _frame_hasher(pixels, size)
    label = _describe(source, name)
    with _open_bytes(source, label) as (raw, file_size):
        if file_size == 0:
            raise MediaError(f"{label}: empty file (0 bytes)", code="empty_file", path=label)
        check = check_container(raw, file_size)
        with _open_container(raw, label, check) as container:
            if not container.streams.video:
                kinds = sorted({s.type for s in container.streams}) or ["no streams"]
                raise MediaError(
                    f"{label}: no video stream ({_family(container)} file with {', '.join(kinds)})",
                    code="not_media",
                    path=label,
                )
            stream = container.streams.video[0]
            info = _video_info(container, stream, label, seconds_per_hash, max_pixels)
            stream.thread_type = "AUTO"
            # FFmpeg's own cap counts padded buffers (a 96x64 frame allocates 128x64), so it
            # gets slack; the exact limit is checked on every decoded frame.
            stream.codec_context.options = {"max_pixels": str(2 * max_pixels + (1 << 16))}
            hasher = _Hasher(hash_frame, info.fps, workers or _default_workers(), label)
            try:
                decoded, problem = _decode(
                    container, stream, hasher, info.frame_modulus, (max_pixels, max_frames), label
                )
                features = hasher.finish()
            finally:
                hasher.close()
    if check.truncated and (problem is None or problem.code == "corrupt_video"):
        problem = MediaError(
            f"{label}: truncated {check.family} file ({check.detail}); "
            f"hashed the {decoded} decodable frame{'s' if decoded != 1 else ''}",
            code="truncated",
            path=label,
        )
    if decoded == 0:
        raise problem or MediaError(
            f"{label}: video stream has no decodable frames", code="corrupt_video", path=label
        )
    return VideoHashResult(features, info, decoded, problem)


def hash_video(
    source: VideoSource,
    seconds_per_hash: float = VPDQ_SECONDS_PER_HASH,
    downsample: int | tuple[int, int] | None = None,
    *,
    pixels: PixelPath = "rgb",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int | None = VIDEO_MAX_FRAMES,
    allow_partial: bool = False,
    workers: int | None = None,
    name: str | None = None,
) -> list[VpdqFeature]:
    """vPDQ features of a video (see ``hash_video_detailed``).

    A list cannot say that it is incomplete, so a partial video raises its ``MediaError``
    (code ``truncated``, ``corrupt_video`` or ``decompression_bomb``) unless
    ``allow_partial`` asks for the prefix's features.
    """
    result = hash_video_detailed(
        source,
        seconds_per_hash,
        downsample,
        pixels=pixels,
        max_pixels=max_pixels,
        max_frames=max_frames,
        workers=workers,
        name=name,
    )
    if result.problem is not None and not allow_partial:
        raise result.problem
    return result.features


@dataclass(frozen=True, slots=True)
class VideoStill:
    """One decoded frame (RGB) and what the container declares, for a poster image."""

    rgb: npt.NDArray[np.uint8]
    info: VideoInfo
    seconds: float | None  # the declared duration, None when the container gives none


def _declared_seconds(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / av.time_base
    return None


def video_still(
    source: VideoSource,
    *,
    at_seconds: float = 1.0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> VideoStill:
    """The first frame at or after ``at_seconds`` (the last one for shorter videos), opened
    with the same safeguards as hashing (format whitelist, probe limits, pixel limits).
    Raises ``MediaError`` when no frame decodes."""
    label = _describe(source, name)
    with _open_bytes(source, label) as (raw, file_size):
        if file_size == 0:
            raise MediaError(f"{label}: empty file (0 bytes)", code="empty_file", path=label)
        check = check_container(raw, file_size)
        with _open_container(raw, label, check) as container:
            if not container.streams.video:
                raise MediaError(f"{label}: no video stream", code="not_media", path=label)
            stream = container.streams.video[0]
            info = _video_info(container, stream, label, VPDQ_SECONDS_PER_HASH, max_pixels)
            stream.codec_context.options = {"max_pixels": str(2 * max_pixels + (1 << 16))}
            frame = _frame_at(container, stream, at_seconds, info.fps, (max_pixels, label))
            seconds = _declared_seconds(container, stream)
    if frame is None:
        raise MediaError(
            f"{label}: video stream has no decodable frames", code="corrupt_video", path=label
        )
    return VideoStill(frame, info, seconds)


def _frame_at(
    container: Any, stream: Any, at_seconds: float, fps: float, limits: tuple[int, str]
) -> npt.NDArray[np.uint8] | None:
    max_pixels, label = limits
    kept: Any = None
    wanted = max(0, int(at_seconds * fps))
    try:
        for number, frame in enumerate(container.decode(stream)):
            _check_pixels(frame.width, frame.height, max_pixels, label, "decodes a frame of")
            kept = frame
            if number >= wanted:
                break
    except av.FFmpegError:
        if kept is None:
            raise MediaError(
                f"{label}: damaged video stream: no frame decodes",
                code="corrupt_video",
                path=label,
            ) from None
    if kept is None:
        return None
    rgb: npt.NDArray[np.uint8] = kept.to_ndarray(format="rgb24")
    return rgb
