"""The settled-bits guard (luma_bound.py) against obvious oracles, on inputs made to break it."""

from __future__ import annotations

import io

import numpy as np
import simplejpeg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from safelight.signals import luma_bound, pdq, pdq_separable
from safelight.signals.pdq_kernels import DCT_MATRIX
from safelight.signals.pdq_separable import jarosz_oracle_64

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DCT64 = DCT_MATRIX.astype(np.float64)


def oracle_dct(luma: np.ndarray) -> np.ndarray:
    """float64 all the way: full box passes, decimation, then the 16x64 DCT both ways."""
    result: np.ndarray = DCT64 @ jarosz_oracle_64(luma) @ DCT64.T
    return result


@st.composite
def saturated_images(draw: st.DrawFn) -> np.ndarray:
    """Small RGB images of saturated blocks, stripes and noise: where colour conversion clamps."""
    height, width = draw(st.integers(8, 80)), draw(st.integers(8, 80))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if draw(st.booleans()):
        image = np.where(image > 127, 255, 0).astype(np.uint8)  # corners of the RGB cube
    if draw(st.booleans()):
        image[:, :: draw(st.integers(2, 5))] = [255, 0, 0]  # red stripes
    return image


def jpeg(image: np.ndarray, quality: int, subsampling: int, progressive: bool) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(
        buffer, "JPEG", quality=quality, subsampling=subsampling, progressive=progressive
    )
    return buffer.getvalue()


@SLOW
@given(saturated_images(), st.integers(50, 98), st.sampled_from([0, 1, 2]), st.booleans())
def test_the_default_decode_has_no_luma_error(
    image: np.ndarray, quality: int, subsampling: int, progressive: bool
) -> None:
    # The default route's decode bound is 0: libjpeg-turbo's RGB is Pillow's, byte for byte,
    # and the vectorised luma is pdqhash's, float for float.
    data = jpeg(image, quality, subsampling, progressive)
    ours = luma_bound.luma_from_rgb_flat(simplejpeg.decode_jpeg(data, "RGB"))
    with Image.open(io.BytesIO(data)) as decoded:
        reference = pdq.luma_from_rgb(np.asarray(decoded.convert("RGB")))
    assert ours.dtype == reference.dtype == np.float32
    assert np.array_equal(ours, reference)


@SLOW
@given(saturated_images(), st.integers(50, 98), st.sampled_from([0, 1, 2]), st.booleans())
def test_the_luma_plane_is_within_the_rounding_bound_where_nothing_clamps(
    image: np.ndarray, quality: int, subsampling: int, progressive: bool
) -> None:
    # Why the decoder's Y plane cannot be certified: even unclamped it is up to
    # Y_ROUNDING_BOUND from the reference's luma, and where R, G or B clamps, much further.
    data = jpeg(image, quality, subsampling, progressive)
    plane = simplejpeg.decode_jpeg(data, "GRAY")[:, :, 0].astype(np.float64)
    with Image.open(io.BytesIO(data)) as decoded:
        rgb = np.asarray(decoded.convert("RGB"))
    difference = np.abs(pdq.luma_from_rgb(rgb) - plane)
    clamped = ((rgb == 0) | (rgb == 255)).any(axis=2)
    assert difference[~clamped].max(initial=0.0) <= luma_bound.Y_ROUNDING_BOUND


def test_clamping_moves_the_luma_plane_far_beyond_the_rounding_bound() -> None:
    # Saturated red and blue stripes: chroma subsampling smears them, R and B clamp.
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, ::2] = [255, 0, 0]
    image[:, 1::2] = [0, 0, 255]
    data = jpeg(image, 90, 2, False)
    plane = simplejpeg.decode_jpeg(data, "GRAY")[:, :, 0].astype(np.float64)
    luma = luma_bound.luma_from_rgb_flat(simplejpeg.decode_jpeg(data, "RGB"))
    assert np.abs(luma - plane).max() > 10 * luma_bound.Y_ROUNDING_BOUND


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.just(3))))
def test_vectorised_luma_is_the_reference_kernel(rgb: np.ndarray) -> None:
    assert np.array_equal(luma_bound.luma_from_rgb_flat(rgb), pdq.luma_from_rgb(rgb))
    flipped = rgb[::-1, ::-1]  # not contiguous
    assert np.array_equal(luma_bound.luma_from_rgb_flat(flipped), pdq.luma_from_rgb(flipped))


