"""Benign generated images for tests, benchmarks and the demo: gradients, shapes and noise.

Deterministic by seed, photo-like enough that PDQ quality is high (so they are matchable),
and different enough from each other that unrelated images land far apart in Hamming space.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw


def photo_like(seed: int, width: int = 640, height: int = 480) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0), rng.uniform(0, 6.3)
        wave = np.sin(2 * np.pi * (fx * x / width + fy * y / height) + phase)
        channels.append(127 + 90 * wave + rng.normal(0, 12, size=(height, width)))
    rgb = np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        x1 = int(rng.integers(x0 + 10, width))
        y1 = int(rng.integers(y0 + 10, height))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


def jpeg_bytes(seed: int, width: int = 640, height: int = 480, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    photo_like(seed, width, height).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(seed: int, width: int = 320, height: int = 240) -> bytes:
    buffer = io.BytesIO()
    photo_like(seed, width, height).save(buffer, format="PNG")
    return buffer.getvalue()
