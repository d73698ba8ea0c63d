"""Benign synthetic photo-like images for tests, the demo and the benchmarks.

Safelight never ships or downloads real photographs for testing: every image here is drawn
from a seed (smooth colour fields, soft shapes, cloud texture, sensor-like grain, a caption),
so it is reproducible, harmless and has the gradients and JPEG statistics PDQ sees in photos.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

# Default JPEG quality of generated corpora: a typical camera/phone export setting.
JPEG_QUALITY = 85


def _upscaled_noise(
    rng: np.random.Generator, height: int, width: int, cells: int, channels: int
) -> npt.NDArray[np.float32]:
    """Smooth noise: a coarse random grid resized up with bicubic interpolation (0..1)."""
    grid_h = max(2, cells * height // max(height, width))
    grid_w = max(2, cells * width // max(height, width))
    planes = []
    for _ in range(channels):
        coarse = rng.integers(0, 256, (grid_h, grid_w), dtype=np.uint8)
        plane = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
        planes.append(np.asarray(plane, np.float32) / 255.0)
    return np.stack(planes, axis=2)


def _shapes_layer(rng: np.random.Generator, height: int, width: int) -> Image.Image:
    """Soft-edged ellipses, polygons and bars drawn at half size, with a caption."""
    small = (max(1, width // 2), max(1, height // 2))
    canvas = Image.new("RGBA", small, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    short = max(4, min(small))
    for _ in range(int(rng.integers(6, 16))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3)) + (int(rng.integers(140, 256)),)
        cx, cy = int(rng.integers(0, small[0])), int(rng.integers(0, small[1]))
        radius = int(rng.integers(max(2, short // 24), max(3, short // 3)))
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse([cx - radius, cy - radius // 2, cx + radius, cy + radius], fill=colour)
        elif kind == 1:
            points = [
                (cx + int(rng.integers(-radius, radius)), cy + int(rng.integers(-radius, radius)))
                for _ in range(int(rng.integers(3, 7)))
            ]
            draw.polygon(points, fill=colour)
        else:
            draw.rectangle([cx - radius, cy - radius // 4, cx + radius, cy + radius // 4], colour)
    if short >= 64:
        draw.text((short // 16, short // 16), f"safelight #{rng.integers(0, 10**6)}", fill="white")
    canvas = canvas.filter(ImageFilter.GaussianBlur(1.5))
    return canvas.resize((width, height), Image.Resampling.BILINEAR)


def photo_like(seed: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """A reproducible HxWx3 uint8 photo-like image: same seed, same pixels."""
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    rng = np.random.default_rng(seed)
    # Low-frequency colour field (sky, walls) plus mid-frequency "cloud" texture.
    base = _upscaled_noise(rng, height, width, 4, 3) * 200.0 + 25.0
    texture = _upscaled_noise(rng, height, width, 24, 1) - 0.5
    base += texture * float(rng.uniform(30, 70))
    # Fine detail (foliage, fabric) so JPEG sizes and entropy decode cost resemble photos.
    detail = _upscaled_noise(rng, height, width, max(2, max(height, width) // 6), 1) - 0.5
    base += detail * float(rng.uniform(30, 60))
    background = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    composed = background.convert("RGBA")
    composed.alpha_composite(_shapes_layer(rng, height, width))
    pixels = np.asarray(composed.convert("RGB"), np.int16)
    # Sensor-like grain, cheap: small integer noise on every pixel.
    grain = rng.integers(-8, 9, pixels.shape, dtype=np.int16)
    result: npt.NDArray[np.uint8] = np.clip(pixels + grain, 0, 255).astype(np.uint8)
    return result


def encode(pixels: npt.NDArray[np.uint8], fmt: str, quality: int = JPEG_QUALITY) -> bytes:
    """Encode pixels as JPEG/PNG/WebP/... bytes with Pillow."""
    buffer = io.BytesIO()
    image = Image.fromarray(pixels)
    if fmt.upper() in ("JPEG", "WEBP"):
        image.save(buffer, fmt, quality=quality)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def write_photo(
    path: Path, seed: int, width: int, height: int, quality: int = JPEG_QUALITY
) -> Path:
    """Write one generated photo; the format follows the suffix (.jpg, .png, .webp, ...)."""
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: no image format for suffix {path.suffix!r}")
    path.write_bytes(encode(photo_like(seed, width, height), fmt, quality))
    return path
