"""Photo hashing end to end from files, against the HMA path (Pillow RGB -> pdqhash)."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageOps, features

from safelight.constants import (
    DEFAULT_MODE_MAX_BITS,
    FAST_DECODE_MIN_SIDE,
    FAST_MODE_MAX_BITS,
    PDQ_MATCH_THRESHOLD,
)
from safelight.signals import pdq
from safelight.signals.files import hash_file
from safelight.signals.options import HashOptions
from safelight.signals.pdq import ZERO_HASH
from safelight.signals.photo import hash_photo, reduced_short_side
from safelight.signals.pillow_decode import EXIF_ORIENTATION_TAG, orient
from safelight.signals.synthetic import photo_like

from .signals_media import animation, hma_hash, save

PDQ = HashOptions(signals=frozenset({"pdq"}))
FAST = HashOptions(signals=frozenset({"pdq"}), mode="fast")
REFERENCE = HashOptions(signals=frozenset({"pdq"}), mode="reference")


def reference_rgb_hash(path: Path) -> pdq.PdqHash:
    with Image.open(path) as image:
        return pdq.pdq_from_rgb(np.asarray(image.convert("RGB")))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Photo-like JPEGs of the benchmark sizes and some variety, plus PNGs."""
    out = tmp_path_factory.mktemp("corpus")
    specs = [
        (1600, 1200, ".jpg", {"quality": 85}),
        (1200, 1600, ".jpg", {"quality": 85}),
        (1024, 768, ".jpg", {"quality": 95, "subsampling": 0}),
        (1000, 700, ".jpg", {"quality": 85, "progressive": True}),
        (640, 480, ".jpg", {"quality": 85}),
        (640, 480, ".jpg", {"quality": 60}),
        (480, 640, ".jpg", {"quality": 85}),
        (300, 200, ".jpg", {"quality": 85}),
        (800, 600, ".png", {}),
        (640, 480, ".png", {}),
    ]
    paths = []
    for index, (width, height, suffix, params) in enumerate(specs):
        pixels = photo_like(index, width, height)
        paths.append(save(out / f"p{index}{suffix}", pixels, **params))
    grey = photo_like(77, 900, 700).mean(axis=2).astype(np.uint8)
    paths.append(save(out / "grey.jpg", grey, quality=85))
    return paths


def test_generated_corpus_default_and_fast_against_pdqhash(corpus: list[Path]) -> None:
    default_bits, fast_bits = [], []
    for path in corpus:
        expected, quality = hma_hash(path)
        default = hash_file(str(path), PDQ)
        fast = hash_file(str(path), FAST)
        reference = hash_file(str(path), REFERENCE)
        assert default.pdq and fast.pdq and reference.pdq, path
        assert reference.pdq.digest == expected and reference.pdq.quality == quality, path
        default_bits.append(pdq.hamming_distance(default.pdq.digest, expected))
        fast_bits.append(pdq.hamming_distance(fast.pdq.digest, expected))
    assert max(default_bits) == DEFAULT_MODE_MAX_BITS == 0, default_bits
    assert max(fast_bits) <= FAST_MODE_MAX_BITS, fast_bits
    assert statistics.median(fast_bits) <= FAST_MODE_MAX_BITS // 2, fast_bits


def test_decode_path_is_chosen_per_file(corpus: list[Path], tmp_path: Path) -> None:
    def photo(path: Path, options: HashOptions = PDQ) -> str:
        return hash_photo(path.read_bytes(), "jpeg", str(path), options).decoder

    big, small, grey = corpus[0], corpus[7], corpus[-1]
    assert photo(big) == "jpeg-rgb"  # exact RGB decode, whatever the size
    assert photo(small) == "jpeg-rgb"
    assert photo(grey) == "jpeg-luma"  # a grey JPEG's one plane is the reference's luma
    assert photo(big, REFERENCE) == "pillow"
    cmyk = save(tmp_path / "cmyk.jpg", Image.fromarray(photo_like(5, 700, 500)).convert("CMYK"))
    assert photo(cmyk) == "pillow"  # never the grey path: libjpeg's CMYK->grey is not the reference
    assert hash_file(str(cmyk), PDQ).pdq == reference_rgb_hash(cmyk)
    reduced = hash_photo(big.read_bytes(), "jpeg", str(big), FAST)
    assert reduced.decoder == "jpeg-rgb-reduced"
    big_grey = save(tmp_path / "grey.jpg", Image.fromarray(photo_like(7, 1400, 1200)).convert("L"))
    assert photo(big_grey, FAST) == "jpeg-luma-reduced"
    assert photo(grey, FAST) == "jpeg-luma"  # too small for a power-of-two reduction
    # 1024x768: a 6/8 scale would cost more than the full decode (plain-C inverse DCT)
    middle = save(tmp_path / "middle.jpg", Image.fromarray(photo_like(8, 1024, 768)))
    assert photo(middle, FAST) == "jpeg-rgb"
    assert FAST_DECODE_MIN_SIDE <= min(reduced.hashed_shape) < 1200
    assert hash_photo(small.read_bytes(), "jpeg", "s", FAST).hashed_shape == (200, 300)
    cmyk_fast = hash_photo(cmyk.read_bytes(), "jpeg", "c", FAST)
    assert cmyk_fast.decoder == "pillow" and cmyk_fast.hashed_shape == (500, 700)
    big_cmyk = Image.fromarray(photo_like(6, 1400, 1200)).convert("CMYK")
    big_cmyk = save(tmp_path / "big.jpg", big_cmyk)
    reduced_cmyk = hash_photo(big_cmyk.read_bytes(), "jpeg", "c", FAST)
    assert reduced_cmyk.decoder == "pillow-reduced"
    assert FAST_DECODE_MIN_SIDE <= min(reduced_cmyk.hashed_shape) < 1200


