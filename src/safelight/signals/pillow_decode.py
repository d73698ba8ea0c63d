"""Pillow decoding with every failure turned into a MediaError naming the file.

Pillow raises a zoo of exception types on hostile input (OSError, SyntaxError, ValueError,
struct.error, EOFError, DecompressionBombError...) and warns through ``warnings`` (which
``filterwarnings=error`` and some embedders turn into exceptions). Everything Pillow does for
us runs inside ``pillow_errors`` so one bad file is one recorded error, never a crash. We never
set ``ImageFile.LOAD_TRUNCATED_IMAGES``: a truncated image is an error, not a grey bottom half.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar, cast

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from safelight.errors import MediaError

# Sniffed format -> the only Pillow plugins allowed to open it (never EPS/PDF/etc. by accident).
PILLOW_FORMATS: Final = {
    "jpeg": ["JPEG", "MPO"],
    "png": ["PNG"],
    "gif": ["GIF"],
    "webp": ["WEBP"],
    "bmp": ["BMP"],
    "tiff": ["TIFF"],
    "heif": ["HEIF"],
    "avif": ["AVIF"],
}

EXIF_ORIENTATION_TAG: Final = 0x0112

_heif_registered = False


def _ensure_plugin(fmt: str, name: str) -> None:
    """HEIF comes from the optional pillow-heif; AVIF from Pillow's own plugin if built in."""
    global _heif_registered
    if fmt == "heif" and not _heif_registered:
        try:
            import pillow_heif
        except ImportError:
            raise MediaError(
                f"{name}: HEIF/HEIC image, but pillow-heif is not installed "
                "(pip install 'safelight[heif]')",
                code="unsupported_format",
                path=name,
            ) from None
        pillow_heif.register_heif_opener()
        _heif_registered = True
    if fmt == "avif":
        from PIL import features

        if not features.check("avif"):
            raise MediaError(
                f"{name}: AVIF image, but this Pillow was built without AVIF support",
                code="unsupported_format",
                path=name,
            )


def _is_truncation(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, EOFError) or "truncated" in text or "premature end" in text


@contextmanager
def pillow_errors(name: str, fmt: str) -> Iterator[None]:
    """Run Pillow work; map any failure to a MediaError with a code and the file's name."""
    label = fmt.upper()
    try:
        with warnings.catch_warnings():
            # Pillow's warnings (bomb, odd EXIF, palette transparency) are not failures: our own
            # pixel limit is checked from the header before decoding.
            warnings.simplefilter("ignore")
            yield
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaError(f"{name}: {exc}", code="decompression_bomb", path=name) from None
    except MemoryError:
        raise MediaError(
            f"{name}: {label} image needs more memory than is available", path=name
        ) from None
    except UnidentifiedImageError:
        raise MediaError(
            f"{name}: starts like {label} but is not a valid {label} image", path=name
        ) from None
    except Exception as exc:  # noqa: BLE001 - hostile input: every failure becomes a record
        if _is_truncation(exc):
            raise MediaError(
                f"{name}: {label} data ends early (truncated file): {exc}",
                code="truncated",
                path=name,
            ) from None
        raise MediaError(
            f"{name}: {label} decoder failed: {type(exc).__name__}: {exc}", path=name
        ) from None


def check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse images whose header declares more pixels than allowed, before any decoding."""
    if width * height > max_pixels:
        raise MediaError(
            f"{name}: image declares {width}x{height} = {width * height:,} pixels, over the "
            f"limit of {max_pixels:,} pixels",
            code="decompression_bomb",
            path=name,
        )
    if width < 1 or height < 1:
        raise MediaError(f"{name}: image declares an empty size {width}x{height}", path=name)


def open_image(source: bytes | str, fmt: str, name: str, max_pixels: int) -> Image.Image:
    """Open (header only) with the one plugin the sniffed format allows; check the size."""
    _ensure_plugin(fmt, name)
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    with _own_pixel_limit():
        image = Image.open(handle, formats=PILLOW_FORMATS[fmt])
    check_pixels(name, image.width, image.height, max_pixels)
    return image


_limit_lock = threading.Lock()


@contextmanager
def _own_pixel_limit() -> Iterator[None]:
    """Open with Pillow's global bomb check off: ``check_pixels`` applies --max-pixels instead.

    Pillow's check is one process-wide setting (MAX_IMAGE_PIXELS) that would override a higher
    --max-pixels and word its own message; it is restored straight after the header is read.
    """
    with _limit_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8) the file declares, 1 when absent or invalid."""
    value = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


Pixels = TypeVar("Pixels", bound=npt.NDArray[Any])


def orient(array: Pixels, orientation: int) -> Pixels:
    """Apply an EXIF orientation to a HxW or HxWxC array, as ``ImageOps.exif_transpose``.

    The result is a view (no copy); PDQ copies it to contiguous memory only if rotated.
    """
    return cast(Pixels, _oriented(array, orientation))


def _oriented(array: npt.NDArray[Any], orientation: int) -> npt.NDArray[Any]:
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(array, -1)
    if orientation == 7:
        return array[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(array, 1)
    return array


def pixels_for_pdq(image: Image.Image, *, reference: bool) -> npt.NDArray[np.uint8]:
    """The array PDQ hashes: HxW grey for ``L`` images, else HxWx3 RGB via convert("RGB").

    ``Image.convert("RGB")`` is the reference conversion (CMYK, palette, 1-bit, 16-bit, float,
    LAB, HSV, YCbCr, alpha dropped). Grey ``L`` pixels are used as luma directly: for every
    value v, float32(0.299 v + 0.587 v + 0.114 v) == v, so the hash is identical.
    """
    if image.mode == "L" and not reference:
        return np.asarray(image)
    if image.mode == "RGB":
        return np.asarray(image)
    return np.asarray(image.convert("RGB"))


def reference_transpose(image: Image.Image) -> Image.Image:
    """Pillow's own EXIF transpose, for reference mode (kept literal, not re-implemented)."""
    transposed = ImageOps.exif_transpose(image)
    return image if transposed is None else transposed
