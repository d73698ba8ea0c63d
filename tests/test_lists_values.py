from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safelight.lists.values import (
    canonical_type,
    infer_type,
    normalise,
    validate_label,
    validate_list_name,
    vpdq_feature,
    vpdq_pdq_hashes,
)

HEX = "0123456789abcdef"
LENGTHS = {"pdq": 64, "md5": 32, "sha1": 40, "sha256": 64}


@pytest.mark.parametrize("name", ["NCMEC", "_PRIVATE", "A1_B2", "X" * 255])
def test_list_names_follow_hma_bank_rule(name: str) -> None:
    assert validate_list_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("ncmec", "UPPER_WITH_UNDERSCORE"),
        ("1ST", "UPPER_WITH_UNDERSCORE"),
        ("A-B", "UPPER_WITH_UNDERSCORE"),
        ("X" * 256, "at most 255"),
    ],
)
def test_bad_list_names_say_why(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_list_name(name)


def test_type_aliases_of_python_threatexchange_are_accepted() -> None:
    assert canonical_type("video_md5") == "md5"
    assert canonical_type(" PDQ ") == "pdq"
    assert canonical_type("video_sha256") == "sha256"
    with pytest.raises(ValueError, match=r"unknown signal type 'photodna' \(known: pdq, md5"):
        canonical_type("photodna")


def test_bare_hex_is_typed_by_length_and_64_means_pdq() -> None:
    assert infer_type("a" * 32) == "md5"
    assert infer_type("a" * 40) == "sha1"
    assert infer_type("a" * 64) == "pdq"
    with pytest.raises(ValueError, match="cannot tell the signal type of a 63-character value"):
        infer_type("a" * 63)


@given(
    st.sampled_from(sorted(LENGTHS)),
    st.data(),
)
def test_hex_values_normalise_to_lowercase_and_idempotently(kind: str, data: st.DataObject) -> None:
    size = LENGTHS[kind]
    raw = data.draw(st.text(alphabet=HEX + HEX.upper(), min_size=size, max_size=size))
    once = normalise(kind, f"  {raw}\n")
    assert once.value == raw.lower() == once.key
    assert normalise(kind, once.value) == once


@given(st.sampled_from(sorted(LENGTHS)), st.integers(min_value=0, max_value=80))
def test_wrong_lengths_are_rejected_with_both_lengths(kind: str, length: int) -> None:
    if length == LENGTHS[kind]:
        return
    with pytest.raises(ValueError, match=f"must be {LENGTHS[kind]} hex characters, got {length}"):
        normalise(kind, "a" * length)


def test_non_hex_names_the_character_and_position() -> None:
    with pytest.raises(ValueError, match=r"md5 value is not hex: 'g' at character 3"):
        normalise("md5", "abg" + "0" * 29)


def test_vpdq_value_is_canonical_json_keyed_by_its_sha256() -> None:
    pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    raw = json.dumps([f"{pdq.upper()},100,0", f"{pdq},90,1.5"])
    value = normalise("vpdq", raw)
    expected = f'["{pdq},100,0.000","{pdq},90,1.500"]'
    assert value.value == expected
    assert value.key == hashlib.sha256(expected.encode()).hexdigest()
    assert normalise("vpdq", value.value) == value  # idempotent
    assert vpdq_pdq_hashes(value.value) == [pdq, pdq]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "not a JSON array"),
        ('{"a": 1}', "must be a JSON array"),
        ("[]", "at least one frame"),
        ('["abc,100"]', "feature 1 is not"),
        ('["' + "a" * 64 + ',101,0"]', "quality 101 is outside 0-100"),
        ('["' + "a" * 64 + ',x,0"]', "quality 'x' is not an integer"),
        ('["' + "a" * 64 + ',50,-1"]', "must be a finite number >= 0"),
        ('["' + "a" * 64 + ',50,nan"]', "must be a finite number >= 0"),
        ('["' + "a" * 64 + ',50,soon"]', "timestamp 'soon' is not a number"),
    ],
)
def test_bad_vpdq_values_say_why(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise("vpdq", raw)


def test_vpdq_feature_rounds_timestamps_to_milliseconds() -> None:
    assert vpdq_feature("A" * 64, "7", "0.12345") == "a" * 64 + ",7,0.123"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("  ", "cannot be empty"), ("a|b", "contains '|'"), ("a\tb", "control character")],
)
def test_bad_labels_say_why(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_label(raw)


def test_labels_are_trimmed() -> None:
    assert validate_label("  INTERPOL baseline ") == "INTERPOL baseline"
    with pytest.raises(ValueError, match="at most 255"):
        validate_label("x" * 256)