def test_fast_decodes_reduce_by_powers_of_two_only() -> None:
    assert reduced_short_side(1024) == 512 and reduced_short_side(1200) == 600
    assert reduced_short_side(1500) == 750  # 1/2, not the plain-C 3/8 (563)
    assert reduced_short_side(2448) == 612 and reduced_short_side(4100) == 513
    assert reduced_short_side(5000) == 625  # 1/8
    assert reduced_short_side(700) == 700  # nothing reduces it and keeps 512


MODES = {
    "1": ".png",
    "L": ".png",
    "LA": ".png",
    "P": ".png",
    "PA": ".tiff",
    "RGBA": ".png",
    "CMYK": ".tiff",
    "I;16": ".png",
    "I": ".tiff",
    "F": ".tiff",
    "LAB": ".tiff",
    "YCbCr": ".tiff",
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_pixel_mode_hashes_like_convert_rgb(mode: str, tmp_path: Path) -> None:
    rgb = Image.fromarray(photo_like(11, 120, 90))
    if mode in ("I;16", "I", "F"):
        # Wide-range values so clipping on conversion is exercised, as the reference does it.
        wide = np.asarray(rgb.convert("L"), np.int32) * 3 - 100
        image = Image.fromarray(wide.astype(np.int32)).convert(mode)
    else:
        image = rgb.convert(mode)
    path = save(tmp_path / f"img{MODES[mode]}", image)
    with Image.open(path) as check:
        assert check.mode == mode
    expected, quality = hma_hash(path)
    for options in (PDQ, REFERENCE):
        record = hash_file(str(path), options)
        assert record.error is None and record.pdq is not None
        assert record.pdq.digest == expected and record.pdq.quality == quality


@pytest.mark.parametrize(
    ("suffix", "params"),
    [
        (".png", {}),
        (".gif", {}),
        (".webp", {"quality": 90}),
        (".webp", {"lossless": True}),
        (".bmp", {}),
        (".tiff", {"compression": "tiff_lzw"}),
        (".avif", {"quality": 90}),
        (".heic", {"quality": 90}),
    ],
)
def test_photo_formats_hash_exactly_as_pillow_decodes_them(
    suffix: str, params: dict[str, object], tmp_path: Path
) -> None:
    if suffix == ".heic":
        pillow_heif = pytest.importorskip("pillow_heif")
        pillow_heif.register_heif_opener()
    if suffix == ".avif" and not features.check("avif"):
        pytest.skip("this Pillow was built without AVIF support")
    path = save(tmp_path / f"photo{suffix}", photo_like(3, 160, 120), **params)
    record = hash_file(str(path), PDQ)
    assert record.error is None, record.error
    assert record.media == "photo"
    assert record.format == {".heic": "heif", ".tiff": "tiff"}.get(suffix, suffix[1:])
    assert (record.width, record.height) == (160, 120)
    assert record.pdq == reference_rgb_hash(path)
    assert record.pdq is not None and record.pdq.quality > 50


def _with_orientation(pixels: np.ndarray, orientation: int) -> Image.Image:
    image = Image.fromarray(pixels)
    image.getexif()[EXIF_ORIENTATION_TAG] = orientation
    return image


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3]))),
    st.integers(1, 8),
)
def test_orient_equals_pillow_exif_transpose(pixels: np.ndarray, orientation: int) -> None:
    pixels = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
    expected = np.asarray(ImageOps.exif_transpose(_with_orientation(pixels, orientation)))
    np.testing.assert_array_equal(orient(pixels, orientation), expected)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_ignored_by_default_applied_on_request(
    orientation: int, tmp_path: Path
) -> None:
    pixels = photo_like(21, 200, 150)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION_TAG] = orientation
    png = save(tmp_path / "o.png", pixels, exif=exif)
    jpg = save(tmp_path / "o.jpg", pixels, exif=exif, quality=90)
    big = save(tmp_path / "big.jpg", photo_like(22, 800, 600), exif=exif, quality=90)
    for path in (png, jpg, big):
        with Image.open(path) as image:
            stored = pdq.pdq_from_rgb(np.asarray(image.convert("RGB")))
            upright = pdq.pdq_from_rgb(np.asarray(ImageOps.exif_transpose(image).convert("RGB")))
        as_stored = hash_file(str(path), PDQ).pdq
        turned = hash_file(str(path), HashOptions(signals=PDQ.signals, exif_transpose=True)).pdq
        reference = HashOptions(signals=PDQ.signals, exif_transpose=True, mode="reference")
        assert as_stored is not None and turned is not None
        # Every default decode is exact (big takes jpeg-rgb): the reference's bits.
        assert as_stored.distance(stored) == 0
        assert turned.distance(upright) == 0
        assert hash_file(str(path), reference).pdq == upright
        assert (turned.distance(as_stored) > 2 * PDQ_MATCH_THRESHOLD) == (orientation != 1)


