"""Benign generated media for the signals tests, and the HMA-path oracle they compare against."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from safelight.signals.synthetic import photo_like


def hma_hash(path: Path | str) -> tuple[bytes, int]:
    """The HMA/python-threatexchange flavour done carefully: Pillow RGB -> pdqhash.compute."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    bits, quality = pdqhash.compute(rgb)
    value = int("".join(str(int(b)) for b in bits), 2)
    return value.to_bytes(32, "big"), int(quality)


def save(path: Path, pixels: np.ndarray | Image.Image, **params: object) -> Path:
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    image.save(path, **params)
    return path


def jpeg_bytes(seed: int, width: int, height: int, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo_like(seed, width, height)).save(buffer, "JPEG", **params)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG header declaring a size, with valid CRCs and no pixel data (a bomb's front)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def animation(path: Path, fmt: str, frames: int = 3, size: tuple[int, int] = (96, 64)) -> Path:
    """An animated GIF/WebP/PNG whose frames are different generated photos."""
    images = [Image.fromarray(photo_like(100 + i, *size)) for i in range(frames)]
    params: dict[str, object] = {"save_all": True, "append_images": images[1:], "duration": 100}
    if fmt == "WEBP":
        params["lossless"] = True
    images[0].save(path, fmt, **params)
    return path
