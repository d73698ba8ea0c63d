"""The slow, obvious PDQ: a line-by-line port of Meta's C++ reference (pdqhashing.cpp,
downscaling.cpp, torben.cpp), in plain Python loops over float32 values.

It exists to be read and to hold the fast kernels in ``pdq.py`` to account: every float32
operation happens in the same order as in the C++, so the two must agree bit for bit. It is
far too slow for real images (use small arrays); never call it from production code.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from safelight.constants import PDQ_DCT_SIZE, PDQ_DOWNSAMPLE, PDQ_JAROSZ_PASSES, PDQ_MIN_DIMENSION

F32 = np.float32


def jarosz_window(old_dimension: int, new_dimension: int = PDQ_DOWNSAMPLE) -> int:
    """computeJaroszFilterWindowSize: ceil(old / (2 * new))."""
    return (old_dimension + 2 * new_dimension - 1) // (2 * new_dimension)


def box_1d(invec: list[np.float32], window: int) -> list[np.float32]:
    """box1DFloat: a running-sum box filter with shrunken windows at both edges."""
    n = len(invec)
    half = (window + 2) // 2
    out: list[np.float32] = [F32(0)] * n
    li = ri = oi = 0
    total = F32(0.0)
    count = 0
    for _ in range(half - 1):
        total = F32(total + invec[ri])
        count += 1
        ri += 1
    for _ in range(window - half + 1):
        total = F32(total + invec[ri])
        count += 1
        out[oi] = F32(total / F32(count))
        ri += 1
        oi += 1
    for _ in range(n - window):
        total = F32(total + invec[ri])
        total = F32(total - invec[li])
        out[oi] = F32(total / F32(count))
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        total = F32(total - invec[li])
        count -= 1
        out[oi] = F32(total / F32(count))
        li += 1
        oi += 1
    return out


def jarosz_filter(luma: list[list[np.float32]], rows_window: int, cols_window: int) -> None:
    """jaroszFilterFloat: passes of box-along-rows then box-along-columns, in place."""
    height, width = len(luma), len(luma[0])
    for _ in range(PDQ_JAROSZ_PASSES):
        for i in range(height):
            luma[i] = box_1d(luma[i], rows_window)
        for j in range(width):
            column = box_1d([luma[i][j] for i in range(height)], cols_window)
            for i in range(height):
                luma[i][j] = column[i]


def decimate(luma: list[list[np.float32]]) -> list[list[np.float32]]:
    """decimateFloat: sample the filtered buffer at 64x64 cell centres."""
    height, width = len(luma), len(luma[0])
    size = PDQ_DOWNSAMPLE
    return [
        [
            luma[int(((i + 0.5) * height) / size)][int(((j + 0.5) * width) / size)]
            for j in range(size)
        ]
        for i in range(size)
    ]


def quality_metric(buf: list[list[np.float32]]) -> int:
    """computePDQImageDomainQualityMetric: summed truncated neighbour gradients / 90."""
    gradient_sum = 0
    size = PDQ_DOWNSAMPLE
    for i in range(size - 1):
        for j in range(size):
            d = F32(F32(F32(buf[i][j] - buf[i + 1][j]) * F32(100)) / F32(255))
            gradient_sum += abs(int(d))
    for i in range(size):
        for j in range(size - 1):
            d = F32(F32(F32(buf[i][j] - buf[i][j + 1]) * F32(100)) / F32(255))
            gradient_sum += abs(int(d))
    return min(100, gradient_sum // 90)


def dct_matrix() -> list[list[np.float32]]:
    """The 16x64 DCT-II basis without the DC row. As in the C++, the scale factor is rounded
    to float first, the product with the double cosine is taken in double, then stored as float."""
    scale = float(F32(math.sqrt(2.0 / PDQ_DOWNSAMPLE)))
    return [
        [
            F32(scale * math.cos((math.pi / 2 / PDQ_DOWNSAMPLE) * (i + 1) * (2 * j + 1)))
            for j in range(PDQ_DOWNSAMPLE)
        ]
        for i in range(PDQ_DCT_SIZE)
    ]


def dct_64_to_16(buf: list[list[np.float32]]) -> list[list[np.float32]]:
    """dct64To16: B = D A D^T with float32 accumulation in the reference's loop order."""
    d = dct_matrix()
    t = [[F32(0)] * PDQ_DOWNSAMPLE for _ in range(PDQ_DCT_SIZE)]
    for i in range(PDQ_DCT_SIZE):
        for j in range(PDQ_DOWNSAMPLE):
            acc = F32(0.0)
            for k in range(PDQ_DOWNSAMPLE):
                acc = F32(acc + F32(d[i][k] * buf[k][j]))
            t[i][j] = acc
    out = [[F32(0)] * PDQ_DCT_SIZE for _ in range(PDQ_DCT_SIZE)]
    for i in range(PDQ_DCT_SIZE):
        for j in range(PDQ_DCT_SIZE):
            acc = F32(0.0)
            for k in range(PDQ_DOWNSAMPLE):
                acc = F32(acc + F32(t[i][k] * d[j][k]))
            out[i][j] = acc
    return out


def torben_median(values: list[np.float32]) -> np.float32:
    """Torben's selection: the lower median without sorting (torben.cpp)."""
    n = len(values)
    lo = hi = values[0]
    for v in values[1:]:
        lo = min(lo, v)
        hi = max(hi, v)
    while True:
        guess = F32(F32(lo + hi) / F32(2))
        less = greater = equal = 0
        max_lt, min_gt = lo, hi
        for v in values:
            if v < guess:
                less += 1
                max_lt = max(max_lt, v)
            elif v > guess:
                greater += 1
                min_gt = min(min_gt, v)
            else:
                equal += 1
        if less <= (n + 1) // 2 and greater <= (n + 1) // 2:
            break
        if less > greater:
            hi = max_lt
        else:
            lo = min_gt
    if less >= (n + 1) // 2:
        return max_lt
    if less + equal >= (n + 1) // 2:
        return guess
    return min_gt


def bits_from_dct(dct: list[list[np.float32]]) -> list[int]:
    """Bit k = i*16 + j is set iff coefficient (i, j) is strictly above the median."""
    flat = [v for row in dct for v in row]
    median = torben_median(flat)
    return [1 if v > median else 0 for v in flat]


def pdq_reference(luma: npt.NDArray[np.float32]) -> tuple[list[int], int, list[list[np.float32]]]:
    """Hash a float32 luma array: (256 bits with bit k at index k, quality, 16x16 DCT)."""
    height, width = luma.shape
    if height < PDQ_MIN_DIMENSION or width < PDQ_MIN_DIMENSION:
        zero = [[F32(0)] * PDQ_DCT_SIZE for _ in range(PDQ_DCT_SIZE)]
        return [0] * 256, 0, zero
    buf = [[F32(v) for v in row] for row in luma.astype(np.float32)]
    if height == PDQ_DOWNSAMPLE and width == PDQ_DOWNSAMPLE:
        small = buf
    else:
        jarosz_filter(buf, jarosz_window(width), jarosz_window(height))
        small = decimate(buf)
    quality = quality_metric(small)
    dct = dct_64_to_16(small)
    return bits_from_dct(dct), quality, dct