@SLOW
@given(
    st.integers(65, 160),
    st.integers(65, 160),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["random", "extreme", "hot-spot"]),
)
def test_a_per_pixel_bound_bounds_every_coefficient(
    height: int, width: int, seed: int, shape: str
) -> None:
    rng = np.random.default_rng(seed)
    luma = rng.uniform(0, 255, (height, width))
    bounds = rng.uniform(0, 3, (height, width))
    if shape == "hot-spot":  # one large error, as a clamped pixel makes
        bounds[:] = 0.01
        bounds[rng.integers(height), rng.integers(width)] = 200.0
    signs = rng.choice([-1.0, 1.0], (height, width))
    error = bounds * (signs if shape != "random" else rng.uniform(-1, 1, (height, width)))
    moved = np.abs(oracle_dct(luma + error) - oracle_dct(luma))
    limit = luma_bound.coefficient_bounds(bounds)
    assert np.all(moved <= limit + 1e-9)
    # Never wider than the uniform bound of the largest pixel error (the filter averages).
    assert np.all(limit <= luma_bound.uniform_coefficient_bounds(float(bounds.max())) * 1.000001)


def test_the_uniform_bound_is_the_per_pixel_bound_of_a_constant() -> None:
    constant = luma_bound.coefficient_bounds(np.full((300, 500), 0.5))
    np.testing.assert_allclose(constant, luma_bound.uniform_coefficient_bounds(0.5), rtol=1e-5)
    assert 20 < constant.min() <= constant.max() < 30  # ~26 DCT units for half a level


@st.composite
def crowded_dcts(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients with ties and clusters at the median, and bounds from 0 up."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.01, 1.0, 100.0]))
    values = rng.normal(0, scale, 256)
    if draw(st.booleans()):
        values = np.round(values / scale * 4) * scale / 4  # ties
    bounds = rng.uniform(0, draw(st.sampled_from([0.0, 0.001, 0.05, 0.5])) * scale, 256)
    return values.reshape(16, 16), bounds.reshape(16, 16)


@settings(max_examples=300, deadline=None)
@given(crowded_dcts(), st.integers(0, 2**32 - 1))
def test_certain_bits_never_move_within_the_bounds(
    case: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    dct, bounds = case
    uncertain = luma_bound.uncertain_bits(dct, bounds)
    bits = pdq.bits_from_dct(dct)
    rng = np.random.default_rng(seed)
    for trial in range(40):
        if trial < 2:  # everything pushed one way, then towards the median
            push = np.full(dct.shape, 1.0 if trial == 0 else -1.0)
        elif trial < 4:
            push = -np.sign(dct - np.median(dct)) * (1 if trial == 2 else -1)
        else:
            push = rng.choice([-1.0, 0.0, 1.0], dct.shape)
        moved = pdq.bits_from_dct(dct + push * bounds)
        assert np.array_equal(moved[~uncertain], bits[~uncertain])
    assert luma_bound.bits_certain(dct, bounds) == (not uncertain.any())


def test_the_guard_says_uncertain_when_a_bit_can_move() -> None:
    values = np.arange(256, dtype=np.float64).reshape(16, 16)
    assert luma_bound.bits_certain(values, 0.49)
    assert not luma_bound.bits_certain(values, 0.5)  # 127 and 128 can meet: 128's bit may drop
    flips = values + np.where(values == 128, -1.0, 0.0)  # the move that flips it
    assert pdq.bits_from_dct(flips)[128] != pdq.bits_from_dct(values)[128]
    far = values.copy()
    far.flat[:10] -= 1000  # far from the median: their error does not matter
    bounds = np.zeros(256)
    bounds[:10] = 500.0
    assert luma_bound.bits_certain(far, bounds.reshape(16, 16))


@st.composite
def rgb_images(draw: st.DrawFn) -> np.ndarray:
    """RGB noise, saturated blocks, flat fields and ramps, 5-300 x 5-400 (64 px edges too)."""
    height = draw(st.sampled_from([5, 63, 64, 65, 97, 300]))
    width = draw(st.sampled_from([5, 64, 65, 130, 400]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "saturated", "flat", "ramp"]))
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "saturated":
        return (rng.integers(0, 2, (height, width, 3)) * 255).astype(np.uint8)
    if kind == "flat":
        return np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (height, width, 3)).copy()
    ramp = np.linspace(0, 255, width).astype(np.uint8)
    return np.stack([np.broadcast_to(ramp, (height, width))] * 3, axis=2).copy()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rgb_images())
def test_the_fused_rgb_route_gives_the_exact_routes_hashes(rgb: np.ndarray) -> None:
    assert pdq.hashes_from_rgb(rgb) == [pdq.pdq_from_rgb(rgb)]
    assert pdq.hashes_from_rgb(rgb, dihedral=True) == pdq.pdq_dihedral_from_rgb(rgb)


@SLOW
@given(st.integers(65, 300), st.integers(65, 300), st.integers(0, 2**32 - 1))
def test_the_fused_rgb_filter_is_the_luma_filter(height: int, width: int, seed: int) -> None:
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    luma = pdq.luma_from_rgb(rgb).astype(np.float64)
    fused, quality = pdq_separable.pdq_sampled_rgb(rgb)
    oracle = oracle_dct(luma)
    assert np.abs(fused - oracle).max() < pdq.SAMPLED_DCT_ERROR / 2
    assert abs(quality - pdq.pdq_from_rgb(rgb).quality) <= 1
