"""The interim hasher and matcher: real PDQ, exact digests, brute-force Hamming vs its oracle."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from safelight.errors import NotFoundError, ValidationError
from safelight.scan.corpus import jpeg_bytes, png_bytes
from safelight.scan.hamming import hashes_to_matrix, within, within_oracle
from safelight.scan.hashing import PipelineHasher
from safelight.scan.matching import HashFileMatcher, ListSpec, resolve_list, write_hash_file
from safelight.scan.mih import PdqMultiIndex
from safelight.scan.model import HashRecord
from safelight.signals import files
from safelight.signals.options import HashOptions

HEX = st.binary(min_size=32, max_size=32).map(bytes.hex)


@settings(max_examples=60, deadline=None)
@given(
    db=st.lists(HEX, min_size=0, max_size=80),
    query=HEX,
    flips=st.lists(st.integers(0, 255), max_size=40),
    threshold=st.integers(0, 256),
)
def test_kernel_agrees_with_the_numpy_oracle(
    db: list[str], query: str, flips: list[int], threshold: int
) -> None:
    near = int(query, 16)
    for bit in flips:
        near ^= 1 << bit
    matrix = hashes_to_matrix([*db, f"{near:064x}", query])
    q = hashes_to_matrix([query])[0]
    fast = within(matrix, q, threshold)
    slow = within_oracle(matrix, q, threshold)
    assert fast[0].tolist() == slow[0].tolist()
    assert fast[1].tolist() == slow[1].tolist()


def test_kernel_returns_every_hit_beyond_its_first_buffer() -> None:
    rows = [f"{i:064x}" for i in range(200)]  # all within 8 bits of zero
    idx, dist = within(hashes_to_matrix(rows), hashes_to_matrix(["0" * 64])[0], 8)
    assert idx.tolist() == list(range(200))
    assert dist.tolist() == [bin(i).count("1") for i in range(200)]


def test_pipeline_hasher_in_reference_mode_equals_pillow_and_pdqhash() -> None:
    data = jpeg_bytes(7, 200, 150)
    record = PipelineHasher(HashOptions(mode="reference")).hash_bytes(data, "p.jpg")
    assert record.md5 == hashlib.md5(data).hexdigest()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    bits, quality = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    # python-threatexchange's conversion of pdqhash's bit vector to hex.
    expected = f"{int(''.join(str(int(b)) for b in bits), 2):064x}"
    assert (record.pdq, record.quality, record.media, record.format) == (
        expected,
        quality,
        "photo",
        "jpeg",
    )
    assert PipelineHasher().hash_bytes(png_bytes(7), "p.png").media == "photo"


def test_pipeline_hasher_agrees_with_the_signals_pipeline(tmp_path: Path) -> None:
    data = jpeg_bytes(8, 320, 240)
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    reference = files.hash_file(str(path))
    from_file = PipelineHasher().hash_file(str(path), str(path))
    from_bytes = PipelineHasher().hash_bytes(data, "member.jpg")
    assert reference.pdq is not None
    assert from_file.pdq == from_bytes.pdq == reference.pdq.hex
    assert from_file.quality == reference.pdq.quality


def test_hasher_records_problems_per_item() -> None:
    hasher = PipelineHasher(HashOptions(max_pixels=100 * 100))
    empty = hasher.hash_bytes(b"", "e.jpg")
    assert empty.error is not None and empty.error.code == "empty_file"
    text = hasher.hash_bytes(b"just text", "t.txt")
    assert (text.media, text.pdq, text.error) == ("other", None, None)
    cut = jpeg_bytes(1, 80, 60)[:300]
    truncated = hasher.hash_bytes(cut, "cut.jpg")
    assert truncated.error is not None and truncated.error.code in {"truncated", "undecodable"}
    assert truncated.md5 == hashlib.md5(cut).hexdigest()
    assert "cut.jpg" in truncated.error.message
    bomb = hasher.hash_bytes(png_bytes(1, 200, 200), "big.png")
    assert bomb.error is not None and bomb.error.code == "decompression_bomb"


def _record(pdq: str | None, quality: int = 100, md5: str = "a" * 32) -> HashRecord:
    return HashRecord(1, md5, "b" * 40, "c" * 64, "photo", "jpeg", pdq, quality)


def test_matcher_threshold_quality_and_digest_rules(tmp_path: Path) -> None:
    base = int("5" * 64, 16)
    at31 = f"{base ^ ((1 << 31) - 1):064x}"
    at32 = f"{base ^ ((1 << 32) - 1):064x}"
    path = tmp_path / "l.csv"
    write_hash_file(path, [("pdq", at31, ["near"]), ("pdq", at32, ["far"]), ("md5", "a" * 32, [])])
    matcher = HashFileMatcher([ListSpec.of("l", path)])
    hits = matcher.match(_record(f"{base:064x}"))
    assert [(m.signal_type, m.distance, m.labels) for m in hits] == [
        ("pdq", 31, ("near",)),
        ("md5", 0, ()),
    ]
    # Quality below 50 is too unreliable to match on; digests still match.
    assert [m.signal_type for m in matcher.match(_record(f"{base:064x}", quality=49))] == ["md5"]
    assert matcher.match(_record(None, md5="d" * 32)) == ()


def test_hash_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("# header\nmd5,abc\nsha9,00\npdq," + "0" * 64 + "\n")
    with pytest.raises(ValidationError) as info:
        HashFileMatcher([ListSpec.of("bad", path)])
    locations = [location for location, _ in info.value.problems]
    assert locations == [f"{path}:2", f"{path}:3"]
    assert "32 hex" in info.value.problems[0][1]


def test_resolve_list_by_path_or_name(tmp_path: Path) -> None:
    named = tmp_path / "hashlists" / "demo.csv"
    write_hash_file(named, [])
    assert resolve_list("demo", tmp_path).path == str(named)
    assert resolve_list(str(named), tmp_path).name == "demo"
    with pytest.raises(NotFoundError):
        resolve_list("absent", tmp_path)


def test_videos_get_vpdq_features_and_damaged_ones_an_error() -> None:
    from safelight.signals.video import hash_video
    from tests.video_synth import make_video

    hasher = PipelineHasher()
    for kind in ("mp4", "webm", "avi"):
        data = make_video(kind, frames=20, fps=10)
        record = hasher.hash_bytes(data, f"clip.{kind}")
        assert (record.media, record.pdq, record.error) == ("video", None, None)
        assert record.vpdq is not None
        expected = [(f.frame, f.pdq, f.quality) for f in hash_video(data)]
        assert [(f["frame"], f["pdq"], f["quality"]) for f in json.loads(record.vpdq)] == expected
        assert record.md5 == hashlib.md5(data).hexdigest()
    data = make_video("mp4", frames=20, fps=10)
    cut = hasher.hash_bytes(data[: len(data) // 2], "cut.mp4")
    assert cut.media == "video" and cut.error is not None
    assert cut.error.code in {"truncated", "corrupt_video"} and "cut.mp4" in cut.error.message


def _near(hex_hash: str, bits: list[int]) -> str:
    value = int(hex_hash, 16)
    for bit in set(bits):
        value ^= 1 << bit
    return f"{value:064x}"


@settings(max_examples=60, deadline=None)
@given(
    db=st.lists(HEX, min_size=0, max_size=60),
    query=HEX,
    planted=st.lists(st.lists(st.integers(0, 255), max_size=36), max_size=12),
    clustered=st.integers(0, 30),
    threshold=st.integers(0, 40),
)
def test_multi_index_is_exact_against_the_oracle(
    db: list[str], query: str, planted: list[list[int]], clustered: int, threshold: int
) -> None:
    # Planted neighbours at every distance around 31, and a cluster of identical hashes (the
    # case that fills one bucket, as near-duplicate-heavy real lists do).
    rows = [*db, *(_near(query, bits) for bits in planted), *[_near(query, [1, 2])] * clustered]
    matrix = hashes_to_matrix(rows)
    q = hashes_to_matrix([query])[0]
    fast = PdqMultiIndex(matrix).within(q, threshold)
    slow = within_oracle(matrix, q, threshold)
    assert fast[0].tolist() == slow[0].tolist()
    assert fast[1].tolist() == slow[1].tolist()


def test_multi_index_finds_distance_31_and_not_32_in_a_large_list() -> None:
    rng = np.random.default_rng(3)
    rows = [bytes(r).hex() for r in rng.integers(0, 256, size=(20_000, 32), dtype=np.uint8)]
    query = rows[77]
    # Spread the differing bits so that every chunk differs in about two bits.
    rows += [_near(query, list(range(0, 256, 8))[:31]), _near(query, list(range(0, 256, 8)))]
    index = PdqMultiIndex(hashes_to_matrix(rows))
    found, distances = index.within(hashes_to_matrix([query])[0], 31)
    assert found.tolist() == [77, 20_000] and distances.tolist() == [0, 31]


def test_vpdq_entries_match_the_same_video_and_not_another(tmp_path: Path) -> None:
    from safelight.signals.video import hash_video
    from safelight.signals.vpdq_io import write_vpdq_file
    from tests.video_synth import make_video

    known = make_video("mp4", frames=40, fps=10)
    other = make_video("webm", frames=40, fps=10, width=64, height=96)
    (tmp_path / "refs").mkdir()
    write_vpdq_file(tmp_path / "refs" / "known.txt", hash_video(known))
    hash_file = tmp_path / "videos.csv"
    hash_file.write_text("# type,value,labels\nvpdq,refs/known.txt,series-v\n")
    matcher = HashFileMatcher([ListSpec.of("videos", hash_file)])
    hasher = PipelineHasher()
    (hit,) = matcher.match(hasher.hash_bytes(known, "copy.mp4"))
    assert (hit.list_name, hit.entry_id, hit.signal_type, hit.labels) == (
        "videos",
        2,
        "vpdq",
        ("series-v",),
    )
    assert hit.query_percent == 100.0 and hit.compared_percent == 100.0
    assert hit.to_dict()["compared_percent"] == 100.0
    assert matcher.match(hasher.hash_bytes(other, "other.webm")) == ()

    hash_file.write_text("vpdq,refs/missing.txt\n")
    with pytest.raises(ValidationError) as info:
        HashFileMatcher([ListSpec.of("videos", hash_file)])
    assert info.value.problems[0][0] == f"{hash_file}:1"
