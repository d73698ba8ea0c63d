"""Compiled PDQ kernels, bit-exact with Meta's C++ reference.

Exactness comes from doing every float32 operation of the reference in the same order for each
pixel; speed comes from doing many pixels' independent chains at once. The reference runs each
row's box filter as one long chain of dependent additions; here a block of rows is transposed
into a tile so the chains of 64 rows advance side by side in SIMD lanes, and column passes
advance a whole row of running sums at a time. ``pdq_grey.py`` has the faster route for uint8
grey input. ``tests/pdq_reference.py`` is the line-by-line port these kernels are tested against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from safelight.constants import PDQ_DCT_SIZE, PDQ_DOWNSAMPLE, PDQ_JAROSZ_PASSES

# Rows processed together in a horizontal pass: 64 float32 lanes (eight AVX2 registers), moved
# in and out of the transposed tile 16 rows (two registers) at a time.
_TILE_ROWS = 64
_ROW_BLOCK = 16


def _dct_matrix() -> npt.NDArray[np.float32]:
    # As pdqhashing.cpp: float scale factor, double cosine, product stored as float.
    scale = float(np.float32(math.sqrt(2.0 / PDQ_DOWNSAMPLE)))
    i = np.arange(1, PDQ_DCT_SIZE + 1, dtype=np.float64)[:, None]
    j = np.arange(PDQ_DOWNSAMPLE, dtype=np.float64)[None, :]
    return (scale * np.cos((math.pi / 2.0 / PDQ_DOWNSAMPLE) * i * (2 * j + 1))).astype(np.float32)


DCT_MATRIX = _dct_matrix()


def jarosz_window(length: int) -> int:
    """The reference's box window along an axis of ``length`` pixels: ceil(length / 128)."""
    return (length + 2 * PDQ_DOWNSAMPLE - 1) // (2 * PDQ_DOWNSAMPLE)


@njit(cache=True, nogil=True)
def _store(
    sums: np.ndarray, d: np.float32, dst: np.ndarray, oi: int, samples: np.ndarray, k: int
) -> int:
    # Write output row ``oi`` wherever the sample list asks for it (it may repeat when the
    # image is under 64 pixels high) and return the next pending sample.
    width = sums.shape[0]
    while k < samples.shape[0] and samples[k] == oi:
        for c in range(width):
            dst[k, c] = sums[c] / d
        k += 1
    return k


@njit(cache=True, nogil=True)
def box_columns_sampled(src: np.ndarray, dst: np.ndarray, window: int, samples: np.ndarray) -> None:
    """box1DFloat down every column, keeping only the output rows listed in ``samples``.

    The running sums still pass every row (the reference's rounding depends on the whole
    history); only the divisions and stores are skipped.
    """
    height, width = src.shape
    half = (window + 2) // 2
    sums = np.zeros(width, np.float32)
    li = 0
    ri = 0
    oi = 0
    k = 0
    count = 0
    for _ in range(half - 1):
        for c in range(width):
            sums[c] += src[ri, c]
        count += 1
        ri += 1
    for _ in range(window - half + 1):
        count += 1
        for c in range(width):
            sums[c] += src[ri, c]
        k = _store(sums, np.float32(count), dst, oi, samples, k)
        ri += 1
        oi += 1
    for _ in range(height - window):
        for c in range(width):
            sums[c] += src[ri, c]
            sums[c] -= src[li, c]
        k = _store(sums, np.float32(count), dst, oi, samples, k)
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        count -= 1
        for c in range(width):
            sums[c] -= src[li, c]
        k = _store(sums, np.float32(count), dst, oi, samples, k)
        li += 1
        oi += 1


@njit(cache=True, nogil=True)
def box_columns(src: np.ndarray, dst: np.ndarray, window: int) -> None:
    """box1DFloat down every column at once: one running sum per column."""
    height, width = src.shape
    half = (window + 2) // 2
    sums = np.zeros(width, np.float32)
    li = 0
    ri = 0
    oi = 0
    count = 0
    for _ in range(half - 1):
        for c in range(width):
            sums[c] += src[ri, c]
        count += 1
        ri += 1
    for _ in range(window - half + 1):
        count += 1
        d = np.float32(count)
        for c in range(width):
            sums[c] += src[ri, c]
            dst[oi, c] = sums[c] / d
        ri += 1
        oi += 1
    d = np.float32(count)
    for _ in range(height - window):
        for c in range(width):
            sums[c] += src[ri, c]
            sums[c] -= src[li, c]
            dst[oi, c] = sums[c] / d
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        count -= 1
        d = np.float32(count)
        for c in range(width):
            sums[c] -= src[li, c]
            dst[oi, c] = sums[c] / d
        li += 1
        oi += 1


