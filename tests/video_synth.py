"""Benign synthetic test videos made with PyAV: a moving gradient and a moving white square.

Every container/codec pair here is one that PyAV's bundled FFmpeg can encode, so the tests
need no media files of their own.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# (file suffix, FFmpeg muxer, encoder, pixel format)
FORMATS = {
    "mp4": ("mp4", "libx264", "yuv420p"),
    "webm": ("webm", "libvpx-vp9", "yuv420p"),
    "mkv": ("matroska", "libx264", "yuv420p"),
    "avi": ("avi", "mpeg4", "yuv420p"),
    "mov": ("mov", "mjpeg", "yuvj420p"),
    "mjpeg.avi": ("avi", "mjpeg", "yuvj420p"),
    "ffv1.mkv": ("matroska", "ffv1", "bgr0"),  # lossless, decodes to an RGB-family format
}


def synthetic_rgb(index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index``: a horizontal gradient drifting right, a vertical one, a square."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = (x * 255 // max(1, width - 1) + index * 8) % 256
    image[..., 1] = y * 255 // max(1, height - 1)
    image[..., 2] = ((x // 16 + y // 16 + index) % 2) * 120
    centre_x = (index * 5) % width
    square = (np.abs(x - centre_x) < width // 10) & (np.abs(y - height // 2) < height // 6)
    image[square] = 255
    return image


def make_video(
    kind: str = "mp4",
    frames: int = 30,
    fps: int | Fraction = 10,
    width: int = 96,
    height: int = 64,
) -> bytes:
    """Encode ``frames`` synthetic frames into container ``kind`` (a key of FORMATS)."""
    muxer, codec, pix_fmt = FORMATS[kind]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=muxer) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "g": "12"}
        if codec == "libvpx-vp9":
            stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(synthetic_rgb(index, width, height), "rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()


def make_audio_only() -> bytes:
    """An m4a (mp4 container) with an AAC tone and no video stream."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000, layout="mono")
        tone = np.sin(np.arange(1024, dtype=np.float32) / 5)[None, :] * 0.3
        for index in range(8):
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, index * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()


def make_zero_frame_avi() -> bytes:
    """An AVI with a declared MPEG-4 video stream that holds no frame."""
    buffer = io.BytesIO()
    out = av.open(buffer, "w", format="avi")
    stream = out.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    out.start_encoding()
    out.close()
    return buffer.getvalue()


def make_declared_huge(width: int, height: int) -> bytes:
    """A Matroska file declaring raw grey frames of width x height, with tiny packets."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("rawvideo", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "gray"
        for index in range(2):
            packet = av.Packet(b"\x80" * 64)
            packet.stream, packet.pts, packet.dts = stream, index, index
            packet.time_base = Fraction(1, 10)
            out.mux(packet)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
