"""The signal-type registry: names, aliases, typing of bare values, normalisation."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safelight.signals.types import (
    NormalisedValue,
    UntypedValueError,
    registry,
    vpdq_feature,
    vpdq_pdq_hashes,
)

HEX = "0123456789abcdef"
LENGTHS = {"pdq": 64, "md5": 32, "sha1": 40, "sha256": 64}


def test_type_aliases_of_python_threatexchange_are_accepted() -> None:
    assert registry.get("video_md5").name == "md5"
    assert registry.get(" PDQ ").name == "pdq"
    assert registry.get("video_sha256").name == "sha256"
    with pytest.raises(ValueError, match=r"unknown signal type 'photodna' \(known: pdq, md5"):
        registry.get("photodna")


def test_bare_hex_is_typed_by_length_where_one_type_has_it() -> None:
    assert registry.infer("a" * 32).name == "md5"
    assert registry.infer("a" * 40).name == "sha1"
    with pytest.raises(UntypedValueError, match="cannot tell the signal type of a 63-char"):
        registry.infer("a" * 63)


def test_a_64_hex_value_is_ambiguous_until_declared() -> None:
    """PDQ and SHA-256 are both 64 hex: guessing one would silently miss the other."""
    with pytest.raises(UntypedValueError, match="could be pdq or sha256: declare") as caught:
        registry.infer("a" * 64)
    assert caught.value.ambiguous and caught.value.candidates == ("pdq", "sha256")
    assert registry.normalise("A" * 64, "sha256").signal_type == "sha256"
    digests = registry.file_digests()
    assert registry.infer("a" * 64, among=digests).name == "sha256"


def normalise(kind: str, raw: str) -> NormalisedValue:
    return registry.get(kind).normalise(raw)


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