def test_pdq8_comes_from_the_dct_of_the_hashed_image(tmp_path: Path) -> None:
    path = save(tmp_path / "d.png", photo_like(8, 300, 200))
    record = hash_file(str(path), HashOptions(signals=frozenset({"pdq8"})))
    with Image.open(path) as image:
        expected = pdq.pdq_dihedral_from_rgb(np.asarray(image.convert("RGB")))
    assert record.pdq8 is not None and list(record.pdq8) == expected
    assert record.pdq == expected[0]
    assert set(record.to_dict()["pdq8"]) == set(pdq.DIHEDRAL_NAMES)
    big = save(tmp_path / "d.jpg", photo_like(9, 800, 600), quality=90)
    jpeg = hash_file(str(big), HashOptions(signals=frozenset({"pdq8", "pdq"})))
    assert jpeg.pdq8 is not None and jpeg.pdq8[0] == jpeg.pdq


@pytest.mark.parametrize(("fmt", "suffix"), [("GIF", ".gif"), ("WEBP", ".webp"), ("PNG", ".png")])
def test_all_frames_of_animations(fmt: str, suffix: str, tmp_path: Path) -> None:
    path = animation(tmp_path / f"anim{suffix}", fmt, frames=3)
    expected = []
    with Image.open(path) as image:
        assert image.n_frames == 3
        for index in range(3):
            image.seek(index)
            expected.append(pdq.pdq_from_rgb(np.asarray(image.convert("RGB"))))
    assert len({h.hex for h in expected}) == 3
    plain = hash_file(str(path), PDQ)
    assert plain.pdq == expected[0] and plain.frames is None
    every = hash_file(str(path), HashOptions(signals=PDQ.signals, all_frames=True))
    assert every.frames is not None and every.frames_complete
    assert [f.pdq for f in every.frames] == expected
    assert [f.frame for f in every.frames] == [0, 1, 2]
    assert every.pdq == expected[0]
    capped = hash_file(str(path), HashOptions(signals=PDQ.signals, all_frames=True, max_frames=2))
    assert capped.frames is not None and len(capped.frames) == 2 and not capped.frames_complete
    budget = HashOptions(signals=PDQ.signals, all_frames=True, max_pixels=96 * 64 * 2)
    limited = hash_file(str(path), budget)
    assert limited.frames is not None and len(limited.frames) == 2
    assert limited.to_dict()["pdq_frames_complete"] is False


TINY = [(4, 4, ".png"), (3, 10, ".jpg"), (40, 2, ".gif")]


@pytest.mark.parametrize(("width", "height", "suffix"), TINY)
def test_images_under_5_px_hash_to_zero_with_quality_zero(
    width: int, height: int, suffix: str, tmp_path: Path
) -> None:
    path = save(tmp_path / f"tiny{suffix}", photo_like(1, width, height))
    for options in (PDQ, FAST, REFERENCE):
        record = hash_file(str(path), options)
        assert record.error is None
        assert record.pdq == ZERO_HASH and record.to_dict()["pdq_quality"] == 0


def test_large_files_stream_digests_and_decode_from_the_path(corpus: list[Path]) -> None:
    path = str(corpus[0])
    whole = hash_file(path)
    streamed = hash_file(path, HashOptions(in_memory_limit=1000))
    assert streamed.digests == whole.digests and streamed.size == whole.size
    assert streamed.pdq is not None and whole.pdq is not None
    assert streamed.pdq.distance(whole.pdq) == 0
    assert streamed.pdq == reference_rgb_hash(corpus[0])  # from the path: Pillow decodes it


def test_without_pdq_photos_are_not_decoded(corpus: list[Path]) -> None:
    record = hash_file(str(corpus[0]), HashOptions(signals=frozenset({"sha256"})))
    assert record.media == "photo" and record.format == "jpeg"
    assert record.pdq is None and record.error is None
    assert set(record.digests) == {"sha256"}
