"""``HashRecord.from_dict`` is the inverse of ``to_dict``: every record a ``hash`` run can
write reads back equal, through JSON, and a bad field is an InputError naming it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import InputError, ItemError
from safelight.signals.hashes import FrameHash, VpdqFeature
from safelight.signals.pdq import DIHEDRAL_NAMES, PdqHash
from safelight.signals.records import HashRecord, to_json_line

quality = st.integers(0, 100)
pdq_hex = st.binary(min_size=32, max_size=32).map(bytes.hex)
small = st.integers(0, 10**12)


@st.composite
def records(draw: st.DrawFn) -> HashRecord:
    digests = {
        name: draw(st.binary(min_size=width // 2, max_size=width // 2)).hex()
        for name, width in (("md5", 32), ("sha1", 40), ("sha256", 64))
        if draw(st.booleans())
    }
    pdq = pdq8 = None
    if draw(st.booleans()):
        q = draw(quality)
        pdq = PdqHash(bytes.fromhex(draw(pdq_hex)), q)
        if draw(st.booleans()):
            rest = [PdqHash(bytes.fromhex(draw(pdq_hex)), q) for _ in DIHEDRAL_NAMES[1:]]
            pdq8 = (pdq, *rest)
    frames = None
    if draw(st.booleans()):
        frames = tuple(
            FrameHash(i, PdqHash(bytes.fromhex(draw(pdq_hex)), draw(quality)))
            for i in range(draw(st.integers(0, 3)))
        )
    vpdq = None
    if draw(st.booleans()):
        vpdq = tuple(
            VpdqFeature(
                i,
                draw(st.floats(0, 1e5, allow_nan=False, allow_infinity=False)),
                draw(pdq_hex),
                draw(quality),
            )
            for i in range(draw(st.integers(0, 3)))
        )
    error = None
    if draw(st.booleans()):
        error = ItemError(draw(st.sampled_from(["unreadable", "truncated"])), draw(st.text()))
    return HashRecord(
        path=draw(st.text(min_size=1)),
        media=draw(st.sampled_from(["photo", "video", "other"])),
        size=draw(st.none() | small),
        digests=digests,
        format=draw(st.none() | st.sampled_from(["jpeg", "png", "mp4"])),
        width=draw(st.none() | st.integers(1, 10**5)),
        height=draw(st.none() | st.integers(1, 10**5)),
        pdq=pdq,
        pdq8=pdq8,
        frames=frames,
        frames_complete=draw(st.booleans()) if frames is not None else True,
        vpdq=vpdq,
        error=error,
    )


@settings(max_examples=200, deadline=None)
@given(records())
def test_from_dict_inverts_to_dict_through_json(record: HashRecord) -> None:
    assert HashRecord.from_dict(json.loads(to_json_line(record))) == record


BASE: dict[str, Any] = {"path": "a.jpg", "media": "photo", "size": 3}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"path": None}, "path: missing"),
        ({"media": "sound"}, "media"),
        ({"size": "3"}, "size"),
        ({"size": True}, "size"),
        ({"md5": "0F" * 16}, "md5"),
        ({"sha256": "00" * 31}, "sha256"),
        ({"pdq": "00" * 32}, "pdq_quality"),
        ({"pdq": "00" * 32, "pdq_quality": 101}, "pdq_quality"),
        ({"pdq": "00" * 32, "pdq_quality": 90, "pdq8": {"original": "00" * 32}}, "pdq8"),
        ({"pdq_frames": [{"frame": 0, "pdq": "00" * 32}]}, "pdq_frames[0].quality"),
        ({"vpdq": [{"frame": 0, "timestamp": "0", "pdq": "00" * 32, "quality": 1}]}, "vpdq[0]"),
        ({"vpdq": {}}, "vpdq"),
        ({"error": "broken"}, "error"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], named: str) -> None:
    with pytest.raises(InputError) as info:
        HashRecord.from_dict({**BASE, **change})
    assert named in info.value.message


def test_not_an_object() -> None:
    with pytest.raises(InputError):
        HashRecord.from_dict(["a.jpg"])
