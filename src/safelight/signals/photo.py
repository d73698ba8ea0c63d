"""Hash one photo: the reference's exact bits by default, a cheaper reduced decode with --fast.

Decodes, chosen per file (measurements and the construction in docs/signals.md):

* ``jpeg-rgb``: YCbCr JPEGs decode to RGB with libjpeg-turbo (simplejpeg) with the settings
  Pillow uses (bit-identical RGB, tested), then luma as pdqhash computes it: the reference's
  luma exactly, so the decode's error bound is 0. (The decoder's Y plane alone is cheaper but
  cannot be certified: see ``luma_bound.py``.)
* ``jpeg-luma``: greyscale JPEGs decode to their one plane, which is the reference's luma
  (Pillow's ``L`` converted to RGB and back gives the same values).
* ``pillow``: everything else (PNG, GIF, WebP, BMP, TIFF, HEIF, AVIF, CMYK/YCCK/RGB-coded JPEGs,
  JPEGs libjpeg-turbo flags as damaged, and ``reference`` mode): Pillow decodes, converts like
  ``Image.convert("RGB")``, and PDQ hashes that, exactly as the HMA path does.

After an exact decode PDQ runs the sampled separable filter and keeps its hash only when the
settled-bits guard shows no bit can differ from the exact filter's (``pdq.pdq_dct``); otherwise
the exact filter runs. So the default mode gives pdqhash's bits on every image.

``fast`` mode decodes at reduced scale (libjpeg-turbo DCT scaling, or Pillow ``draft``) while
the short side stays at least ``FAST_DECODE_MIN_SIDE`` (``jpeg-rgb-reduced``,
``jpeg-luma-reduced``, ``pillow-reduced``). That error has no sound bound, so the reduced hash
is kept only when its DCT coefficients spread at least ``FAST_MIN_DCT_SPREAD`` from their
median (the images where reduced decodes drifted all fell below it); otherwise the default
route hashes the file. ``FAST_MODE_MAX_BITS`` is the most measured on the adversarial corpus.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import simplejpeg
from PIL import Image

from safelight.constants import FAST_DECODE_MIN_SIDE, FAST_MIN_DCT_SPREAD
from safelight.signals import pdq
from safelight.signals.hashes import FrameHash, PdqHash
from safelight.signals.luma_bound import dct_spread, luma_from_rgb_flat
from safelight.signals.options import HashOptions
from safelight.signals.pillow_decode import (
    check_pixels,
    exif_orientation,
    open_image,
    orient,
    pillow_errors,
    pixels_for_pdq,
    reference_transpose,
)

# --fast reduces by powers of two only (1/2, 1/4, 1/8), and only where half the short side
# still reaches FAST_DECODE_MIN_SIDE: libjpeg-turbo has SIMD inverse DCTs for those scales, and
# the others (3/8 ... 7/8) run in plain C and can cost more than the full decode (measured by
# bench/before_after.py: a 1024x768 photo took 6.6 ms at 6/8 against 3.95 ms in full). Pillow's
# draft() offers only these scales anyway.
_MIN_SIDE_FOR_REDUCTION = 2 * FAST_DECODE_MIN_SIDE
_POWER_OF_TWO_SCALES = (8, 4, 2)  # denominators, smallest output first


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


def _luma(
    pixels: npt.NDArray[np.uint8], *, reference: bool = False
) -> npt.NDArray[np.uint8] | npt.NDArray[np.float32]:
    if pixels.ndim == 2:
        return pixels
    # Same floats either way (tested); --exact-reference keeps the literal kernel.
    return pdq.luma_from_rgb(pixels) if reference else luma_from_rgb_flat(pixels)


Luma = npt.NDArray[np.uint8] | npt.NDArray[np.float32]
Hashes = tuple[PdqHash, tuple[PdqHash, ...] | None]


def _hash_luma(luma: Luma, options: HashOptions) -> Hashes:
    """PDQ (and the dihedral set) of an exactly decoded luma: the sampled filter where its
    bits are certain, else the exact filter; either way the reference's bits."""
    if options.wants_pdq8:
        variants = tuple(pdq.pdq_dihedral_from_luma(luma, exact=False))
        return variants[0], variants
    return pdq.pdq_from_luma(luma, exact=False), None


