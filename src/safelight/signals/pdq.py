"""PDQ, Meta's perceptual photo hash: the public API over the compiled kernels.

A PDQ hash is 256 bits, printed as 64 hex characters. Bytes are stored in the order the hex
prints them (``bytes.fromhex``), so the first byte holds bits 255..248. ``quality`` (0-100)
says how much gradient the image has; below ``PDQ_MIN_QUALITY`` a hash is too unreliable to
match on.

``pdq_from_rgb`` reproduces ``pdqhash.compute`` (the python-threatexchange/HMA flavour) bit for
bit, hash and quality, on the same pixel array; ``pdq_from_luma`` hashes a luma plane that a
decoder produced directly (Safelight's fast path). See ``tests/pdq_reference.py`` for the slow port.
``exact=False`` evaluates the Jarosz filter as a sampled separable operator instead
(``pdq_separable.py``): about 10x less work and the same 64x64 buffer to ~1e-3 levels. Its
hash is kept only when no coefficient is near enough to the median for that to flip a bit,
so the bits are the exact route's (quality within one); the rest take the exact route.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from safelight.constants import (
    PDQ_DCT_SIZE,
    PDQ_DOWNSAMPLE,
    PDQ_MIN_DIMENSION,
)
from safelight.signals import luma_bound, pdq_grey, pdq_kernels, pdq_separable

# PDQ's values live in signals.hashes (no kernels needed to use them); re-exported here.
from safelight.signals.hashes import DIHEDRAL_NAMES as DIHEDRAL_NAMES
from safelight.signals.hashes import ZERO_HASH as ZERO_HASH
from safelight.signals.hashes import PdqHash as PdqHash
from safelight.signals.hashes import hamming_distance as hamming_distance

_local = threading.local()


def _workspace() -> pdq_kernels.Workspace:
    workspace = getattr(_local, "workspace", None)
    if workspace is None:
        workspace = _local.workspace = pdq_kernels.Workspace()
    return workspace


def bits_to_digest(bits: npt.NDArray[np.bool_]) -> bytes:
    """Bit k (k = i*16 + j) at index k, to bytes in hex order (bit 255 first)."""
    return np.packbits(bits[::-1]).tobytes()


def digest_to_bits(digest: bytes) -> npt.NDArray[np.bool_]:
    return np.unpackbits(np.frombuffer(digest, np.uint8))[::-1].astype(bool)


def bits_from_dct(dct: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Bit set where the coefficient is strictly above the lower median (Torben's choice)."""
    flat = dct.ravel()
    median = np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]
    above: npt.NDArray[np.bool_] = flat > median
    return above


def _too_small(shape: tuple[int, ...]) -> bool:
    return shape[0] < PDQ_MIN_DIMENSION or shape[1] < PDQ_MIN_DIMENSION


# How far a DCT coefficient through the sampled filter may be from the exact route's: measured
# at most 0.0010 on 2 MP photos and 0.0022 on 24 MP noise (the exact filter's float32 running
# sums drift with length), so 0.005, grown in proportion beyond 24 MP.
SAMPLED_DCT_ERROR = 0.005
_SAMPLED_ERROR_PIXELS = 24_000_000


def bits_settled(dct: npt.NDArray[np.float32], error: float) -> bool:
    """Whether moving every coefficient by up to ``error`` leaves every bit as it is.

    The rank test of ``luma_bound.bits_certain`` with a uniform bound: in effect, no coefficient
    within ``2 * error`` of the median from above, and the median's own bit is safe too.
    """
    return luma_bound.bits_certain(dct, error)


def _sampled_dct(
    luma: npt.NDArray[np.float32] | npt.NDArray[np.uint8], dihedral: bool
) -> tuple[npt.NDArray[np.float32], int] | None:
    """The sampled filter's DCT and quality if its bits are certain to be the exact route's.

    None sends the image to the exact route: a side of 64 px or less (decimation repeats
    samples, many coefficients are exactly zero in exact arithmetic and their bits are the
    reference's rounding noise), or a coefficient too near the median (flat or purely 1-D
    images, and a few per cent of photos). Quality may still differ by one (its per-pair
    truncation).
    """
    if min(luma.shape) <= PDQ_DOWNSAMPLE:
        return None
    dct, quality = pdq_separable.pdq_sampled(luma)
    return (dct, quality) if _certain(dct, _sampled_error(luma.size), dihedral) else None


def _sampled_error(pixels: int) -> float:
    return SAMPLED_DCT_ERROR * max(1.0, pixels / _SAMPLED_ERROR_PIXELS)


def _certain(dct: npt.NDArray[np.float32], bounds: luma_bound.Bounds, dihedral: bool) -> bool:
    # Bounds are symmetric (|D| on both sides), so they hold for transposed orientations too.
    blocks = dihedral_dcts(dct) if dihedral else [dct]
    return all(luma_bound.bits_certain(block, bounds) for block in blocks)


# pdqhash rounds each luma to float32 (values < 256: at most half an ulp, 2**-17 levels); the
# fused RGB filter never rounds it, so its luma may differ by that much per pixel.
RGB_LUMA_ROUNDING = 2.0**-17 * 1.01


