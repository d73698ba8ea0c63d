"""PDQ's Jarosz filter as a sampled separable linear operator (default and fast modes).

The reference filter (two rounds of a box along rows then a box along columns, window
``ceil(dim / 128)``, edge windows averaged over the pixels present) is linear and separable,
and PDQ reads its output only at the 64x64 decimation points. So

    out64 = Mv . X . Mh^T,   Mv = (Bv Bv)[row samples],  Mh = (Bh Bh)[column samples]

where ``B`` is one box pass along an axis as a matrix. Each sampled row of ``B B`` has at
most ``2w - 1`` non-zero weights; they are computed straight from the box definition and
cached per length. One pass over the image then does everything: each of the 64 output rows
is a weighted sum of ``2w - 1`` image rows (a vectorised multiply-add per row), and each
output is then a ``2w - 1``-weight dot product along that sum.

For uint8 images (decoded grey planes, and RGB through ``downsample_64_sampled_rgb``) the
row sums are exact: away from the image's first and last rows every weight is a whole number
of ``1 / w**2`` (the triangle 1, 2 .. w .. 2, 1), so rows are summed in uint16 (uint32 past
2,048 px) with integer multiply-adds, 16 lanes per AVX2 instruction, half the instructions of the
float32 sums this replaced and without their rounding; the few edge rows and the column sums
run in float64. The 64x64 buffer is then the float64 oracle ``jarosz_oracle_64`` up to its
final float32 rounding (about 1e-5 levels). Float images take the float32 kernel.

This is the reference's operator evaluated in a different order and precision: the reference
keeps float32 running sums over the whole image, and its DCT coefficients drift from the exact
operator's by up to about 2e-3 on a 2 MP photo (measured, as in the float32 sampled filter
before: the drift is the reference's own). So a bit could differ only where a coefficient
sits that near the median: ``pdq.pdq_dct`` checks for that and then runs the exact route
instead, so the bits are always the exact route's. The exact route (``pdq_kernels``,
``pdq_grey``) also stays for every decode that is itself exact.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from safelight.constants import PDQ_DOWNSAMPLE, PDQ_JAROSZ_PASSES
from safelight.signals.pdq_kernels import (
    DCT_MATRIX,
    dct_64_to_16,
    decimation_samples,
    jarosz_window,
    quality_64,
)


def box_span(length: int, j: int) -> tuple[int, int]:
    """Inclusive [first, last] input pixels that box1DFloat averages into output ``j``."""
    window = jarosz_window(length)
    half = (window + 2) // 2
    return max(0, j - (window - half)), min(length - 1, j + half - 1)


def box_matrix(length: int) -> npt.NDArray[np.float64]:
    """One box pass along an axis as a dense float64 matrix (the oracle; tests only)."""
    matrix = np.zeros((length, length))
    for j in range(length):
        first, last = box_span(length, j)
        matrix[j, first : last + 1] = 1.0 / (last - first + 1)
    return matrix


def jarosz_oracle_64(image: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """The obvious float64 evaluation: every box pass in full, then decimation (tests only)."""
    height, width = image.shape
    rows, cols = box_matrix(height), box_matrix(width)
    out = image.astype(np.float64)
    for _ in range(PDQ_JAROSZ_PASSES):
        out = out @ cols.T  # box along every row
        out = rows @ out  # box down every column
    picked = np.ix_(decimation_samples(height), decimation_samples(width))
    sampled: npt.NDArray[np.float64] = out[picked]
    return sampled


@dataclass(frozen=True, slots=True)
class AxisWeights:
    """The 64 sampled rows of (box . box) along an axis, as the filter kernels take them.

    Row ``i`` applies to pixels ``starts[i] .. starts[i] + span - 1`` (``span = min(2w - 1,
    length)``, the start clamped into the axis, zeros outside a row's true support).
    ``weights`` are the exact weights in float64. Where row ``i``'s two windows and every
    window inside them lie wholly in the axis (``whole[i]``: all but the first and last rows of
    a large image), each weight is a whole number of ``1 / window**2``: ``numerators[i]``
    (a triangle 1, 2 .. window .. 2, 1), so the uint8 kernel sums those rows in integers,
    exactly. Arrays are read-only (shared through the cache).
    """

    starts: npt.NDArray[np.int64]
    weights: npt.NDArray[np.float64]
    numerators: npt.NDArray[np.int64]
    whole: npt.NDArray[np.bool_]
    window: int


@functools.lru_cache(maxsize=64)
def axis_weights(length: int) -> AxisWeights:
    """Output ``s`` of two passes is the mean, over the first-pass outputs ``m`` in its window,
    of the means over their windows: each ``m`` adds ``1 / (count_s * count_m)`` to its window
    (and 1 to the numerators), summed here as difference arrays (vectorised: this runs once
    per image size in every worker)."""
    window = jarosz_window(length)
    half = (window + 2) // 2
    before, after = window - half, half - 1
    span = min(2 * window - 1, length)
    samples = decimation_samples(length)[:, None]
    middle = samples - before + np.arange(window)[None, :]  # first-pass outputs averaged
    present = (middle >= 0) & (middle < length)
    low = np.maximum(0, middle - before)
    high = np.minimum(length - 1, middle + after)
    count = present.sum(axis=1, keepdims=True)
    starts = np.clip(np.maximum(0, samples[:, 0] - before) - before, 0, length - span)
    offset_low = np.clip(low - starts[:, None], 0, span)
    offset_high = np.clip(high + 1 - starts[:, None], 0, span)
    rows = np.broadcast_to(np.arange(PDQ_DOWNSAMPLE)[:, None], middle.shape)

    def summed(share: npt.NDArray[Any]) -> npt.NDArray[Any]:
        difference = np.zeros((PDQ_DOWNSAMPLE, span + 1), share.dtype)
        np.add.at(difference, (rows, offset_low), share)
        np.add.at(difference, (rows, offset_high), -share)
        return np.cumsum(difference, axis=1)[:, :span]

    weights = summed(np.where(present, 1.0 / (count * (high - low + 1)), 0.0))
    whole = (count[:, 0] == window) & np.all(high - low + 1 == window, axis=1)
    numerators = summed(present.astype(np.int64)) * whole[:, None]
    arrays = (starts.astype(np.int64), weights, numerators, whole)
    for array in arrays:
        array.setflags(write=False)
    return AxisWeights(*arrays, window=window)


@functools.lru_cache(maxsize=64)
def sampled_weights(length: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """``axis_weights``' starts and weights, the weights in float32 (the float kernel's)."""
    axis = axis_weights(length)
    weights = axis.weights.astype(np.float32)
    weights.setflags(write=False)
    return axis.starts, weights


@njit(cache=True, nogil=True)
def sampled_filter(
    image: np.ndarray,
    row_starts: np.ndarray,
    row_weights: np.ndarray,
    col_starts: np.ndarray,
    col_weights: np.ndarray,
    acc: np.ndarray,
) -> np.ndarray:
    """Mv . image . Mh^T for a float32 (or uint8) image; ``acc`` is a float32 row of scratch."""
    width = image.shape[1]
    n = row_starts.shape[0]
    m = col_starts.shape[0]
    out = np.empty((n, m), np.float32)
    for i in range(n):
        for c in range(width):
            acc[c] = 0.0
        for t in range(row_weights.shape[1]):
            weight = row_weights[i, t]
            if weight != 0.0:
                src = image[row_starts[i] + t]
                for c in range(width):  # the hot loop: widen, multiply, add, 8 lanes at a time
                    acc[c] += weight * np.float32(src[c])
        for j in range(m):
            total = 0.0  # float64: 64 x 64 short sums, too few to matter for speed
            base = col_starts[j]
            for t in range(col_weights.shape[1]):
                total += col_weights[j, t] * acc[base + t]
            out[i, j] = total
    return out


@njit(cache=True, nogil=True)
def _integer_row_sums(
    rows: np.ndarray, start: int, numerators: np.ndarray, acc: np.ndarray
) -> None:
    # Exact: every sum is at most 255 * window**2, which the caller's acc dtype holds. LLVM
    # keeps the arithmetic in acc's width (uint16: 16 lanes per AVX2 multiply-add).
    for c in range(acc.shape[0]):
        acc[c] = 0
    for t in range(numerators.shape[0]):
        k = numerators[t]
        if k != 0:
            src = rows[start + t]
            for c in range(acc.shape[0]):
                acc[c] += k * src[c]


@njit(cache=True, nogil=True)
def _float_row_sums(rows: np.ndarray, start: int, weights: np.ndarray, acc: np.ndarray) -> None:
    for c in range(acc.shape[0]):
        acc[c] = 0.0
    for t in range(weights.shape[0]):
        weight = weights[t]
        if weight != 0.0:
            src = rows[start + t]
            for c in range(acc.shape[0]):
                acc[c] += weight * np.float64(src[c])


@njit(cache=True, nogil=True)
def _luma(acc: np.ndarray, channels: int, scale: float, luma: np.ndarray) -> None:
    # pdqhash's luma weights (in double, as its binding) applied to filtered R, G, B.
    if channels == 1:
        for x in range(luma.shape[0]):
            luma[x] = np.float64(acc[x]) * scale
    else:
        for x in range(luma.shape[0]):
            red = np.float64(acc[3 * x])
            green = np.float64(acc[3 * x + 1])
            blue = np.float64(acc[3 * x + 2])
            luma[x] = (red * 0.299 + green * 0.587 + blue * 0.114) * scale


@njit(cache=True, nogil=True)
def sampled_filter_uint8(
    rows: np.ndarray,
    channels: int,
    row_starts: np.ndarray,
    row_weights: np.ndarray,
    row_numerators: np.ndarray,
    row_whole: np.ndarray,
    row_scale: float,
    col_starts: np.ndarray,
    col_weights: np.ndarray,
    acc: np.ndarray,
) -> np.ndarray:
    """Mv . luma . Mh^T for uint8 grey (``channels`` 1) or interleaved RGB rows (3, H x 3W).

    Whole rows sum their pixels with integer weights into ``acc`` (uint16 or uint32: exact),
    the others in float64 with the exact weights; then luma (for RGB: 0.299/0.587/0.114 of
    the filtered channels, the filter being linear) and the 64 column sums in float64. Against
    the float64 oracle only the final float32 rounding remains (about 1e-5 levels).
    """
    width = rows.shape[1] // channels
    n = row_starts.shape[0]
    m = col_starts.shape[0]
    sums = np.empty(rows.shape[1], np.float64)
    luma = np.empty(width, np.float64)
    out = np.empty((n, m), np.float32)
    for i in range(n):
        if row_whole[i]:
            _integer_row_sums(rows, row_starts[i], row_numerators[i], acc)
            _luma(acc, channels, row_scale, luma)
        else:
            _float_row_sums(rows, row_starts[i], row_weights[i], sums)
            _luma(sums, channels, 1.0, luma)
        for j in range(m):
            total = 0.0
            base = col_starts[j]
            for t in range(col_weights.shape[1]):
                total += col_weights[j, t] * luma[base + t]
            out[i, j] = total
    return out


# Integer row sums reach 255 * window**2: uint16 up to window 16 (sides up to 2,048 px), uint32
# up to window 4,104; beyond that (a 525,000 px side) every row is summed in float64.
_INTEGER_TYPES = (np.uint16, np.uint32)


@functools.lru_cache(maxsize=64)
def _integer_rows(length: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
    """The row numerators in the narrowest exact accumulator type, and the whole-row mask."""
    axis = axis_weights(length)
    top = 255 * axis.window * axis.window
    fitting = [kind for kind in _INTEGER_TYPES if top <= np.iinfo(kind).max]
    kind = fitting[0] if fitting else np.uint32
    whole = axis.whole if fitting else np.zeros_like(axis.whole)
    numerators = (axis.numerators if fitting else np.zeros_like(axis.numerators)).astype(kind)
    numerators.setflags(write=False)
    return numerators, whole


def _filter_uint8(rows: npt.NDArray[np.uint8], channels: int) -> npt.NDArray[np.float32]:
    height, width = rows.shape[0], rows.shape[1] // channels
    row_axis, col_axis = axis_weights(height), axis_weights(width)
    numerators, whole = _integer_rows(height)
    result: npt.NDArray[np.float32] = sampled_filter_uint8(
        rows,
        channels,
        row_axis.starts,
        row_axis.weights,
        numerators,
        whole,
        1.0 / (row_axis.window * row_axis.window),
        col_axis.starts,
        col_axis.weights,
        np.empty(rows.shape[1], numerators.dtype),
    )
    return result


def downsample_64_sampled(
    image: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """The Jarosz-filtered 64x64 buffer of an image of at least 5x5 (within 5e-3 of exact)."""
    if image.dtype == np.uint8:
        return _filter_uint8(np.ascontiguousarray(image), 1)
    height, width = image.shape
    row_starts, row_weights = sampled_weights(height)
    col_starts, col_weights = sampled_weights(width)
    acc = np.empty(width, np.float32)
    result: npt.NDArray[np.float32] = sampled_filter(
        image, row_starts, row_weights, col_starts, col_weights, acc
    )
    return result


def pdq_sampled(
    image: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float32], int]:
    """The 16x16 DCT block and quality through the sampled filter (DCT, quality: exact).

    For images over 64 px both ways: ``pdq.pdq_dct`` sends smaller ones, and the 64x64 case
    the reference leaves unfiltered, to the exact route.
    """
    small = downsample_64_sampled(image)
    return dct_64_to_16(small, DCT_MATRIX), int(quality_64(small))


def downsample_64_sampled_rgb(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """The filtered 64x64 buffer of the luma of an HxWx3 RGB image, never building the luma.

    The filter is linear, so filtering R, G and B and weighting the results 0.299/0.587/0.114
    is filtering the luma; the row sums run over the interleaved bytes as they lie. It differs
    from filtering pdqhash's float32-rounded luma only by that rounding
    (``pdq.RGB_LUMA_ROUNDING`` per pixel), which the guard accounts for.
    """
    height, width = rgb.shape[0], rgb.shape[1]
    return _filter_uint8(np.ascontiguousarray(rgb).reshape(height, 3 * width), 3)


def pdq_sampled_rgb(rgb: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], int]:
    """``pdq_sampled`` of the luma of an HxWx3 RGB image (``downsample_64_sampled_rgb``)."""
    small = downsample_64_sampled_rgb(rgb)
    return dct_64_to_16(small, DCT_MATRIX), int(quality_64(small))