def _hash_rgb(rgb: npt.NDArray[np.uint8], options: HashOptions) -> Hashes:
    """As ``_hash_luma`` on pdqhash's luma of ``rgb``, without building that luma first."""
    hashes = pdq.hashes_from_rgb(rgb, dihedral=options.wants_pdq8)
    return hashes[0], (tuple(hashes) if options.wants_pdq8 else None)


def _hash_reduced(pixels: npt.NDArray[np.uint8], options: HashOptions) -> Hashes | None:
    """PDQ of a reduced decode (grey or RGB), or None when its coefficients crowd the median
    too closely for a reduced decode's error (the caller then takes the exact route)."""
    dihedral = options.wants_pdq8
    if pixels.ndim == 3:  # through the fused RGB filter, as the default route
        dct, quality = pdq.pdq_dct_from_rgb(pixels, skip_at_64=not dihedral, dihedral=dihedral)
    else:
        dct, quality = pdq.pdq_dct(pixels, exact=False, dihedral=dihedral)
    if dct_spread(dct) < FAST_MIN_DCT_SPREAD:
        return None
    blocks = pdq.dihedral_dcts(dct) if options.wants_pdq8 else [dct]
    hashes = [PdqHash(pdq.bits_to_digest(pdq.bits_from_dct(block)), quality) for block in blocks]
    return hashes[0], (tuple(hashes) if options.wants_pdq8 else None)


def _reduced(width: int, height: int) -> bool:
    return min(width, height) >= _MIN_SIDE_FOR_REDUCTION


