"""Signal types and the validation and normalisation of list values.

Every value is stored normalised: lowercase hex of the exact length of its type. A vPDQ
value is one video: the python-threatexchange signal string, a JSON array of
``"pdq_hex,quality,timestamp"`` features, re-serialised canonically (see docs/lists.md).
Functions raise ``ValueError`` with a reason a person can act on; callers add the location.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import NamedTuple

from safelight.constants import (
    LIST_HEX_LENGTHS,
    LIST_LABEL_MAX_LENGTH,
    LIST_NAME_MAX_LENGTH,
    LIST_NAME_PATTERN,
    LIST_SIGNAL_TYPE_ALIASES,
    LIST_SIGNAL_TYPES,
    PDQ_HEX_LENGTH,
    VPDQ_TIMESTAMP_DECIMALS,
)

_HEX_DIGITS = frozenset("0123456789abcdef")
_NAME_RE = re.compile(LIST_NAME_PATTERN)
# Bare hex lines are typed by length; 64 is ambiguous (PDQ or SHA-256) and means PDQ, as in
# HMA's local file exchange. ``--type`` overrides.
TYPE_BY_LENGTH = {32: "md5", 40: "sha1", 64: "pdq"}


class NormalisedValue(NamedTuple):
    """``value`` is what matches (hex, or the vPDQ JSON); ``key`` what makes it unique."""

    signal_type: str
    value: str
    key: str


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


def canonical_type(name: str) -> str:
    """Our name for a signal type given ours or a python-threatexchange/HMA alias."""
    lowered = name.strip().lower()
    lowered = LIST_SIGNAL_TYPE_ALIASES.get(lowered, lowered)
    if lowered not in LIST_SIGNAL_TYPES:
        known = ", ".join(LIST_SIGNAL_TYPES)
        raise ValueError(f"unknown signal type {name.strip()!r} (known: {known})")
    return lowered


def infer_type(raw: str) -> str:
    """The type of a bare hex value from its length: 32 md5, 40 sha1, 64 pdq."""
    text = raw.strip()
    found = TYPE_BY_LENGTH.get(len(text))
    if found is None:
        raise ValueError(
            f"cannot tell the signal type of a {len(text)}-character value "
            "(32 = md5, 40 = sha1, 64 = pdq; give the type or use --type)"
        )
    return found


def normalise_hex(signal_type: str, raw: str) -> str:
    text = raw.strip().lower()
    expected = LIST_HEX_LENGTHS[signal_type]
    if len(text) != expected:
        raise ValueError(f"{signal_type} value must be {expected} hex characters, got {len(text)}")
    if not _HEX_DIGITS.issuperset(text):
        position = next(i for i, c in enumerate(text) if c not in _HEX_DIGITS)
        raise ValueError(
            f"{signal_type} value is not hex: {text[position]!r} at character {position + 1}"
        )
    return text


def vpdq_feature(pdq_hex: str, quality: str | int, timestamp: str | float) -> str:
    """One canonical vPDQ feature ``hex,quality,timestamp`` (3 decimals, as the C++ tool)."""
    hex_value = normalise_hex("pdq", pdq_hex)
    try:
        quality_value = int(quality)
    except (TypeError, ValueError):
        raise ValueError(f"vpdq quality {quality!r} is not an integer") from None
    if not 0 <= quality_value <= 100:
        raise ValueError(f"vpdq quality {quality_value} is outside 0-100")
    try:
        seconds = float(timestamp)
    except (TypeError, ValueError):
        raise ValueError(f"vpdq timestamp {timestamp!r} is not a number") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"vpdq timestamp {timestamp!r} must be a finite number >= 0")
    return f"{hex_value},{quality_value},{seconds:.{VPDQ_TIMESTAMP_DECIMALS}f}"


def vpdq_value(features: list[str]) -> NormalisedValue:
    """The canonical vPDQ value of a video's features (already canonical strings)."""
    if not features:
        raise ValueError("a vpdq value needs at least one frame feature")
    value = json.dumps(features, separators=(",", ":"))
    key = hashlib.sha256(value.encode("ascii")).hexdigest()
    return NormalisedValue("vpdq", value, key)


def parse_vpdq_value(raw: str) -> list[str]:
    """Canonical features of a python-threatexchange vPDQ signal string."""
    try:
        loaded = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"vpdq value is not a JSON array: {exc.msg}") from None
    if not isinstance(loaded, list):
        raise ValueError('vpdq value must be a JSON array of "pdq_hex,quality,timestamp"')
    features = []
    for number, item in enumerate(loaded, start=1):
        if not isinstance(item, str) or item.count(",") != 2:
            raise ValueError(f'vpdq feature {number} is not a "pdq_hex,quality,timestamp" string')
        pdq_hex, quality, timestamp = item.split(",")
        try:
            features.append(vpdq_feature(pdq_hex, quality, timestamp))
        except ValueError as exc:
            raise ValueError(f"vpdq feature {number}: {exc}") from None
    return features


def normalise(signal_type: str, raw: str) -> NormalisedValue:
    """Validate and normalise a value of a known (canonical) type."""
    if signal_type == "vpdq":
        return vpdq_value(parse_vpdq_value(raw))
    value = normalise_hex(signal_type, raw)
    return NormalisedValue(signal_type, value, value)


def vpdq_pdq_hashes(value: str) -> list[str]:
    """The frame PDQ hashes of a stored vPDQ value, in order (for index builders)."""
    return [feature[:PDQ_HEX_LENGTH] for feature in json.loads(value)]


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
