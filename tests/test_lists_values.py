from __future__ import annotations

import pytest

from safelight.lists.values import validate_label, validate_list_name


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
