"""Validation of what belongs to lists alone: list names and labels.

Signal values (their types, validation and normalisation) belong to the signal types:
``safelight.signals.types``. Functions raise ``ValueError`` with a reason a person can act on;
callers add the location.
"""

from __future__ import annotations

import re

from safelight.constants import LIST_LABEL_MAX_LENGTH, LIST_NAME_MAX_LENGTH, LIST_NAME_PATTERN

_NAME_RE = re.compile(LIST_NAME_PATTERN)


def validate_list_name(name: str) -> str:
    """HMA's bank-name rule, so any list can be served as an HMA bank."""
    if not name:
        raise ValueError("a list name cannot be empty")
    if len(name) > LIST_NAME_MAX_LENGTH:
        raise ValueError(f"a list name has at most {LIST_NAME_MAX_LENGTH} characters")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"list name {name!r} must be UPPER_WITH_UNDERSCORE: A-Z, 0-9 and _, "
            "not starting with a digit"
        )
    return name


def validate_label(raw: str) -> str:
    label = raw.strip()
    if not label:
        raise ValueError("a label cannot be empty")
    if len(label) > LIST_LABEL_MAX_LENGTH:
        raise ValueError(f"a label has at most {LIST_LABEL_MAX_LENGTH} characters")
    if any(ord(c) < 32 for c in label):
        raise ValueError(f"label {label!r} contains a control character")
    if "|" in label:
        raise ValueError(f"label {label!r} contains '|', the separator of labels in a cell")
    return label
