"""An adversarial exactness corpus for PDQ, generated here with fixed seeds.

Independent of the benchmark's photo generator and of ``safelight.signals.synthetic``: the
content is chosen to break luma-only and reduced decodes (strong chroma, where YCbCr -> RGB
clamps, chroma edges that subsampling smears, isoluminant patterns whose luma is flat, fine
stripes that reduced decodes alias, near-flat fields whose DCT coefficients crowd the median)
and is saved in every JPEG flavour Safelight routes differently (4:4:4, 4:2:2, 4:2:0,
progressive, greyscale, CMYK) and as PNG, at JPEG qualities 50..98 and sizes from 512x512 to
one 4000x3000.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

Pixels = np.ndarray
SATURATED = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]]
    + [[0, 0, 0], [255, 255, 255], [255, 128, 0], [128, 0, 255]],
    np.uint8,
)


def colour_blocks(rng: np.random.Generator, width: int, height: int) -> Pixels:
    """Rectangles of saturated colour, 4 to 120 px, overlapping at random."""
    out = np.zeros((height, width, 3), np.uint8)
    out[:] = SATURATED[rng.integers(len(SATURATED))]
    for _ in range(width * height // 2000):
        w, h = rng.integers(4, 120, 2)
        x, y = rng.integers(0, width), rng.integers(0, height)
        out[y : y + h, x : x + w] = SATURATED[rng.integers(len(SATURATED))]
    return out


def chroma_gradient(rng: np.random.Generator, width: int, height: int) -> Pixels:
    """Red across, blue down, green against both: every pixel far from grey."""
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    phase = rng.uniform(0, 2 * np.pi)
    red = 255 * x + 0 * y
    blue = 255 * y + 0 * x
    green = 127.5 * (1 + np.sin(6 * np.pi * (x - y) + phase))
    return np.clip(np.stack([red, green, blue], axis=2), 0, 255).astype(np.uint8)


def stripes(rng: np.random.Generator, width: int, height: int) -> Pixels:
    """Stripes of two saturated colours, 1 to 7 px wide, at an angle."""
    period = int(rng.integers(2, 15))
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    along = xx * np.cos(angle) + yy * np.sin(angle)
    first, second = SATURATED[rng.choice(6, 2, replace=False)]
    mask = (along // (period / 2)).astype(np.int64) % 2 == 0
    return np.where(mask[:, :, None], first, second).astype(np.uint8)


def isoluminant(rng: np.random.Generator, width: int, height: int) -> Pixels:
    """A checkerboard of red and a green of about the same luma, over a faint gradient."""
    cell = int(rng.integers(6, 40))
    yy, xx = np.mgrid[0:height, 0:width]
    board = ((xx // cell + yy // cell) % 2).astype(bool)
    red, green = np.array([220, 30, 40]), np.array([20, 120, 30])
    ramp = (yy / height * 30)[:, :, None]
    return np.clip(np.where(board[:, :, None], red, green) + ramp, 0, 255).astype(np.uint8)


def near_flat(rng: np.random.Generator, width: int, height: int) -> Pixels:
    """One colour with +-2 levels of noise and a faint ramp."""
    base = rng.integers(30, 225, 3)
    noise = rng.integers(-2, 3, (height, width, 3))
    ramp = (np.arange(width)[None, :, None] * 3 // width).repeat(height, axis=0)
    return np.clip(base + noise + ramp, 0, 255).astype(np.uint8)


def shapes_on_noise(rng: np.random.Generator, width: int, height: int) -> Pixels:
    """Saturated ellipses and polygons over uniform colour noise."""
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(noise)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        colour = tuple(int(v) for v in SATURATED[rng.integers(len(SATURATED))])
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 2)), y0 + int(rng.integers(20, height // 2))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(5)]
            draw.polygon(points, fill=colour)
    return np.asarray(image)


KINDS: dict[str, Callable[[np.random.Generator, int, int], Pixels]] = {
    "blocks": colour_blocks,
    "gradient": chroma_gradient,
    "stripes": stripes,
    "isoluminant": isoluminant,
    "flat": near_flat,
    "shapes": shapes_on_noise,
}


@dataclass(frozen=True)
class Spec:
    """One corpus image: content, size, and how it is saved."""

    kind: str
    seed: int
    width: int
    height: int
    suffix: str = ".jpg"
    mode: str = "RGB"
    params: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        flavour = "-".join(f"{k}{v}" for k, v in sorted(self.params.items()))
        return f"{self.kind}-{self.seed}-{self.width}x{self.height}-{self.mode}-{flavour}"


def _jpeg(quality: int, subsampling: int, progressive: bool = False) -> dict[str, object]:
    params: dict[str, object] = {"quality": quality, "subsampling": subsampling}
    if progressive:
        params["progressive"] = True
    return params


# (kind, width, height, JPEG quality, subsampling 0=4:4:4 1=4:2:2 2=4:2:0, progressive)
_JPEGS = [
    ("blocks", 512, 512, 90, 2, False),
    ("blocks", 1024, 768, 75, 0, False),
    ("blocks", 800, 1200, 98, 1, True),
    ("blocks", 2000, 1500, 60, 2, False),
    ("gradient", 512, 512, 85, 2, False),
    ("gradient", 1280, 720, 95, 0, False),
    ("gradient", 900, 600, 50, 1, False),
    ("stripes", 512, 512, 92, 2, False),
    ("stripes", 1024, 768, 70, 0, True),
    ("stripes", 768, 1024, 80, 1, False),
    ("stripes", 1600, 1200, 88, 2, True),
    ("isoluminant", 640, 640, 85, 2, False),
    ("isoluminant", 1200, 800, 65, 1, False),
    ("isoluminant", 1000, 1000, 95, 0, True),
    ("flat", 512, 512, 90, 2, False),
    ("flat", 1024, 768, 55, 0, False),
    ("flat", 700, 900, 98, 1, True),
    ("shapes", 512, 512, 80, 2, False),
    ("shapes", 1280, 960, 92, 0, False),
    ("shapes", 960, 1280, 50, 1, True),
    ("shapes", 4000, 3000, 85, 2, False),
]


def specs() -> list[Spec]:
    """Every image of the corpus, in a fixed order with fixed seeds."""
    out = [
        Spec(kind, seed, w, h, params=_jpeg(q, sub, prog))
        for seed, (kind, w, h, q, sub, prog) in enumerate(_JPEGS)
    ]
    seed = len(out)
    for kind in ("stripes", "shapes", "gradient"):
        out.append(Spec(kind, seed, 900, 700, mode="L", params={"quality": 85}))
        out.append(Spec(kind, seed + 1, 800, 600, mode="CMYK", params={"quality": 90}))
        out.append(Spec(kind, seed + 2, 640, 512, suffix=".png"))
        seed += 3
    # Large enough for --fast to reduce them through Pillow (CMYK) and the grey decode.
    out.append(Spec("blocks", seed, 1600, 1200, mode="CMYK", params={"quality": 80}))
    out.append(Spec("shapes", seed + 1, 2000, 1500, mode="L", params={"quality": 75}))
    return out


def render(spec: Spec) -> Image.Image:
    pixels = KINDS[spec.kind](np.random.default_rng(spec.seed), spec.width, spec.height)
    image = Image.fromarray(pixels)
    return image if spec.mode == "RGB" else image.convert(spec.mode)


def write(spec: Spec, folder: Path) -> Path:
    path = folder / f"{spec.name}{spec.suffix}"
    render(spec).save(path, **spec.params)
    return path


def build(folder: Path) -> list[Path]:
    """Write the whole corpus into ``folder`` (about 45 MB, a few seconds)."""
    return [write(spec, folder) for spec in specs()]
