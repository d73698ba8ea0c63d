"""Bad input: every case is a per-file error with a code and the file's name; batches go on."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from safelight.errors import MEDIA_ERROR_CODES
from safelight.signals import pillow_decode
from safelight.signals.batch import hash_paths
from safelight.signals.files import hash_bytes, hash_file
from safelight.signals.options import HashOptions
from safelight.signals.records import HashRecord
from safelight.signals.synthetic import photo_like

from .signals_media import jpeg_bytes, png_declaring, save

FUZZ_OPTIONS = HashOptions(max_pixels=4_000_000)


def assert_error(record: HashRecord, code: str, name: str) -> None:
    assert record.error is not None, record
    assert record.error.code == code, record.error
    assert code in MEDIA_ERROR_CODES
    assert name in record.error.message


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.jpg")
    record = hash_file(path)
    assert_error(record, "unreadable", path)
    assert "no such file" in record.error.message  # type: ignore[union-attr]
    assert record.media == "photo" and record.size is None


def test_directory_fifo_and_dangling_symlink_are_unreadable(tmp_path: Path) -> None:
    # Tests run as root, where chmod 000 does not stop reads: use things no one can read.
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    dangling = tmp_path / "gone.png"
    dangling.symlink_to(tmp_path / "nowhere.png")
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    for path, words in [(fifo, "FIFO"), (dangling, "dangling"), (folder, "directory")]:
        record = hash_file(str(path))  # a FIFO must not block: refused from its stat
        assert_error(record, "unreadable", str(path))
        assert words in record.error.message  # type: ignore[union-attr]


def test_directory_without_recursive_in_a_batch(tmp_path: Path) -> None:
    (tmp_path / "inside.txt").write_text("x")
    records = list(hash_paths([str(tmp_path)]))
    assert len(records) == 1
    assert_error(records[0], "unreadable", str(tmp_path))
    # Said in the library's words; the CLI adds its -r/--recursive hint (test_cli_grammar).
    message = records[0].error.message  # type: ignore[union-attr]
    assert "is a directory" in message and "recursive" in message and "--" not in message


def test_empty_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    record = hash_file(str(empty))
    assert_error(record, "empty_file", str(empty))
    assert record.size == 0 and record.digests["md5"] == "d41d8cd98f00b204e9800998ecf8427e"
    # An empty file that claims no media kind is just an empty "other" file.
    keep = tmp_path / ".keep"
    keep.write_bytes(b"")
    assert hash_file(str(keep)).error is None


@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.9, 0.999])
def test_truncated_jpeg_is_an_error_not_a_grey_image(fraction: float, tmp_path: Path) -> None:
    data = jpeg_bytes(1, 800, 600, quality=85)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: int(len(data) * fraction)])
    for options in (HashOptions(), HashOptions(mode="fast"), HashOptions(mode="reference")):
        assert_error(hash_file(str(path), options), "truncated", str(path))


def test_truncated_png(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(photo_like(2, 300, 200)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert_error(hash_file(str(path)), "truncated", str(path))


def test_text_named_like_a_photo(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("these are notes, not a photo\n")
    record = hash_file(str(path))
    assert_error(record, "not_media", str(path))
    assert record.digests["sha256"]  # digests are still recorded
    other = tmp_path / "notes.txt"
    other.write_text("plain text")
    assert hash_file(str(other)).media == "other" and hash_file(str(other)).error is None


def test_magic_bytes_win_over_the_name(tmp_path: Path) -> None:
    path = tmp_path / "actually-a-jpeg.png"
    path.write_bytes(jpeg_bytes(4, 200, 150))
    record = hash_file(str(path))
    assert record.error is None and record.format == "jpeg" and record.pdq is not None


def test_decompression_bomb_refused_from_the_header(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(30_000, 30_000))  # 900 MP declared in 57 bytes
    record = hash_file(str(bomb))
    assert_error(record, "decompression_bomb", str(bomb))
    assert "30000x30000" in record.error.message  # type: ignore[union-attr]
    big = save(tmp_path / "big.jpg", photo_like(1, 1200, 1000), quality=80)
    limited = HashOptions(max_pixels=1_000_000)
    for options in (limited, HashOptions(max_pixels=1_000_000, mode="reference")):
        assert_error(hash_file(str(big), options), "decompression_bomb", str(big))
    assert hash_file(str(big), HashOptions(max_pixels=1_200_000)).error is None


def test_our_pixel_limit_replaces_pillows_global_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that (a warning is an error in
    # these tests): --max-pixels decides alone, and Pillow's setting is left as it was.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    over_pillow = save(tmp_path / "over.png", photo_like(1, 250, 100))
    assert hash_file(str(over_pillow), HashOptions(max_pixels=30_000)).error is None
    refused = HashOptions(max_pixels=20_000)
    assert_error(hash_file(str(over_pillow), refused), "decompression_bomb", str(over_pillow))
    assert Image.MAX_IMAGE_PIXELS == 10_000


def test_palette_transparency_warning_is_not_an_error(tmp_path: Path) -> None:
    image = Image.fromarray(photo_like(3, 64, 48)).convert("P")
    path = tmp_path / "p.png"
    image.save(path, transparency=bytes(range(256)))
    record = hash_file(str(path))
    assert record.error is None and record.pdq is not None


def test_garbage_named_like_a_video_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(4096))
    record = hash_file(str(path))
    assert record.media == "video"
    assert record.error is not None and record.error.code in ("corrupt_video", "not_media")
    assert str(path) in record.error.message


def test_missing_heif_plugin_is_unsupported_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = save(tmp_path / "p.heic", photo_like(1, 64, 48))
    monkeypatch.setattr(pillow_decode, "_heif_registered", False)
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import now fails, as if absent
    assert_error(hash_file(str(path)), "unsupported_format", str(path))


def test_avif_without_pillow_support_is_unsupported_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import features

    path = save(tmp_path / "p.avif", photo_like(1, 64, 48))
    monkeypatch.setattr(features, "check", lambda name: name != "avif")
    assert_error(hash_file(str(path)), "unsupported_format", str(path))


def test_a_batch_goes_on_past_every_bad_file(tmp_path: Path) -> None:
    good = save(tmp_path / "good.jpg", photo_like(5, 320, 240), quality=85)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "t.jpg"
    text.write_text("x")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:500])
    paths = [str(tmp_path / "missing.gif"), str(empty), str(text), str(cut), str(good)]
    records = list(hash_paths(paths))
    assert [r.path for r in records] == paths
    assert [r.error.code if r.error else None for r in records] == [
        "unreadable",
        "empty_file",
        "not_media",
        "truncated",
        None,
    ]
    assert records[-1].pdq is not None


def _check_never_crashes(data: bytes, name: str) -> None:
    record = hash_bytes(data, name, FUZZ_OPTIONS)
    if record.error is not None:
        assert record.error.code in MEDIA_ERROR_CODES
        assert record.error.code != "internal", record.error.message
        assert name in record.error.message


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.sampled_from(["x.jpg", "x.png", "x.bin", "x.mp4", "x.gif"]))
def test_fuzz_random_bytes(data: bytes, name: str) -> None:
    _check_never_crashes(data, name)


_SEEDS = {
    "jpeg": jpeg_bytes(9, 48, 40, quality=80),
    "progressive": jpeg_bytes(9, 48, 40, quality=80, progressive=True),
}
for _fmt in ("PNG", "GIF", "WEBP", "BMP", "TIFF"):
    _buffer = io.BytesIO()
    Image.fromarray(photo_like(9, 48, 40)).save(_buffer, _fmt)
    _SEEDS[_fmt.lower()] = _buffer.getvalue()


@settings(max_examples=250, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(_SEEDS)),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.booleans(),
)
def test_fuzz_mutated_valid_images(
    kind: str, flips: list[tuple[int, int]], cut: int | None, fast: bool
) -> None:
    data = bytearray(_SEEDS[kind])
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        del data[cut % len(data) :]
    _check_never_crashes(bytes(data), f"mutated-{kind}")
    record = hash_bytes(bytes(data), "m", HashOptions(mode="fast" if fast else "reference"))
    assert record.error is None or record.error.code != "internal"
