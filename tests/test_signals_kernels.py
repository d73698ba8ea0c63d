"""The sped-up PDQ kernels against pdqhash and against their own slow, obvious forms."""

from __future__ import annotations

import numpy as np
import pdqhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from safelight.signals import pdq, pdq_grey
from safelight.signals import pdq_kernels as k


def pdqhash_hex(bits: np.ndarray) -> str:
    return f"{int(''.join(str(int(b)) for b in bits), 2):064x}"


@st.composite
def grey_images(draw: st.DrawFn) -> np.ndarray:
    # Widths past 128 give Jarosz windows of 2..6, odd and even (the edge rules differ).
    height = draw(st.integers(5, 300))
    width = draw(st.integers(5, 700))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "smooth", "flat", "extremes"]))
    if kind == "noise":
        return rng.integers(0, 256, (height, width), dtype=np.uint8)
    if kind == "flat":
        return np.full((height, width), draw(st.integers(0, 255)), np.uint8)
    if kind == "extremes":
        return (rng.integers(0, 2, (height, width)) * 255).astype(np.uint8)
    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    return (127 + 120 * np.sin(6 * x + 4 * y + rng.uniform(0, 6))).astype(np.uint8)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grey_images())
def test_uint8_luma_path_bit_exact_with_pdqhash(grey: np.ndarray) -> None:
    bits, quality = pdqhash.compute(np.ascontiguousarray(np.stack([grey] * 3, axis=2)))
    ours = pdq.pdq_from_luma(grey)
    assert ours.hex == pdqhash_hex(bits)
    assert ours.quality == quality
    assert ours == pdq.pdq_from_luma(grey.astype(np.float32))  # the float kernels agree


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 70), st.integers(1, 300))),
    st.integers(1, 40),
)
def test_integer_row_sums_equal_the_float_running_sums(grey: np.ndarray, window: int) -> None:
    window = min(window, grey.shape[1])
    expected = np.empty(grey.shape, np.float32)
    k.box_rows(grey.astype(np.float32), expected, window)
    ours = np.empty(grey.shape, np.float32)
    pdq_grey.box_rows_uint8(grey, ours, window, sums_row(grey.shape[1]))
    np.testing.assert_array_equal(ours, expected)


def sums_row(width: int, dtype: type = np.uint16) -> np.ndarray:
    return np.empty(width, dtype)


def test_wide_windows_need_int32_sums() -> None:
    rng = np.random.default_rng(3)
    grey = rng.integers(200, 256, (3, 400), dtype=np.uint8)
    ours = np.empty(grey.shape, np.float32)
    pdq_grey.box_rows_uint8(grey, ours, 300, sums_row(400, np.int32))  # 255*300 > 65535
    expected = np.empty(grey.shape, np.float32)
    k.box_rows(grey.astype(np.float32), expected, 300)
    np.testing.assert_array_equal(ours, expected)
    # The workspace picks int32 itself for images that wide (over 32,000 pixels).
    wide = rng.integers(0, 256, (6, 33_000), dtype=np.uint8)
    small = pdq_grey.downsample_64_uint8(wide, k.Workspace())
    np.testing.assert_array_equal(small, k.downsample_64(wide.astype(np.float32), k.Workspace()))


def test_tile_kernels_run_as_plain_python_with_the_same_result() -> None:
    rng = np.random.default_rng(11)
    grey = rng.integers(0, 256, (70, 150), dtype=np.uint8)  # one full 64-row tile and a rest
    image = grey.astype(np.float32)
    compiled, plain = np.empty_like(image), np.empty_like(image)
    k.box_rows(image, compiled, 3)
    k.box_rows.py_func(image, plain, 3)
    np.testing.assert_array_equal(compiled, plain)
    pdq_grey.box_rows_uint8.py_func(grey, plain, 3, sums_row(150))
    np.testing.assert_array_equal(compiled, plain)
    for window in (1, 2, 5, 13):
        compiled_rows = np.empty_like(image)
        pdq_grey.box_rows_uint8(grey, compiled_rows, window, sums_row(150))
        pdq_grey.box_rows_uint8.py_func(grey, plain, window, sums_row(150))
        np.testing.assert_array_equal(compiled_rows, plain)
    workspace = k.Workspace()
    expected_small = k.downsample_64(image, workspace)
    args = (grey, 2, 1, k.decimation_samples(150))
    scratch = (
        np.empty((2, 150), np.float32),
        sums_row(150),
        np.empty((64, 150), np.float32),
        np.zeros((150, 64), np.float32),
        np.empty((64, 64), np.float32),
    )
    columns = np.empty((70, 64), np.float32)
    pdq_grey.jarosz_columns_uint8.py_func(*args, *scratch, columns)
    small = np.empty((64, 64), np.float32)
    k.box_columns_sampled(columns, small, 1, k.decimation_samples(70))
    np.testing.assert_array_equal(small, expected_small)
    tile = np.zeros((150, 64), np.float32)
    k._load_tile.py_func(image, tile, 0, 64)
    np.testing.assert_array_equal(tile, image[:64].T)
    back = np.zeros_like(image)
    k._store_tile.py_func(tile, back, 0, 64)
    np.testing.assert_array_equal(back[:64], image[:64])


def test_streaming_helpers_run_as_plain_python_with_the_same_result() -> None:
    rng = np.random.default_rng(5)
    row = rng.integers(0, 256, 300, dtype=np.uint8)
    for window in (1, 2, 3, 8, 13):
        compiled, plain = np.empty(300, np.float32), np.empty(300, np.float32)
        pdq_grey.box_row_uint8(row, compiled, window, sums_row(300))
        pdq_grey.box_row_uint8.py_func(row, plain, window, sums_row(300))
        np.testing.assert_array_equal(compiled, plain)
    band = rng.random((64, 300), dtype=np.float32)
    samples = k.decimation_samples(300)
    compiled_columns, plain_columns = np.empty((64, 64), np.float32), np.empty((64, 64), np.float32)
    for columns, flush in (
        (compiled_columns, pdq_grey._flush_band),
        (plain_columns, pdq_grey._flush_band.py_func),
    ):
        flush(
            band,
            64,
            0,
            np.zeros((300, 64), np.float32),
            np.empty((64, 64), np.float32),
            3,
            samples,
            columns,
        )
    np.testing.assert_array_equal(compiled_columns, plain_columns)
    sums = rng.random(300, dtype=np.float32)
    state = (
        np.zeros((300, 64), np.float32),
        np.empty((64, 64), np.float32),
        3,
        samples,
        np.empty((64, 64), np.float32),
    )
    pdq_grey._emit.py_func(sums, np.float32(3), 5, band, state)
    np.testing.assert_array_equal(band[5], sums / np.float32(3))


def test_worker_preload_compiles_both_routes() -> None:
    from safelight.signals import worker

    worker.warm_up()
    assert pdq_grey.jarosz_columns_uint8.signatures  # uint8 luma route
    assert k.box_rows.signatures and k.box_rows_sampled.signatures  # float route
