"""When a cheaper route's PDQ bits are certain to be the reference's: the settled-bits guard.

PDQ's hash is the sign of each of 256 DCT coefficients against their (lower) median. The DCT
is taken of the Jarosz-filtered 64x64 buffer, and the whole pipeline from luma to coefficient
is linear: ``C = D . Mv . L . Mh^T . D^T`` (``pdq_separable.py``). So a per-pixel luma error
bound ``e(y, x)`` (how far a route's luma may be from the reference's) gives a per-coefficient
bound without knowing the error's sign:

    |dC[u, v]| <= (|D| . Mv . e . Mh^T . |D|^T)[u, v]

because the filter weights are non-negative and ``|sum w x| <= sum |w| |x|``. For a uniform
``e`` the filter passes it through unchanged (each sampled row sums to one), so the bound is
``e * S[u] * S[v]`` with ``S[u] = sum_i |D[u, i]|`` (about 7.2 for every row of PDQ's DCT).

Given per-coefficient bounds ``b`` (the decode's, plus the sampled filter's own), a bit is
certain when no admissible perturbation can move it: bit ``k`` is set iff at least 128 other
coefficients lie strictly below it, so it is surely 1 when 128 coefficients' upper ends
``c_j + b_j`` lie below its lower end ``c_k - b_k``, and surely 0 when fewer than 128 lower
ends ``c_j - b_j`` lie below its upper end. (This also covers the median moving: it is never
computed, only the ranks that define it.) ``uncertain_bits`` counts the rest: 0 means the
route's bits are the reference's, whatever the error within the bounds.

The luma routes Safelight keeps in the default mode are exact decodes (the RGB libjpeg-turbo
decodes bit-identically to Pillow, then ``luma_from_rgb_flat``), so their decode bound is 0 and
only the filter's bound remains. A luma-only JPEG decode (the decoder's Y plane) cannot be
certified this way: colour-conversion rounding alone puts the reference's luma up to about 0.5
level from Y on every pixel (``Y_ROUNDING_BOUND``), which is ~26 DCT units per coefficient,
far wider than the gaps around the median of a photo's coefficients; where R, G or B clamps
(saturated colour) the difference reaches tens of levels. See docs/signals.md.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from safelight.constants import PDQ_HASH_BITS
from safelight.signals.pdq_kernels import DCT_MATRIX
from safelight.signals.pdq_separable import sampled_weights

# The rank that sets a bit: bit k is 1 iff at least this many coefficients are below it.
_ABOVE_RANK = PDQ_HASH_BITS // 2
# Slack for evaluating the bound itself in floating point (float32 weights and DCT matrix).
_BOUND_SLACK = 1.0 + 1e-4
# libjpeg's YCbCr->RGB rounds each of R, G, B to an integer (jdcolor.c tables, +-0.5 each), and
# luma weighs them 0.299 + 0.587 + 0.114 = 1: without clamping the reference's luma is within
# 0.5 (plus the tables' fixed-point error, under 1e-4 per channel) of the decoder's Y plane.
Y_ROUNDING_BOUND = 0.5 + 1e-4

_ABS_DCT = np.abs(DCT_MATRIX.astype(np.float64))
_ROW_ABS_SUMS = _ABS_DCT.sum(axis=1)


@njit(cache=True, nogil=True)
def _luma_flat(flat: np.ndarray, out: np.ndarray) -> None:
    # Same expression and evaluation order as pdq_kernels.luma_from_rgb (pdqhash's binding),
    # over a flat buffer so LLVM vectorises it (about 3x faster than the 3-D loop).
    for k in range(out.shape[0]):
        red = np.float64(flat[3 * k])
        green = np.float64(flat[3 * k + 1])
        blue = np.float64(flat[3 * k + 2])
        out[k] = np.float32(red * 0.299 + green * 0.587 + blue * 0.114)


def luma_from_rgb_flat(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Luma exactly as ``pdq.luma_from_rgb`` (bit-identical, tested), vectorised."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[0], rgb.shape[1]
    out = np.empty(height * width, np.float32)
    _luma_flat(np.ascontiguousarray(rgb).reshape(-1), out)
    return out.reshape(height, width)


def uniform_coefficient_bounds(pixel_bound: float) -> npt.NDArray[np.float64]:
    """Per-coefficient bound for a luma error of at most ``pixel_bound`` on every pixel."""
    bounds: npt.NDArray[np.float64] = (
        pixel_bound * np.outer(_ROW_ABS_SUMS, _ROW_ABS_SUMS) * _BOUND_SLACK
    )
    return bounds


def coefficient_bounds(pixel_bounds: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per-coefficient bound for a luma error of at most ``pixel_bounds[y, x]`` per pixel.

    The filter is applied in float64 with the sampled weights (non-negative, the filter's
    exact operator up to float32 rounding of the weights, covered by the slack).
    """
    if pixel_bounds.ndim != 2 or min(pixel_bounds.shape) < 1 or np.any(pixel_bounds < 0):
        raise ValueError("pixel bounds must be a non-negative 2-D array")
    height, width = pixel_bounds.shape
    row_starts, row_weights = sampled_weights(height)
    col_starts, col_weights = sampled_weights(width)
    plane = pixel_bounds.astype(np.float64)
    span_rows, span_cols = row_weights.shape[1], col_weights.shape[1]
    rows = np.stack([row_weights[i] @ plane[s : s + span_rows] for i, s in enumerate(row_starts)])
    filtered = np.stack(
        [rows[:, s : s + span_cols] @ col_weights[j] for j, s in enumerate(col_starts)], axis=1
    )
    bounds: npt.NDArray[np.float64] = _ABS_DCT @ filtered @ _ABS_DCT.T * _BOUND_SLACK
    return bounds


Bounds = npt.NDArray[np.floating] | float


def uncertain_bits(dct: npt.NDArray[np.floating], bounds: Bounds) -> npt.NDArray[np.bool_]:
    """Bits (flat, in ``bits_from_dct`` order) that some perturbation within bounds can flip."""
    values = dct.astype(np.float64).ravel()
    slack = np.broadcast_to(np.asarray(bounds, np.float64), dct.shape).ravel()
    low, high = values - slack, values + slack
    # Coefficients j != k surely below k: upper ends strictly under k's lower end (never k).
    surely_below = np.searchsorted(np.sort(high), low, side="left")
    # Coefficients j != k possibly below k: lower ends strictly under k's upper end (minus k).
    possibly_below = np.searchsorted(np.sort(low), high, side="left") - (slack > 0)
    surely_one = surely_below >= _ABOVE_RANK
    surely_zero = possibly_below < _ABOVE_RANK
    uncertain: npt.NDArray[np.bool_] = ~(surely_one | surely_zero)
    return uncertain


def bits_certain(dct: npt.NDArray[np.floating], bounds: Bounds) -> bool:
    """Whether every bit of ``dct`` survives any perturbation within ``bounds``."""
    return not bool(uncertain_bits(dct, bounds).any())


def dct_spread(dct: npt.NDArray[np.floating]) -> float:
    """Median absolute deviation of the coefficients from their median (DCT units).

    How far a typical coefficient sits from the threshold: a low spread means the hash rests
    on differences a small decode error can overturn (near-flat, isoluminant, finely striped).
    """
    values = dct.astype(np.float64).ravel()
    return float(np.median(np.abs(values - np.median(values))))
