"""Pictures of captures: the poster kept beside each one, and the blurred previews.

Every capture gets a *poster* at ingest: the image itself (or, for a screen recording, a
frame about one second in, decoded with PyAV as the signals do), oriented as a browser shows
it, reduced to ``HOTLINE_POSTER_SIDE`` and sealed like the original. Previews are rendered
from the poster on the server, never in the browser: reduced to ``HOTLINE_PREVIEW_SIDE``,
greyscale unless the viewer chose colour, and always blurred with a Gaussian whose sigma is
``blur_percent`` of the longest side (3-20%: nothing recognisable survives; the tests measure
it). A page never receives a sharper picture than that without a reveal.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps

from safelight.constants import (
    HOTLINE_POSTER_SIDE,
    HOTLINE_PREVIEW_SIDE,
    WELLNESS_BLUR_PERCENT_MAX,
    WELLNESS_BLUR_PERCENT_MIN,
)
from safelight.errors import MediaError, UsageError
from safelight.signals.pillow_decode import open_image, pillow_errors
from safelight.signals.video import video_still

POSTER_AT_SECONDS = 1.0  # screen recordings often open on a blank or a loading page


@dataclass(frozen=True, slots=True)
class Decoded:
    """What ingest learns by decoding a capture: its size, duration and poster (PNG)."""

    width: int
    height: int
    seconds: float | None
    poster_png: bytes


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def _poster(image: Image.Image) -> bytes:
    rgb = image.convert("RGB")
    rgb.thumbnail((HOTLINE_POSTER_SIDE, HOTLINE_POSTER_SIDE), Image.Resampling.LANCZOS)
    return png_bytes(rgb)


def decode_image(data: bytes, fmt: str, name: str, max_pixels: int) -> Decoded:
    """Decode every pixel (a truncated or hostile file fails here, with a MediaError naming
    it) and keep the first frame, oriented as its EXIF says, as the poster."""
    with pillow_errors(name, fmt):
        with open_image(data, fmt, name, max_pixels) as image:
            image.load()
            oriented = ImageOps.exif_transpose(image) or image
            return Decoded(oriented.width, oriented.height, None, _poster(oriented))


def decode_video(data: bytes, name: str, max_pixels: int) -> Decoded:
    still = video_still(data, at_seconds=POSTER_AT_SECONDS, max_pixels=max_pixels, name=name)
    frame = Image.fromarray(still.rgb, "RGB")
    return Decoded(still.info.width, still.info.height, still.seconds, _poster(frame))


def check_blur(percent: int) -> int:
    if not WELLNESS_BLUR_PERCENT_MIN <= percent <= WELLNESS_BLUR_PERCENT_MAX:
        raise UsageError(
            f"blur_percent must be {WELLNESS_BLUR_PERCENT_MIN} to {WELLNESS_BLUR_PERCENT_MAX}, "
            f"not {percent}: previews are never shown unblurred",
            field="blur_percent",
        )
    return percent


def render_preview(poster_png: bytes, *, blur_percent: int, greyscale: bool) -> bytes:
    """The blurred (and by default greyscale) preview of a poster, as PNG."""
    check_blur(blur_percent)
    with pillow_errors("poster", "png"), Image.open(io.BytesIO(poster_png), formats=["PNG"]) as im:
        image = im.convert("L" if greyscale else "RGB")
    if image.width < 1 or image.height < 1:
        raise MediaError("poster: empty image")
    image.thumbnail((HOTLINE_PREVIEW_SIDE, HOTLINE_PREVIEW_SIDE), Image.Resampling.BOX)
    sigma = max(image.width, image.height) * blur_percent / 100
    return png_bytes(image.filter(ImageFilter.GaussianBlur(sigma)))