def pdq_dct_from_rgb(
    rgb: npt.NDArray[np.uint8], *, skip_at_64: bool = True, dihedral: bool = False
) -> tuple[npt.NDArray[np.float32], int]:
    """``pdq_dct(luma_from_rgb(rgb))``'s bits: the fused sampled filter where certain.

    The guard's bound is the sampled filter's plus the luma rounding's (through
    ``luma_bound.uniform_coefficient_bounds``); otherwise the exact route runs on pdqhash's luma.
    """
    height, width = rgb.shape[0], rgb.shape[1]
    if min(height, width) > PDQ_DOWNSAMPLE:
        dct, quality = pdq_separable.pdq_sampled_rgb(rgb)
        rounding = luma_bound.uniform_coefficient_bounds(RGB_LUMA_ROUNDING)
        if _certain(dct, _sampled_error(height * width) + rounding, dihedral):
            return dct, quality
    return pdq_dct(luma_bound.luma_from_rgb_flat(rgb), skip_at_64=skip_at_64)


def hashes_from_rgb(rgb: npt.NDArray[np.uint8], *, dihedral: bool = False) -> list[PdqHash]:
    """``pdq_from_rgb`` (or the 8 of ``pdq_dihedral_from_rgb``), through the fused filter."""
    if _too_small(rgb.shape):
        return [ZERO_HASH] * (len(DIHEDRAL_NAMES) if dihedral else 1)
    dct, quality = pdq_dct_from_rgb(rgb, skip_at_64=not dihedral, dihedral=dihedral)
    blocks = dihedral_dcts(dct) if dihedral else [dct]
    return [PdqHash(bits_to_digest(bits_from_dct(block)), quality) for block in blocks]


def pdq_dct(
    luma: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    *,
    skip_at_64: bool = True,
    exact: bool = True,
    dihedral: bool = False,
) -> tuple[npt.NDArray[np.float32], int]:
    """The 16x16 DCT block and quality of a 2-D luma (float32) or grey (uint8) image.

    ``skip_at_64=False`` filters even a 64x64 image, as the reference's dihedral path does.
    ``exact=False`` tries the sampled separable filter (see the module docstring) and keeps it
    when the hash bits (of all 8 orientations with ``dihedral``) cannot differ from the exact
    route's; otherwise it runs the exact route.
    """
    if luma.ndim != 2:
        raise ValueError(f"luma must be 2-D, got shape {luma.shape}")
    contiguous = luma if luma.flags.c_contiguous else luma.copy()
    result: tuple[npt.NDArray[np.float32], int] | None = None
    if not exact:
        result = _sampled_dct(contiguous, dihedral)
    if result is not None:
        return result
    if contiguous.dtype == np.uint8:
        # Decoded JPEG luma: the exact integer/streaming route (pdq_grey.py), same floats.
        result = pdq_grey.pdq_uint8(contiguous.view(np.uint8), _workspace(), skip_at_64=skip_at_64)
    else:
        result = pdq_kernels.pdq_float(contiguous, _workspace(), skip_at_64=skip_at_64)
    return result


def pdq_from_luma(
    luma: npt.NDArray[np.float32] | npt.NDArray[np.uint8], *, exact: bool = True
) -> PdqHash:
    """Hash a luma plane. Images under 5 px either way hash to zeros with quality 0."""
    if _too_small(luma.shape):
        return ZERO_HASH
    dct, quality = pdq_dct(luma, exact=exact)
    return PdqHash(bits_to_digest(bits_from_dct(dct)), quality)


def luma_from_rgb(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Luma as pdqhash computes it: float32(0.299 R + 0.587 G + 0.114 B) in double."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    result: npt.NDArray[np.float32] = pdq_kernels.luma_from_rgb(np.ascontiguousarray(rgb))
    return result


def pdq_from_rgb(rgb: npt.NDArray[np.uint8]) -> PdqHash:
    """Hash an RGB array exactly as ``pdqhash.compute`` does."""
    return pdq_from_luma(luma_from_rgb(rgb))


def dihedral_dcts(dct: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
    """The DCT blocks of the 8 rotations/flips, derived from one DCT (pdqhashing.cpp).

    Rotating or flipping an image transposes and/or negates alternate DCT coefficients;
    no re-hashing is needed.
    """
    n = PDQ_DCT_SIZE
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    odd_i = (i & 1).astype(bool)
    odd_j = (j & 1).astype(bool)
    odd_sum = ((i + j) & 1).astype(bool)

    def sign(keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
        return np.where(keep, dct, -dct).astype(np.float32)

    return [
        dct,
        sign(odd_j).T,  # rotate90: B[j][i] = A[i][j] on odd j, else -A[i][j]
        sign(~odd_sum),  # rotate180: negate where i + j is odd
        sign(odd_i).T,  # rotate270: transpose, negate on even i
        sign(odd_i),  # flipx: negate on even i
        sign(odd_j),  # flipy: negate on even j
        dct.T.copy(),  # flip_plus1: transpose
        sign(~odd_sum).T,  # flip_minus1: transpose, negate where i + j is odd
    ]


def pdq_dihedral_from_luma(
    luma: npt.NDArray[np.float32] | npt.NDArray[np.uint8], *, exact: bool = True
) -> list[PdqHash]:
    """The 8 dihedral hashes (order of ``DIHEDRAL_NAMES``), sharing one quality."""
    if _too_small(luma.shape):
        return [ZERO_HASH] * len(DIHEDRAL_NAMES)
    # pdqDihedralHash256esFromFloatLuma has no 64x64 shortcut: it always filters.
    dct, quality = pdq_dct(luma, skip_at_64=False, exact=exact, dihedral=True)
    return [PdqHash(bits_to_digest(bits_from_dct(d)), quality) for d in dihedral_dcts(dct)]


def pdq_dihedral_from_rgb(rgb: npt.NDArray[np.uint8]) -> list[PdqHash]:
    return pdq_dihedral_from_luma(luma_from_rgb(rgb))
