"""Format sniffing from leading bytes, and the name only as a tie-breaker."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, features

from safelight.signals.files import _video_module, hash_file
from safelight.signals.options import HashOptions
from safelight.signals.sniff import Sniffed, media_from_name, sniff_bytes
from safelight.signals.synthetic import photo_like


def encoded(fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo_like(1, 32, 24)).save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", "jpeg"),
        ("PNG", "png"),
        ("GIF", "gif"),
        ("WEBP", "webp"),
        ("BMP", "bmp"),
        ("TIFF", "tiff"),
        ("AVIF", "avif"),
    ],
)
def test_image_formats_by_magic(fmt: str, expected: str) -> None:
    if fmt == "AVIF" and not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF support")
    assert sniff_bytes(encoded(fmt)[:512]) == Sniffed("photo", expected)


def test_iso_media_brands() -> None:
    def ftyp(major: bytes, *compatible: bytes) -> bytes:
        body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
        return (len(body) + 4).to_bytes(4, "big") + body

    assert sniff_bytes(ftyp(b"heic", b"mif1")) == Sniffed("photo", "heif")
    assert sniff_bytes(ftyp(b"mif1", b"avif")) == Sniffed("photo", "avif")
    assert sniff_bytes(ftyp(b"isom", b"iso2", b"mp41")) == Sniffed("video", "mp4")
    assert sniff_bytes(ftyp(b"qt  ")) == Sniffed("video", "quicktime")
    assert sniff_bytes(b"\x1aE\xdf\xa3" + bytes(20)) == Sniffed("video", "matroska")
    assert sniff_bytes(b"RIFF\x00\x00\x00\x00AVI LIST") == Sniffed("video", "avi")
    packets = (b"\x47" + bytes(187)) * 2
    assert sniff_bytes(packets) == Sniffed("video", "mpegts")
    assert sniff_bytes(b"BM") is None  # too short to trust
    assert sniff_bytes(b"hello world") is None


def test_names_only_break_ties() -> None:
    assert media_from_name("a/B.JPG") == "photo"
    assert media_from_name("clip.webm") == "video"
    assert media_from_name("notes.txt") == "other"
    assert media_from_name("no-suffix") == "other"


def _tiny_mp4(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(10):
            pixels = photo_like(index, 64, 48)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_videos_dispatch_to_vpdq_when_the_module_is_present(tmp_path: Path) -> None:
    path = _tiny_mp4(tmp_path / "clip.mp4")
    record = hash_file(str(path))
    assert record.media == "video" and record.format == "mp4"
    if _video_module() is None:
        # The vPDQ module lands from a parallel branch; until then a clean, named refusal.
        assert record.error is not None and record.error.code == "unsupported_format"
        assert str(path) in record.error.message
    else:
        assert record.error is None and record.vpdq
        assert record.to_dict()["vpdq"][0]["frame"] == 0
    skipped = hash_file(str(path), HashOptions(signals=frozenset({"sha256"})))
    assert skipped.error is None and skipped.vpdq is None and skipped.digests["sha256"]
