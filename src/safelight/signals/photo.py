"""Hash one photo: pick the fastest decode that stays within the documented exactness.

Three decodes, chosen per file (see docs/signals.md for the measurements behind them):

* ``jpeg-luma``: JPEG (YCbCr or grey) decoded straight to its luma plane with libjpeg-turbo
  (simplejpeg, GRAY), skipping colour conversion and chroma; PDQ hashes the plane as is. The
  decoder's Y differs from luma recomputed from rounded RGB by under one level per pixel, which
  PDQ's tent filter averages away on images of ``LUMA_DECODE_MIN_PIXELS`` and up. As the decode
  is approximate anyway, PDQ runs its filter as the sampled separable operator
  (``pdq_separable.py``, within ~1e-4 levels of the exact filter).
* ``jpeg-rgb``: smaller YCbCr JPEGs decode to RGB with the same libjpeg-turbo settings Pillow
  uses (measured bit-identical), then luma as pdqhash computes it: exact and still fast.
* ``pillow``: everything else (PNG, GIF, WebP, BMP, TIFF, HEIF, AVIF, CMYK/YCCK/RGB-coded JPEGs,
  JPEGs libjpeg-turbo flags as damaged, and ``reference`` mode): Pillow decodes, converts like
  ``Image.convert("RGB")``, and PDQ hashes that, exactly as the HMA path does.

``fast`` mode adds DCT-domain reduced decoding (libjpeg-turbo scaling, or Pillow ``draft``)
while the short side stays at least ``FAST_DECODE_MIN_SIDE``; reduced decodes also take the
sampled filter. Exact decodes (``jpeg-rgb``, full-size ``pillow``) keep the exact filter.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import simplejpeg
from PIL import Image

from safelight.constants import FAST_DECODE_MIN_SIDE, LUMA_DECODE_MIN_PIXELS
from safelight.signals import pdq
from safelight.signals.options import HashOptions
from safelight.signals.pdq import PdqHash
from safelight.signals.pillow_decode import (
    check_pixels,
    exif_orientation,
    open_image,
    orient,
    pillow_errors,
    pixels_for_pdq,
    reference_transpose,
)

# libjpeg-turbo's smallest scaling step is 1/8: no reduced decode helps below this short side.
_MIN_SIDE_FOR_REDUCTION = FAST_DECODE_MIN_SIDE * 8 // 7 + 1


@dataclass(frozen=True, slots=True)
class FrameHash:
    """The PDQ hash of one frame of an animated image (frame index from 0)."""

    frame: int
    pdq: PdqHash


@dataclass(frozen=True, slots=True)
class PhotoHashes:
    """What hashing one photo produced.

    ``decoder`` names the decode path taken and ``hashed_shape`` the (height, width) of the
    luma plane PDQ saw (smaller than the image after a reduced decode).
    """

    format: str
    width: int
    height: int
    decoder: str
    hashed_shape: tuple[int, int] = (0, 0)
    pdq: PdqHash | None = None
    pdq8: tuple[PdqHash, ...] | None = None
    frames: tuple[FrameHash, ...] | None = None
    frames_complete: bool = True


def _luma(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | npt.NDArray[np.float32]:
    return pixels if pixels.ndim == 2 else pdq.luma_from_rgb(pixels)


def _hash_luma(
    luma: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
    options: HashOptions,
    *,
    exact: bool = True,
) -> tuple[PdqHash, tuple[PdqHash, ...] | None]:
    # exact=False (the sampled separable filter) only after a decode that is itself
    # approximate: an exact decode keeps a hash bit-identical to the HMA path's.
    if options.wants_pdq8:
        variants = tuple(pdq.pdq_dihedral_from_luma(luma, exact=exact))
        return variants[0], variants
    return pdq.pdq_from_luma(luma, exact=exact), None


def _reduced(width: int, height: int) -> bool:
    return min(width, height) >= _MIN_SIDE_FOR_REDUCTION


def _jpeg_fast_path(data: bytes, name: str, options: HashOptions) -> PhotoHashes | None:
    """Decode a YCbCr/grey JPEG with libjpeg-turbo; None hands the file to Pillow."""
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None  # Pillow names the problem precisely
    check_pixels(name, width, height, options.max_pixels)
    if colorspace not in ("YCbCr", "Gray"):
        return None  # CMYK, YCCK and RGB-coded JPEGs: Pillow converts them like the reference
    orientation = 1
    if options.exif_transpose:
        with pillow_errors(name, "jpeg"):
            orientation = exif_orientation(Image.open(io.BytesIO(data), formats=["JPEG", "MPO"]))
    try:
        if options.mode == "fast" and _reduced(width, height):
            side = FAST_DECODE_MIN_SIDE
            grey = simplejpeg.decode_jpeg(data, "GRAY", min_height=side, min_width=side)
            luma, decoder = grey.reshape(grey.shape[:2]), "jpeg-luma-reduced"
        elif colorspace == "Gray" or width * height >= LUMA_DECODE_MIN_PIXELS:
            grey = simplejpeg.decode_jpeg(data, "GRAY")
            luma, decoder = grey.reshape(grey.shape[:2]), "jpeg-luma"
        else:
            rgb = simplejpeg.decode_jpeg(data, "RGB")
            luma, decoder = pdq.luma_from_rgb(rgb), "jpeg-rgb"
    except ValueError:
        # strict mode: libjpeg-turbo reported damage (truncation, corrupt data). Pillow
        # tolerates what the reference tolerates and reports the rest.
        return None
    exact = decoder == "jpeg-rgb"
    digest, variants = _hash_luma(orient(luma, orientation), options, exact=exact)
    return PhotoHashes("jpeg", width, height, decoder, luma.shape, digest, variants)


def _draft_for_fast(image: Image.Image) -> None:
    # Pillow picks the largest DCT scale whose result is at least the requested size.
    width, height = image.size
    if image.format in ("JPEG", "MPO") and _reduced(width, height):
        short = min(width, height)
        target = (
            -(-width * FAST_DECODE_MIN_SIDE // short),
            -(-height * FAST_DECODE_MIN_SIDE // short),
        )
        image.draft(None, target)


def _frame_hash(image: Image.Image, orientation: int, options: HashOptions) -> PdqHash:
    pixels = pixels_for_pdq(image, reference=options.mode == "reference")
    return pdq.pdq_from_luma(orient(_luma(pixels), orientation))


def _pillow_path(source: bytes | str, fmt: str, name: str, options: HashOptions) -> PhotoHashes:
    reference = options.mode == "reference"
    with pillow_errors(name, fmt), open_image(source, fmt, name, options.max_pixels) as image:
        width, height = image.size
        if not options.wants_pdq and not options.all_frames:
            return PhotoHashes(fmt, width, height, "header")
        orientation = exif_orientation(image) if options.exif_transpose else 1
        if options.mode == "fast":
            _draft_for_fast(image)
        image.load()
        first: Image.Image = image
        array_orientation = orientation
        if reference and orientation != 1:
            # Reference mode keeps Pillow's own transpose; the array version is tested equal.
            first, array_orientation = reference_transpose(image), 1
        pixels = pixels_for_pdq(first, reference=reference)
        hashed_shape = (pixels.shape[0], pixels.shape[1])
        reduced = image.size != (width, height)
        luma = orient(_luma(pixels), array_orientation)
        digest, variants = _hash_luma(luma, options, exact=not reduced)
        frames, complete = None, True
        if options.all_frames:
            frames, complete = _all_frames(image, digest, orientation, options)
        decoder = "pillow-reduced" if reduced else "pillow"
    return PhotoHashes(
        fmt, width, height, decoder, hashed_shape, digest, variants, frames, complete
    )


def _all_frames(
    image: Image.Image, first: PdqHash, orientation: int, options: HashOptions
) -> tuple[tuple[FrameHash, ...], bool]:
    """Every frame of an animation, until ``max_frames`` or ``max_pixels`` decoded in total."""
    count = int(getattr(image, "n_frames", 1))
    frames = [FrameHash(0, first)]
    budget = options.max_pixels - image.width * image.height
    for index in range(1, min(count, options.max_frames)):
        budget -= image.width * image.height
        if budget < 0:
            break
        image.seek(index)
        frames.append(FrameHash(index, _frame_hash(image, orientation, options)))
    return tuple(frames), len(frames) == count


def hash_photo(source: bytes | str, fmt: str, name: str, options: HashOptions) -> PhotoHashes:
    """PDQ (and dihedral, frames) of a photo given as bytes or a path; raises MediaError."""
    wants_jpeg_path = (
        fmt == "jpeg"
        and isinstance(source, bytes)
        and options.mode != "reference"
        and options.wants_pdq
        and not options.all_frames
    )
    if wants_jpeg_path:
        assert isinstance(source, bytes)
        result = _jpeg_fast_path(source, name, options)
        if result is not None:
            return result
    return _pillow_path(source, fmt, name, options)
