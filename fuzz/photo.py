"""Image decode wrappers: sniffed bytes through ``hash_photo`` (libjpeg-turbo and Pillow)."""

from __future__ import annotations

from PIL import Image

from safelight.signals.options import HashOptions
from safelight.signals.photo import hash_photo
from safelight.signals.sniff import SNIFF_BYTES, sniff_bytes

from .common import NAME, check, encoded, error_tree_is_fine, gradient

# Small limits keep one input cheap; the limits themselves are part of what is fuzzed.
MODES = (
    HashOptions(max_pixels=1 << 20, max_frames=4),
    HashOptions(max_pixels=1 << 20, max_frames=4, mode="fast", exif_transpose=True),
    HashOptions(max_pixels=1 << 20, max_frames=4, mode="reference", all_frames=True),
)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    sniffed = sniff_bytes(data[:SNIFF_BYTES])
    if sniffed is None or sniffed.media != "photo" or sniffed.format is None:
        return
    options = MODES[len(data) % len(MODES)]
    with error_tree_is_fine():
        result = hash_photo(data, sniffed.format, NAME, options)
        check(result.width >= 1 and result.height >= 1, f"empty size {result}")
        check(result.pdq is not None, "a decoded photo without a PDQ hash")


def seeds() -> dict[str, bytes]:
    small = gradient(8, 8)
    return {
        "jpeg": encoded("JPEG", small, quality=80),
        "jpeg-grey": encoded("JPEG", small.convert("L")),
        "jpeg-cmyk": encoded("JPEG", small.convert("CMYK")),
        "png": encoded("PNG", small),
        "png-palette": encoded("PNG", small.convert("P")),
        "gif": encoded("GIF", small),
        "gif-anim": encoded("GIF", small, save_all=True, append_images=[gradient(8, 8)]),
        "bmp": encoded("BMP", small),
        "tiff": encoded("TIFF", small),
        "webp": encoded("WEBP", small, lossless=True),
        "png-16bit": encoded("PNG", Image.new("I;16", (4, 4), 1000)),
    }