@njit(cache=True, nogil=True)
def _load_tile(src: np.ndarray, tile: np.ndarray, r0: int, rows: int) -> None:
    """Transpose ``rows`` rows of ``src`` from ``r0`` into the columns of ``tile``.

    A full tile is copied as four 16-row sub-blocks, each column-outer so each tile row is
    written whole with a constant trip count the compiler unrolls (measured 2-3x faster than
    the naive loop; 16 rows at a time stays within the cache lines a core keeps in flight).
    """
    width = src.shape[1]
    if rows == _TILE_ROWS:
        for s0 in range(0, _TILE_ROWS, _ROW_BLOCK):
            for j in range(width):
                for t in range(_ROW_BLOCK):
                    tile[j, s0 + t] = src[r0 + s0 + t, j]
    else:
        for j in range(width):
            for t in range(rows):
                tile[j, t] = src[r0 + t, j]


@njit(cache=True, nogil=True)
def _store_tile(out: np.ndarray, dst: np.ndarray, r0: int, rows: int) -> None:
    """The inverse of ``_load_tile``: columns of ``out`` back into rows of ``dst``."""
    width = out.shape[0]
    if rows == _TILE_ROWS:
        for s0 in range(0, _TILE_ROWS, _ROW_BLOCK):
            for j in range(width):
                for t in range(_ROW_BLOCK):
                    dst[r0 + s0 + t, j] = out[j, s0 + t]
    else:
        for t in range(rows):
            for j in range(width):
                dst[r0 + t, j] = out[j, t]


@njit(cache=True, nogil=True)
def box_rows(src: np.ndarray, dst: np.ndarray, window: int) -> None:
    """box1DFloat along every row, 64 rows at a time through a transposed tile.

    Down the tile, 64 rows' running sums advance side by side (eight AVX2 registers), enough
    independent chains to hide the add latency that made 16-row tiles latency-bound.
    """
    height, width = src.shape
    tile = np.zeros((width, _TILE_ROWS), np.float32)
    out = np.empty((width, _TILE_ROWS), np.float32)
    for r0 in range(0, height, _TILE_ROWS):
        rows = min(_TILE_ROWS, height - r0)
        _load_tile(src, tile, r0, rows)
        box_columns(tile, out, window)
        _store_tile(out, dst, r0, rows)


@njit(cache=True, nogil=True)
def box_rows_sampled(src: np.ndarray, window: int, samples: np.ndarray) -> np.ndarray:
    """box1DFloat along every row, returning only the columns listed in ``samples``."""
    height, width = src.shape
    n = samples.shape[0]
    dst = np.empty((height, n), np.float32)
    tile = np.zeros((width, _TILE_ROWS), np.float32)
    out = np.empty((n, _TILE_ROWS), np.float32)
    for r0 in range(0, height, _TILE_ROWS):
        rows = min(_TILE_ROWS, height - r0)
        _load_tile(src, tile, r0, rows)
        box_columns_sampled(tile, out, window, samples)
        for t in range(rows):
            for k in range(n):
                dst[r0 + t, k] = out[k, t]
    return dst


@njit(cache=True, nogil=True)
def luma_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """float32(0.299 R + 0.587 G + 0.114 B) evaluated in double, as pdqhash's binding does."""
    height, width = rgb.shape[0], rgb.shape[1]
    out = np.empty((height, width), np.float32)
    for i in range(height):
        for j in range(width):
            r = np.float64(rgb[i, j, 0])
            g = np.float64(rgb[i, j, 1])
            b = np.float64(rgb[i, j, 2])
            out[i, j] = np.float32(r * 0.299 + g * 0.587 + b * 0.114)
    return out


