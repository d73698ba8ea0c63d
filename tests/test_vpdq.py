"""vPDQ features, bag-of-frames matching (against an obvious oracle) and the hash-file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import InputError, ValidationError
from safelight.signals import vpdq
from safelight.signals.vpdq import VpdqFeature, VpdqMatch, match_vpdq

from .oracles import match_vpdq_reference
from .vpdq_io import (
    format_vpdq,
    parse_vpdq,
    read_vpdq_file,
    write_vpdq_file,
)

BASE = int("e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c", 16)


def flipped(bits: int, seed: int) -> str:
    """BASE with ``bits`` distinct bits flipped (chosen by ``seed``)."""
    positions = np.random.default_rng(seed).choice(256, size=bits, replace=False)
    value = BASE
    for position in positions:
        value ^= 1 << int(position)
    return f"{value:064x}"


def feature(frame: int, pdq: str, quality: int = 100) -> VpdqFeature:
    return VpdqFeature(frame=frame, timestamp=frame / 30, pdq=pdq, quality=quality)


# Hashes near one another so that distances land on both sides of the threshold.
near_hashes = st.builds(flipped, st.integers(0, 60), st.integers(0, 2**32 - 1))
features = st.lists(
    st.builds(feature, st.integers(0, 10_000), near_hashes, st.integers(0, 100)), max_size=25
)


@settings(max_examples=300, deadline=None)
@given(
    features,
    features,
    st.integers(0, 64),
    st.integers(0, 100),
    st.sampled_from([0.0, 50.0, 80.0]),
    st.sampled_from([0.0, 80.0]),
)
def test_fast_matcher_equals_the_obvious_oracle(
    query: list[VpdqFeature],
    compared: list[VpdqFeature],
    distance: int,
    quality: int,
    query_min: float,
    compared_min: float,
) -> None:
    options = {
        "distance_threshold": distance,
        "quality_threshold": quality,
        "query_match_percent": query_min,
        "compared_match_percent": compared_min,
    }
    fast = match_vpdq(query, compared, **options)  # type: ignore[arg-type]
    assert fast == match_vpdq_reference(query, compared, **options)  # type: ignore[arg-type]
    swapped = match_vpdq(compared, query, **options)  # type: ignore[arg-type]
    assert (swapped.query_percent, swapped.compared_percent) == (
        fast.compared_percent,
        fast.query_percent,
    )


def test_distance_threshold_is_inclusive() -> None:
    query = [feature(0, flipped(0, 0))]
    at_31 = [feature(0, flipped(31, 1))]
    at_32 = [feature(0, flipped(32, 1))]
    assert match_vpdq(query, at_31) == VpdqMatch(100.0, 100.0, True)
    assert match_vpdq(query, at_32) == VpdqMatch(0.0, 0.0, False)
    # The C++ brute-force matcher's "< 31" is distance_threshold=30.
    assert not match_vpdq(query, at_31, distance_threshold=30).matched


def test_percentages_count_unique_reliable_frames() -> None:
    a, b, c = flipped(0, 0), flipped(100, 1), flipped(100, 2)
    query = [feature(0, a), feature(1, a), feature(2, a), feature(3, b), feature(4, c, 10)]
    compared = [feature(0, flipped(3, 9)), feature(1, flipped(120, 5))]
    result = match_vpdq(query, compared)
    # query: unique reliable {a, b}, a matches -> 50%; compared: 1 of 2 -> 50%.
    assert result == VpdqMatch(50.0, 50.0, False)
    assert match_vpdq(query, compared, compared_match_percent=50.0).matched
    assert not match_vpdq(
        query, compared, compared_match_percent=50.0, query_match_percent=60
    ).matched


def test_quality_filter_runs_before_deduplication() -> None:
    a = flipped(0, 0)
    # The first copy of the hash is unreliable, the second is not: the hash still counts.
    query = [feature(0, a, quality=10), feature(1, a, quality=90)]
    assert match_vpdq(query, [feature(0, a)]).matched
    assert vpdq.reliable_unique_hashes(query) == [a]


def test_no_reliable_frames_is_no_match() -> None:
    low = [feature(0, flipped(0, 0), quality=49)]
    good = [feature(0, flipped(0, 0))]
    assert match_vpdq(low, good) == VpdqMatch(0.0, 0.0, False)
    assert match_vpdq([], good) == VpdqMatch(0.0, 0.0, False)
    # Thresholds of 0 still need one matching frame.
    far = [feature(0, flipped(128, 3))]
    assert match_vpdq(far, good, compared_match_percent=0.0) == VpdqMatch(0.0, 0.0, False)


def test_matcher_handles_more_rows_than_one_chunk() -> None:
    query = [feature(i, flipped(40, i)) for i in range(vpdq._MATCH_CHUNK_ROWS + 30)]
    compared = [feature(0, flipped(0, 0))]
    fast = match_vpdq(query, compared)
    assert fast == match_vpdq_reference(query, compared)
    assert fast.compared_percent == 0.0  # 40 bits from BASE: no match


def test_popcount_without_numpy_bitwise_count(monkeypatch: pytest.MonkeyPatch) -> None:
    words = np.array([[0, 1, 3, 2**64 - 1]], dtype=np.uint64)
    native = vpdq._popcount_words(words)
    monkeypatch.delattr(np, "bitwise_count")
    assert native.tolist() == vpdq._popcount_words(words).tolist() == [0 + 1 + 2 + 64]


def test_feature_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="hex"):
        feature(0, "E" * 64)
    with pytest.raises(ValueError, match="quality"):
        feature(0, "0" * 64, quality=101)
    with pytest.raises(ValueError, match="frame"):
        feature(-1, "0" * 64)
    assert feature(0, "0f" * 32).digest == bytes.fromhex("0f" * 32)


# --- hash files ------------------------------------------------------------------------------

SAMPLE = (
    "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n"
    "1,98,c0f11178372c6aaccddea259648fbfd62f434c89c9e99b249772be216c8d055c,0.033\n"
)


def test_hash_file_round_trips_byte_for_byte(tmp_path: Path) -> None:
    parsed = parse_vpdq(SAMPLE)
    assert parsed[1] == VpdqFeature(1, 0.033, parsed[1].pdq, 98)
    assert format_vpdq(parsed) == SAMPLE
    path = tmp_path / "video.txt"
    write_vpdq_file(path, parsed)
    assert path.read_text() == SAMPLE
    assert read_vpdq_file(path) == parsed
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_timestamps_print_like_the_reference() -> None:
    features = [VpdqFeature(29, float(np.float32(29) / np.float32(29.97)), "0" * 64, 0)]
    assert format_vpdq(features).endswith(",0.968\n")


def test_reader_tolerates_crlf_spaces_uppercase_and_blank_lines() -> None:
    text = SAMPLE.upper().replace("\n", "\r\n").replace(",", " , ") + "\r\n\r\n"
    assert parse_vpdq(text) == parse_vpdq(SAMPLE)


def test_old_three_column_files_need_the_frame_rate() -> None:
    old = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c\n" * 2
    old = old.replace("0,100", "30,100", 1)
    with pytest.raises(ValidationError) as caught:
        parse_vpdq(old, source="old.txt")
    assert caught.value.problems[0][0] == "old.txt:1" and "fps" in caught.value.problems[0][1]
    assert [f.timestamp for f in parse_vpdq(old, fps=30.0)] == [1.0, 0.0]
    with pytest.raises(ValueError, match="fps"):
        parse_vpdq(old, fps=0.0)


def test_every_bad_line_is_reported_with_its_number() -> None:
    text = (
        "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n"
        "x,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.0\n"
        "2,abc,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.0\n"
        "3,100,zz71017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.0\n"
        "4,100,e2710178,0.1\n"
        "5,101,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.1\n"
        "6,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,soon\n"
        "7,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,-1\n"
        "8,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,nan\n"
        "-9,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.1\n"
        "10,100\n"
    )
    with pytest.raises(ValidationError) as caught:
        parse_vpdq(text, source="list.txt")
    problems = dict(caught.value.problems)
    assert sorted(problems) == sorted(f"list.txt:{n}" for n in range(2, 12))
    assert "frame 'x'" in problems["list.txt:2"]
    assert "quality 'abc'" in problems["list.txt:3"]
    assert "hex" in problems["list.txt:4"] and "hex" in problems["list.txt:5"]
    assert "quality" in problems["list.txt:6"]
    assert "timestamp" in problems["list.txt:7"] and ">= 0" in problems["list.txt:8"]
    assert "finite" in problems["list.txt:9"] and "frame" in problems["list.txt:10"]
    assert "4 fields" in problems["list.txt:11"]
    assert "list.txt" in caught.value.message


def test_reader_stops_listing_after_many_bad_lines() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_vpdq("junk\n" * 500, source="big.txt")
    assert len(caught.value.problems) == 21
    assert "stopped after 20" in caught.value.problems[-1][1]


def test_empty_binary_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValidationError, match="empty hash file"):
        read_vpdq_file(empty)
    binary = tmp_path / "video.mp4"
    binary.write_bytes(b"\x00\x00\x00\x18ftypmp42\xff\xfe")
    with pytest.raises(ValidationError, match="not ASCII"):
        read_vpdq_file(binary)
    with pytest.raises(InputError, match="nope.txt"):
        read_vpdq_file(tmp_path / "nope.txt")
