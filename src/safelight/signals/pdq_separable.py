"""PDQ's Jarosz filter as a sampled separable linear operator (default and fast modes).

The reference filter (two rounds of a box along rows then a box along columns, window
``ceil(dim / 128)``, edge windows averaged over the pixels present) is linear and separable,
and PDQ reads its output only at the 64x64 decimation points. So

    out64 = Mv . X . Mh^T,   Mv = (Bv Bv)[row samples],  Mh = (Bh Bh)[column samples]

where ``B`` is one box pass along an axis as a matrix. Each sampled row of ``B B`` has at
most ``2w - 1`` non-zero weights; they are computed in float64 straight from the box
definition and cached per length. One pass over the uint8 plane then does everything: each of
the 64 output rows is a weighted sum of ``2w - 1`` image rows (a vectorised multiply-add per
row), and each output is then a ``2w - 1``-weight dot product along that sum.

This is the same operator as the reference, evaluated in a different order and precision:
the reference keeps float32 running sums over the whole image, this one sums ~20 products per
axis. The 64x64 buffers agree to about 1e-4 levels (tests hold it to the float64 oracle
``jarosz_oracle_64``), and DCT coefficients to about 1e-3, so a bit could differ only where a
coefficient sits that near the median: ``pdq.pdq_dct`` checks for that and then runs the exact
route instead, so the bits are always the exact route's. The exact route (``pdq_kernels``,
``pdq_grey``) also stays for every decode that is itself exact.
"""

from __future__ import annotations

import functools

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


@functools.lru_cache(maxsize=64)
def sampled_weights(length: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Starts and weights of the 64 sampled rows of (box . box) along an axis of ``length``.

    Row ``i`` is ``weights[i]`` applied to pixels ``starts[i] .. starts[i] + span - 1``,
    ``span = min(2w - 1, length)``; the start is clamped into the axis and weights outside a
    row's true support are zero. Output ``s`` of two passes is the mean, over the first-pass
    outputs ``m`` in its window, of the means over their windows: each ``m`` adds
    ``1 / (count_s * count_m)`` to its window, summed here as a difference array in float64
    (vectorised: this runs once per image size in every worker).
    """
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
    share = np.where(present, 1.0 / (count * (high - low + 1)), 0.0)
    starts = np.clip(np.maximum(0, samples[:, 0] - before) - before, 0, length - span)
    offset_low = np.clip(low - starts[:, None], 0, span)
    offset_high = np.clip(high + 1 - starts[:, None], 0, span)
    rows = np.broadcast_to(np.arange(PDQ_DOWNSAMPLE)[:, None], middle.shape)
    difference = np.zeros((PDQ_DOWNSAMPLE, span + 1))
    np.add.at(difference, (rows, offset_low), share)
    np.add.at(difference, (rows, offset_high), -share)
    weights = np.cumsum(difference, axis=1)[:, :span].astype(np.float32)
    starts = starts.astype(np.int64)
    starts.setflags(write=False)
    weights.setflags(write=False)
    return starts, weights


@njit(cache=True, nogil=True)
def sampled_filter(
    image: np.ndarray,
    row_starts: np.ndarray,
    row_weights: np.ndarray,
    col_starts: np.ndarray,
    col_weights: np.ndarray,
    acc: np.ndarray,
) -> np.ndarray:
    """Mv . image . Mh^T for a uint8 or float32 image; ``acc`` is a float32 row of scratch."""
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


def downsample_64_sampled(
    image: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """The Jarosz-filtered 64x64 buffer of an image of at least 5x5 (within 5e-3 of exact)."""
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


@njit(cache=True, nogil=True)
def sampled_filter_rgb(
    rows: np.ndarray,
    row_starts: np.ndarray,
    row_weights: np.ndarray,
    col_starts: np.ndarray,
    col_weights: np.ndarray,
    acc: np.ndarray,
) -> np.ndarray:
    """``sampled_filter`` of the luma of RGB rows (H x 3W uint8), luma weights applied last.

    The filter is linear, so filtering R, G and B and weighting the results 0.299/0.587/0.114
    is filtering the luma. The row pass runs over the interleaved bytes as they lie (one
    contiguous multiply-add per row, like the grey filter), which is cheaper than computing a
    float luma image first. It differs from filtering pdqhash's float32-rounded luma only by
    that rounding (``pdq.RGB_LUMA_ROUNDING`` per pixel), which the guard accounts for.
    """
    width3 = rows.shape[1]
    n = row_starts.shape[0]
    m = col_starts.shape[0]
    out = np.empty((n, m), np.float32)
    for i in range(n):
        for c in range(width3):
            acc[c] = 0.0
        for t in range(row_weights.shape[1]):
            weight = row_weights[i, t]
            if weight != 0.0:
                src = rows[row_starts[i] + t]
                for c in range(width3):
                    acc[c] += weight * np.float32(src[c])
        for j in range(m):
            total = 0.0
            base = 3 * col_starts[j]
            for t in range(col_weights.shape[1]):
                k = base + 3 * t
                luma = 0.299 * acc[k] + 0.587 * acc[k + 1] + 0.114 * acc[k + 2]
                total += col_weights[j, t] * luma
            out[i, j] = total
    return out


def pdq_sampled_rgb(rgb: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], int]:
    """``pdq_sampled`` of the luma of an HxWx3 RGB image, without building the luma image."""
    height, width = rgb.shape[0], rgb.shape[1]
    row_starts, row_weights = sampled_weights(height)
    col_starts, col_weights = sampled_weights(width)
    rows = np.ascontiguousarray(rgb).reshape(height, 3 * width)
    acc = np.empty(3 * width, np.float32)
    small = sampled_filter_rgb(rows, row_starts, row_weights, col_starts, col_weights, acc)
    return dct_64_to_16(small, DCT_MATRIX), int(quality_64(small))