@njit(cache=True, nogil=True)
def quality_64(buf: np.ndarray) -> int:
    """Sum of truncated neighbour gradients over the 64x64 buffer, / 90, capped at 100."""
    size = PDQ_DOWNSAMPLE
    hundred = np.float32(100)
    scale = np.float32(255)
    total = 0
    for i in range(size - 1):
        for j in range(size):
            total += abs(int(((buf[i, j] - buf[i + 1, j]) * hundred) / scale))
    for i in range(size):
        for j in range(size - 1):
            total += abs(int(((buf[i, j] - buf[i, j + 1]) * hundred) / scale))
    return min(100, total // 90)


@njit(cache=True, nogil=True)
def dct_64_to_16(buf: np.ndarray, dct: np.ndarray) -> np.ndarray:
    """B = D A D^T, accumulating in float32 in the reference's order (k ascending)."""
    n = PDQ_DOWNSAMPLE
    m = PDQ_DCT_SIZE
    t = np.zeros((m, n), np.float32)
    for i in range(m):
        for k in range(n):
            dik = dct[i, k]
            for j in range(n):  # j innermost vectorises; per (i, j) the k order is unchanged
                t[i, j] += dik * buf[k, j]
    out = np.empty((m, m), np.float32)
    for i in range(m):
        for j in range(m):
            acc = np.float32(0.0)
            for k in range(n):
                acc += t[i, k] * dct[j, k]
            out[i, j] = acc
    return out


def decimation_samples(length: int) -> npt.NDArray[np.int64]:
    """decimateFloat's sample positions: int((i + 0.5) * length / 64) for i in 0..63."""
    return np.array(
        [int(((i + 0.5) * length) / PDQ_DOWNSAMPLE) for i in range(PDQ_DOWNSAMPLE)], np.int64
    )


class Workspace:
    """Scratch buffers reused from image to image.

    Fresh multi-megabyte arrays cost page faults on first touch (measured: a third of the
    time of a 2 MP hash), so each thread keeps two buffers and grows them when needed.
    """

    def __init__(self) -> None:
        self._first = np.empty(0, np.float32)
        self._second = np.empty(0, np.float32)
        self._scratch: dict[str, npt.NDArray[Any]] = {}

    def buffers(
        self, height: int, width: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        size = height * width
        if self._first.size < size:
            self._first = np.empty(size, np.float32)
            self._second = np.empty(size, np.float32)
        return (
            self._first[:size].reshape(height, width),
            self._second[:size].reshape(height, width),
        )

    def scratch(self, name: str, shape: tuple[int, ...], dtype: type) -> npt.NDArray[Any]:
        """A reusable array of this shape and dtype, grown when needed (see class docstring)."""
        size = int(np.prod(shape))
        flat = self._scratch.get(name)
        if flat is None or flat.dtype != dtype or flat.size < size:
            flat = self._scratch[name] = np.empty(size, dtype)
        return flat[:size].reshape(shape)


def downsample_64(
    image: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    workspace: Workspace,
    *,
    skip_at_64: bool = True,
) -> npt.NDArray[np.float32]:
    """Jarosz tent filter (two box passes each way) then decimation to 64x64 cell centres.

    ``image`` is float32 luma or uint8 grey (exact as float32); it is never modified. The
    reference skips filtering for an image that is already 64x64, except in its dihedral
    function, which always filters (``skip_at_64=False`` reproduces that).
    """
    height, width = image.shape
    if skip_at_64 and height == PDQ_DOWNSAMPLE and width == PDQ_DOWNSAMPLE:
        return image.astype(np.float32)
    rows_window, cols_window = jarosz_window(width), jarosz_window(height)
    first, second = workspace.buffers(height, width)
    source: npt.NDArray[np.float32] | npt.NDArray[np.uint8] = image
    for _ in range(PDQ_JAROSZ_PASSES - 1):
        box_rows(source, second, rows_window)
        box_columns(second, first, cols_window)
        source = first
    # The last pass feeds only the 64x64 decimation: keep just the sampled columns and rows.
    columns = box_rows_sampled(source, rows_window, decimation_samples(width))
    out = np.empty((PDQ_DOWNSAMPLE, PDQ_DOWNSAMPLE), np.float32)
    box_columns_sampled(columns, out, cols_window, decimation_samples(height))
    return out


def pdq_float(
    image: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    workspace: Workspace,
    *,
    skip_at_64: bool = True,
) -> tuple[npt.NDArray[np.float32], int]:
    """The 16x16 DCT block and quality of a luma image of at least 5x5 pixels."""
    small = downsample_64(image, workspace, skip_at_64=skip_at_64)
    return dct_64_to_16(small, DCT_MATRIX), int(quality_64(small))
