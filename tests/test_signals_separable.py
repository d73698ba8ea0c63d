"""The sampled separable Jarosz filter against its float64 oracle and the exact kernels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.signals import pdq, pdq_separable
from safelight.signals import pdq_kernels as k
from safelight.signals.pdq_separable import (
    axis_weights,
    box_matrix,
    box_span,
    downsample_64_sampled,
    downsample_64_sampled_rgb,
    jarosz_oracle_64,
    sampled_weights,
)
from safelight.signals.synthetic import photo_like

from .test_signals_kernels import grey_images

# Levels (0-255) of disagreement allowed on the 64x64 buffer: float32 products of ~20 terms a
# side against a float64 evaluation; measured below 2e-5 on 2 MP images.
ORACLE_ATOL = 1e-3
# The exact kernels keep float32 running sums over the whole image: a few 1e-4 levels.
EXACT_ATOL = 5e-3
# uint8 images sum their rows in integers, exactly: only the float32 rounding of the 64x64
# result is left (half an ulp at 255 is 7.6e-6 levels).
UINT8_ORACLE_ATOL = 2e-5


@st.composite
def shapes_and_images(draw: st.DrawFn) -> np.ndarray:
    """Grey images of any size from 1x1: tiny, under 64, odd, and windows from 1 to 6."""
    if draw(st.booleans()):
        return draw(grey_images())
    height = draw(st.integers(1, 80))
    width = draw(st.integers(1, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.integers(0, 256, (height, width), dtype=np.uint8)


def test_box_matrix_is_box1dfloat() -> None:
    # Window 3 on 6 pixels: half = 2, so output j averages [j - 1, j + 1] clipped.
    matrix = box_matrix(300)  # window ceil(300 / 128) = 3
    assert pdq_separable.jarosz_window(300) == 3
    np.testing.assert_allclose(matrix[0, :3], [0.5, 0.5, 0])
    np.testing.assert_allclose(matrix[5, 4:7], [1 / 3] * 3)
    np.testing.assert_allclose(matrix[299, 297:], [0, 0.5, 0.5])
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    # Even windows reach one further forward than back (window 2: [j, j + 1]).
    even = box_matrix(200)
    np.testing.assert_allclose(even[10, 9:13], [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(even[199, 198:], [0, 1.0])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes_and_images())
def test_sampled_filter_equals_the_float64_oracle(grey: np.ndarray) -> None:
    expected = jarosz_oracle_64(grey)
    np.testing.assert_allclose(downsample_64_sampled(grey), expected, rtol=0, atol=ORACLE_ATOL)
    as_float = downsample_64_sampled(grey.astype(np.float32))
    np.testing.assert_allclose(as_float, expected, rtol=0, atol=ORACLE_ATOL)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grey_images())
def test_oracle_is_the_exact_kernels_filter_in_float64(grey: np.ndarray) -> None:
    # Ties the oracle (and so the sampled filter) to the bit-exact kernels: same operator.
    exact = k.downsample_64(grey, k.Workspace(), skip_at_64=False)
    np.testing.assert_allclose(jarosz_oracle_64(grey), exact, rtol=0, atol=EXACT_ATOL)


def test_weights_are_the_sampled_rows_of_the_squared_box() -> None:
    for length in (1, 5, 63, 64, 65, 127, 128, 129, 300, 1199, 1600):
        starts, weights = sampled_weights(length)
        box = box_matrix(length)
        squared = (box @ box)[k.decimation_samples(length)]
        dense = np.zeros_like(squared)
        for i, start in enumerate(starts):
            dense[i, start : start + weights.shape[1]] = weights[i]
        np.testing.assert_allclose(dense, squared, rtol=1e-6, atol=1e-9)
        assert weights.shape[1] == min(2 * pdq_separable.jarosz_window(length) - 1, length)


def test_kernel_runs_as_plain_python_with_the_same_result() -> None:
    rng = np.random.default_rng(9)
    grey = rng.integers(0, 256, (140, 300), dtype=np.uint8)
    rows, cols = sampled_weights(140), sampled_weights(300)
    args = (grey, *rows, *cols)
    compiled = pdq_separable.sampled_filter(*args, np.empty(300, np.float32))
    plain = pdq_separable.sampled_filter.py_func(*args, np.empty(300, np.float32))
    np.testing.assert_allclose(compiled, plain, rtol=0, atol=1e-4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grey_images(), st.booleans())
def test_hash_bits_equal_the_exact_route(grey: np.ndarray, as_float: bool) -> None:
    # Noise, smooth, flat and black/white images, 5-300 x 5-700: where a coefficient sits too
    # near the median the sampled result is dropped for the exact route, so bits always agree.
    luma = grey.astype(np.float32) if as_float else grey
    exact = pdq.pdq_from_luma(luma)
    sampled = pdq.pdq_from_luma(luma, exact=False)
    assert sampled.digest == exact.digest
    assert abs(sampled.quality - exact.quality) <= 1
    dihedral = pdq.pdq_dihedral_from_luma(luma, exact=False)
    assert [h.digest for h in dihedral] == [h.digest for h in pdq.pdq_dihedral_from_luma(luma)]


def test_degenerate_images_fall_back_and_photos_do_not() -> None:
    # Flat and purely 1-D images: most coefficients are rounding noise around zero. Through
    # the sampled filter alone a flat 1600x1200 grey differed from the exact route by 89 bits
    # and a horizontal ramp by 100; they must take the exact route.
    flat = np.full((1200, 1600), 128, np.uint8)
    ramp = np.broadcast_to(np.linspace(0, 255, 700).astype(np.uint8), (300, 700)).copy()
    for image in (flat, ramp):
        assert pdq._sampled_dct(image, dihedral=False) is None
        assert pdq.pdq_from_luma(image, exact=False) == pdq.pdq_from_luma(image)
    kept = 0
    for seed in range(20):
        photo = photo_like(seed, 640, 480).mean(axis=2).astype(np.uint8)
        kept += pdq._sampled_dct(photo, dihedral=False) is not None
    assert kept >= 16  # the fast route is the rule, not the exception


def test_bits_settled_needs_clear_space_around_the_median() -> None:
    values = np.arange(256, dtype=np.float32).reshape(16, 16)  # median 127, neighbours 1 away
    assert pdq.bits_settled(values, 0.49)
    assert not pdq.bits_settled(values, 0.5)
    crowded = values.copy()
    crowded.flat[128] = 127.01  # just above the median
    assert not pdq.bits_settled(crowded, 0.01)
    crowded.flat[128] = 128
    crowded.flat[126] = 126.99  # just below it: the two may swap, but both stay 0 bits
    assert pdq.bits_settled(crowded, 0.01)
    assert not pdq.bits_settled(crowded, 0.5)


@pytest.mark.parametrize("shape", [(4, 100), (100, 4), (64, 64), (569, 8), (64, 900), (20, 65)])
def test_images_64_px_or_less_on_a_side_take_the_exact_route(shape: tuple[int, int]) -> None:
    # Under 5 px: zero hash; 64x64: no filter; otherwise a side <= 64 repeats samples, and
    # the bits of the resulting exact-zero DCT coefficients are rounding noise (seen: 17 bits
    # apart on a 569x8 noise image through the sampled filter).
    rng = np.random.default_rng(4)
    grey = rng.integers(0, 256, shape, dtype=np.uint8)
    assert pdq.pdq_from_luma(grey, exact=False) == pdq.pdq_from_luma(grey)
    dihedral = pdq.pdq_dihedral_from_luma(grey, exact=False)
    assert dihedral == pdq.pdq_dihedral_from_luma(grey)


def oracle_by_running_sums(image: np.ndarray) -> np.ndarray:
    """The two box passes from float64 prefix sums and ``box_span`` (no weights, no dense
    matrices), then decimation: an oracle for images too tall for ``box_matrix``."""
    out = image.astype(np.float64)
    for _ in range(2):
        for axis in (1, 0):
            length = out.shape[axis]
            spans = np.array([box_span(length, j) for j in range(length)])
            moved = np.moveaxis(out, axis, 0)
            prefix = np.concatenate([np.zeros((1, *moved.shape[1:])), np.cumsum(moved, axis=0)])
            counts = (spans[:, 1] - spans[:, 0] + 1).reshape(-1, *[1] * (moved.ndim - 1))
            out = np.moveaxis((prefix[spans[:, 1] + 1] - prefix[spans[:, 0]]) / counts, 0, axis)
    picked = np.ix_(k.decimation_samples(image.shape[0]), k.decimation_samples(image.shape[1]))
    sampled: np.ndarray = out[picked]
    return sampled


LENGTHS = (1, 5, 63, 64, 65, 127, 128, 129, 300, 1155, 1199, 1200, 1600)


@pytest.mark.parametrize("length", LENGTHS)
def test_whole_rows_are_integer_triangles_over_the_window_squared(length: int) -> None:
    # Against the dense (B B)[samples]: whole rows' weights are numerators / window**2 exactly,
    # numerators 1, 2 .. w .. 2, 1; only rows where a window meets the axis end are not whole.
    axis = axis_weights(length)
    box = box_matrix(length)
    dense = (box @ box)[k.decimation_samples(length)]
    window, span = axis.window, axis.weights.shape[1]
    triangle = np.minimum(np.arange(1, 2 * window), np.arange(2 * window - 1, 0, -1))
    for i in np.flatnonzero(axis.whole):
        start = axis.starts[i]
        row = np.zeros(length)
        row[start : start + span] = axis.numerators[i] / window**2
        np.testing.assert_allclose(row, dense[i], rtol=0, atol=1e-15)
        assert list(axis.numerators[i][axis.numerators[i] > 0]) == list(triangle[:span])
    assert not axis.numerators[~axis.whole].any()
    if length >= 300:
        assert axis.whole[1:-1].all()  # the integer path is the rule


def test_accumulator_type_is_the_narrowest_exact_one() -> None:
    # Row sums reach 255 * window**2: uint16 to window 16 (2,048 px), uint32 to window 4,104.
    assert pdq_separable._integer_rows(2048)[0].dtype == np.uint16
    assert pdq_separable._integer_rows(2049)[0].dtype == np.uint32
    assert pdq_separable._integer_rows(4104 * 128)[1][1:-1].all()
    assert not pdq_separable._integer_rows(4105 * 128)[1].any()  # float64 for every row


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes_and_images())
def test_uint8_filter_is_the_oracle_up_to_float32_rounding(grey: np.ndarray) -> None:
    expected = jarosz_oracle_64(grey)
    np.testing.assert_allclose(
        downsample_64_sampled(grey), expected, rtol=0, atol=UINT8_ORACLE_ATOL
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 200), st.integers(1, 300), st.integers(0, 2**32 - 1), st.booleans())
def test_rgb_filter_is_the_oracle_of_the_float64_luma(
    height: int, width: int, seed: int, saturated: bool
) -> None:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if saturated:
        rgb = np.where(rgb > 127, 255, 0).astype(np.uint8)
    channels = rgb.astype(np.float64)
    luma = channels[..., 0] * 0.299 + channels[..., 1] * 0.587 + channels[..., 2] * 0.114
    filtered = downsample_64_sampled_rgb(rgb)
    np.testing.assert_allclose(filtered, jarosz_oracle_64(luma), rtol=0, atol=UINT8_ORACLE_ATOL)


@pytest.mark.parametrize("height", [2048, 2049, 2500, 4105 * 128])
def test_tall_images_keep_exact_row_sums_in_every_accumulator(height: int) -> None:
    # uint16 (2,048), uint32 (2,049 and 2,500) and the float64 rows of a 525,440 px side.
    rng = np.random.default_rng(height)
    width = 70 if height < 10_000 else 5
    grey = rng.integers(0, 256, (height, width), dtype=np.uint8)
    expected = oracle_by_running_sums(grey)
    np.testing.assert_allclose(
        downsample_64_sampled(grey), expected, rtol=0, atol=UINT8_ORACLE_ATOL
    )
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    np.testing.assert_allclose(
        downsample_64_sampled_rgb(rgb), expected, rtol=0, atol=UINT8_ORACLE_ATOL
    )


def test_running_sums_oracle_is_the_dense_oracle() -> None:
    grey = np.random.default_rng(3).integers(0, 256, (300, 700), dtype=np.uint8)
    np.testing.assert_allclose(oracle_by_running_sums(grey), jarosz_oracle_64(grey), atol=1e-9)


def test_uint8_kernel_runs_as_plain_python_with_the_same_result() -> None:
    rng = np.random.default_rng(11)
    rgb = rng.integers(0, 256, (140, 300, 3), dtype=np.uint8)
    rows, cols = axis_weights(140), axis_weights(300)
    numerators, whole = pdq_separable._integer_rows(140)
    args = (
        rgb.reshape(140, 900), 3, rows.starts, rows.weights, numerators, whole,
        1.0 / rows.window**2, cols.starts, cols.weights,
    )  # fmt: skip
    compiled = pdq_separable.sampled_filter_uint8(*args, np.empty(900, numerators.dtype))
    plain = pdq_separable.sampled_filter_uint8.py_func(*args, np.empty(900, numerators.dtype))
    np.testing.assert_array_equal(compiled, plain)
