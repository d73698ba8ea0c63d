"""The default route end to end (libjpeg-turbo RGB, the integer sampled filter, the guard),
held by hypothesis to the HMA path (Pillow RGB + pdqhash) on random JPEGs made to break it."""

from __future__ import annotations

import io
from unittest import mock

import numpy as np
import pdqhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from safelight.signals.files import hash_bytes
from safelight.signals.options import HashOptions
from safelight.signals.photo import hash_photo
from safelight.signals.synthetic import photo_like

PDQ_ONLY = HashOptions(signals=frozenset({"pdq"}))
KINDS = ("photo", "saturated", "stripes", "noise", "flat", "chroma-ramp")


@st.composite
def images(draw: st.DrawFn) -> np.ndarray:
    """65-400 px a side (the sampled filter's sizes; windows 1 to 4), content from photos to
    saturated colour, coloured stripes, noise, near-flat fields and isoluminant chroma ramps."""
    height, width = draw(st.integers(65, 400)), draw(st.integers(65, 400))
    kind = draw(st.sampled_from(KINDS))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if kind == "photo":
        return photo_like(seed, width, height)
    if kind == "saturated":
        blocks = rng.integers(0, 2, (height // 8 + 1, width // 8 + 1, 3)) * 255
        return np.kron(blocks, np.ones((8, 8, 1)))[:height, :width].astype(np.uint8)
    if kind == "stripes":
        colours = rng.integers(0, 256, (2, 3))
        period = draw(st.integers(1, 7))
        index = ((np.arange(width)[None, :] + np.arange(height)[:, None]) // period) % 2
        return colours[index].astype(np.uint8)
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "flat":
        base = rng.integers(0, 256, 3)
        return np.clip(base + rng.integers(-2, 3, (height, width, 3)), 0, 255).astype(np.uint8)
    ramp = np.linspace(0, 1, width)[None, :, None]
    red_blue = np.concatenate([ramp, np.full_like(ramp, 0.5), 1 - ramp], axis=2)
    return np.broadcast_to(red_blue * 255, (height, width, 3)).astype(np.uint8)


def hma_path(data: bytes) -> tuple[bytes, int]:
    with Image.open(io.BytesIO(data)) as image:
        bits, quality = pdqhash.compute(np.asarray(image.convert("RGB")))
    value = int("".join(str(int(b)) for b in bits), 2)
    return value.to_bytes(32, "big"), int(quality)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images(), st.integers(50, 98), st.sampled_from([0, 1, 2]), st.booleans())
def test_default_mode_gives_the_hma_paths_bits(
    image: np.ndarray, quality: int, subsampling: int, progressive: bool
) -> None:
    # Pillow sizes a progressive JPEG's output buffer at 2 bytes per pixel, which noise at
    # quality 98 and 4:4:4 overflows ("Suspension not allowed here": an encoder limit of the
    # test's own image maker, not a case of Safelight's); a larger block lifts it.
    buffer = io.BytesIO()
    with mock.patch.object(ImageFile, "MAXBLOCK", 1 << 26):
        Image.fromarray(image).save(
            buffer, "JPEG", quality=quality, subsampling=subsampling, progressive=progressive
        )
    data = buffer.getvalue()
    expected, expected_quality = hma_path(data)
    record = hash_bytes(data, "random.jpg", PDQ_ONLY)
    assert record.pdq is not None, record.error
    assert record.pdq.digest == expected
    assert abs(record.pdq.quality - expected_quality) <= 1  # documented: equal on every corpus
    assert hash_photo(data, "jpeg", "random.jpg", PDQ_ONLY).decoder == "jpeg-rgb"