def reduced_short_side(short: int) -> int:
    """The short side of the smallest power-of-two DCT-scaled decode that keeps it at least
    FAST_DECODE_MIN_SIDE (libjpeg rounds scaled sizes up); ``short`` itself if none does."""
    for denominator in _POWER_OF_TWO_SCALES:
        side = -(-short // denominator)
        if side >= FAST_DECODE_MIN_SIDE:
            return side
    return short


def _decode_jpeg(data: bytes, colorspace: str, side: int = 0) -> npt.NDArray[np.uint8]:
    """A YCbCr JPEG's RGB or a grey JPEG's plane via libjpeg-turbo, at full size or scaled
    down to the smallest DCT scale keeping both sides at least ``side``; ValueError on
    damage."""
    if colorspace == "Gray":
        grey = simplejpeg.decode_jpeg(data, "GRAY", min_height=side, min_width=side)
        plane: npt.NDArray[np.uint8] = grey.reshape(grey.shape[:2])
        return plane
    rgb: npt.NDArray[np.uint8] = simplejpeg.decode_jpeg(
        data, "RGB", min_height=side, min_width=side
    )
    return rgb


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
    decoder = "jpeg-luma" if colorspace == "Gray" else "jpeg-rgb"
    try:
        if options.mode == "fast" and _reduced(width, height):
            side = reduced_short_side(min(width, height))
            pixels = _decode_jpeg(data, colorspace, side)
            reduced = _hash_reduced(orient(pixels, orientation), options)
            if reduced is not None:
                shape = (pixels.shape[0], pixels.shape[1])
                return PhotoHashes("jpeg", width, height, decoder + "-reduced", shape, *reduced)
        pixels = _decode_jpeg(data, colorspace)
    except ValueError:
        # strict mode: libjpeg-turbo reported damage (truncation, corrupt data). Pillow
        # tolerates what the reference tolerates and reports the rest.
        return None
    digest, variants = _hash_exact_pixels(orient(pixels, orientation), options)
    shape = (pixels.shape[0], pixels.shape[1])
    return PhotoHashes("jpeg", width, height, decoder, shape, digest, variants)


def _hash_exact_pixels(pixels: npt.NDArray[np.uint8], options: HashOptions) -> Hashes:
    """PDQ of exactly decoded grey (HxW) or RGB (HxWx3) pixels: the reference's bits."""
    return _hash_luma(pixels, options) if pixels.ndim == 2 else _hash_rgb(pixels, options)


def _draft_for_fast(image: Image.Image) -> bool:
    """Ask Pillow for a DCT-scaled decode; whether it will reduce the image."""
    # Pillow picks the largest DCT scale whose result is at least the requested size.
    width, height = image.size
    if image.format in ("JPEG", "MPO") and _reduced(width, height):
        short = min(width, height)
        target = (
            -(-width * FAST_DECODE_MIN_SIDE // short),
            -(-height * FAST_DECODE_MIN_SIDE // short),
        )
        image.draft(None, target)
        return image.size != (width, height)
    return False


def _frame_hash(image: Image.Image, orientation: int, options: HashOptions) -> PdqHash:
    reference = options.mode == "reference"
    pixels = pixels_for_pdq(image, reference=reference)
    return pdq.pdq_from_luma(orient(_luma(pixels, reference=reference), orientation))


def _pillow_reduced(
    source: bytes | str, fmt: str, name: str, options: HashOptions
) -> PhotoHashes | None:
    """--fast for JPEGs Pillow decodes (CMYK, YCCK, RGB-coded): a drafted decode, if kept."""
    with pillow_errors(name, fmt), open_image(source, fmt, name, options.max_pixels) as image:
        width, height = image.size
        if not _draft_for_fast(image):
            return None
        orientation = exif_orientation(image) if options.exif_transpose else 1
        pixels = pixels_for_pdq(image, reference=False)
        reduced = _hash_reduced(orient(pixels, orientation), options)
    if reduced is None:
        return None
    shape = (pixels.shape[0], pixels.shape[1])
    return PhotoHashes(fmt, width, height, "pillow-reduced", shape, *reduced)


def _pillow_path(source: bytes | str, fmt: str, name: str, options: HashOptions) -> PhotoHashes:
    reference = options.mode == "reference"
    if options.mode == "fast" and fmt == "jpeg" and options.wants_pdq and not options.all_frames:
        kept = _pillow_reduced(source, fmt, name, options)
        if kept is not None:
            return kept
    with pillow_errors(name, fmt), open_image(source, fmt, name, options.max_pixels) as image:
        width, height = image.size
        if not options.wants_pdq and not options.all_frames:
            return PhotoHashes(fmt, width, height, "header")
        orientation = exif_orientation(image) if options.exif_transpose else 1
        image.load()
        first: Image.Image = image
        array_orientation = orientation
        if reference and orientation != 1:
            # Reference mode keeps Pillow's own transpose; the array version is tested equal.
            first, array_orientation = reference_transpose(image), 1
        pixels = pixels_for_pdq(first, reference=reference)
        hashed_shape = (pixels.shape[0], pixels.shape[1])
        if reference:
            luma = orient(_luma(pixels, reference=True), array_orientation)
            digest, variants = _hash_luma_exact(luma, options)
        else:
            digest, variants = _hash_exact_pixels(orient(pixels, array_orientation), options)
        frames, complete = None, True
        if options.all_frames:
            frames, complete = _all_frames(image, digest, orientation, options)
    return PhotoHashes(
        fmt, width, height, "pillow", hashed_shape, digest, variants, frames, complete
    )


def _hash_luma_exact(luma: Luma, options: HashOptions) -> Hashes:
    """The exact filter only (``--exact-reference``): the route kept literal."""
    if options.wants_pdq8:
        variants = tuple(pdq.pdq_dihedral_from_luma(luma))
        return variants[0], variants
    return pdq.pdq_from_luma(luma), None


def _all_frames(
    image: Image.Image, first: PdqHash, orientation: int, options: HashOptions
) -> tuple[tuple[FrameHash, ...], bool]:
    """Every frame of an animation, until ``max_frames`` or ``max_pixels`` decoded in total."""
    count = int(getattr(image, "n_frames", 1))
    frames = [FrameHash(0, first)]
    budget = options.max_pixels - image.width * image.height
    for index in range(1, min(count, options.max_frames)):
        try:
            image.seek(index)  # reads the frame's header only; load() allocates
            # Each frame counts at its own size, taken before it is decoded: a frame may be
            # larger than the first (Pillow grows a GIF's canvas to hold one). Found by
            # fuzz/photo.py: an 8x12,040 GIF whose fourth frame grew it to 1,699x30,860 made
            # Pillow allocate ~490 MB under a 1M-pixel limit.
            budget -= image.width * image.height
            if budget < 0:
                break
            frames.append(FrameHash(index, _frame_hash(image, orientation, options)))
        except Exception:  # noqa: BLE001 - hostile input: a damaged or oversized later frame
            # ends the set (marked incomplete) and cannot take the frames before it, the
            # first frame's PDQ among them, down with it.
            break
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
