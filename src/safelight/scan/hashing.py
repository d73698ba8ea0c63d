"""Signals for one item's bytes: MD5, SHA-1, SHA-256 always; PDQ and quality for images;
vPDQ frame features for videos.

``ItemHasher`` is the seam the scan is built around. ``BasicHasher`` is the interim real
hasher (hashlib + Pillow full RGB decode + Safelight's bit-exact ``pdq_from_rgb``, the same
flavour as HMA / pdqhash; ``safelight.signals.video`` for vPDQ) used until the photo
pipeline's file-hashing function lands.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Protocol

import numpy as np
from PIL import Image, UnidentifiedImageError

from safelight.constants import DEFAULT_MAX_PIXELS
from safelight.errors import ItemError, MediaError
from safelight.scan.model import HashRecord
from safelight.signals.pdq import pdq_from_rgb
from safelight.signals.video import hash_video_detailed
from safelight.signals.vpdq_io import format_vpdq

# Pillow opens these lazily; anything else that parses is "not an image we hash".
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class ItemHasher(Protocol):
    def hash_bytes(self, data: bytes, name: str) -> HashRecord:
        """Signals of ``data``; ``name`` (the logical path) is only used in messages."""
        ...


def digests(data: bytes) -> tuple[str, str, str]:
    return (
        hashlib.md5(data, usedforsecurity=False).hexdigest(),
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


class BasicHasher:
    """Digests plus PDQ of the full-resolution RGB decode (no EXIF transpose, like HMA)."""

    def __init__(self, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.max_pixels = max_pixels

    def hash_bytes(self, data: bytes, name: str) -> HashRecord:
        md5, sha1, sha256 = digests(data)
        base = HashRecord(len(data), md5, sha1, sha256, "other")
        if not data:
            return _with_error(base, "empty_file", f"{name}: the file has zero bytes")
        try:
            with warnings.catch_warnings():
                # Our own pixel limit below replaces Pillow's warning.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            if looks_like_video(data[:64]):
                return self._video(data, name, base)
            return base  # neither image nor video: digests are its signals
        except _DECODE_ERRORS as exc:
            return _with_error(base, "undecodable", f"{name}: cannot read image header: {exc}")
        with image:
            width, height = image.size
            if width * height > self.max_pixels:
                return _with_error(
                    HashRecord(len(data), md5, sha1, sha256, "image"),
                    "decompression_bomb",
                    f"{name}: {width}x{height} pixels exceeds the limit of {self.max_pixels}",
                )
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    rgb = np.asarray(image.convert("RGB"))
            except _DECODE_ERRORS as exc:
                code = "truncated" if "truncated" in str(exc).lower() else "undecodable"
                record = HashRecord(len(data), md5, sha1, sha256, "image")
                return _with_error(record, code, f"{name}: cannot decode image: {exc}")
        pdq = pdq_from_rgb(rgb)
        return HashRecord(len(data), md5, sha1, sha256, "image", pdq.hex, pdq.quality)

    def _video(self, data: bytes, name: str, base: HashRecord) -> HashRecord:
        video = HashRecord(base.size, base.md5, base.sha1, base.sha256, "video")
        try:
            # One decode thread: the scan already runs one worker per core.
            result = hash_video_detailed(data, max_pixels=self.max_pixels, workers=1, name=name)
        except MediaError as exc:
            return _with_error(video, exc.code, exc.message)
        vpdq = format_vpdq(result.features)
        error = ItemError.from_exception(result.problem) if result.problem else None
        return HashRecord(
            base.size, base.md5, base.sha1, base.sha256, "video", vpdq=vpdq, error=error
        )


# Container signatures FFmpeg reads (ISO BMFF/MP4/MOV, Matroska/WebM, AVI, FLV, MPEG-PS,
# ASF/WMV, Ogg). Raw MPEG-TS has only a one-byte sync mark and is left to digests.
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
_VIDEO_MAGIC = (
    b"\x1a\x45\xdf\xa3",
    b"FLV\x01",
    b"\x00\x00\x01\xba",
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
    b"OggS",
)


def looks_like_video(head: bytes) -> bool:
    if head[4:8] in _ISO_BOXES or head.startswith(_VIDEO_MAGIC):
        return True
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return True
    return False


def _with_error(record: HashRecord, code: str, message: str) -> HashRecord:
    return HashRecord(
        record.size,
        record.md5,
        record.sha1,
        record.sha256,
        record.media,
        record.pdq,
        record.quality,
        ItemError(code, message),
        record.vpdq,
    )
