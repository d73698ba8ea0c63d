"""Container sniffing and truncation checks on hand-built headers."""

from __future__ import annotations

import io
import struct

import pytest

from safelight.signals.video_container import check_container, sniff_family


def box(kind: bytes, payload: bytes = b"", size: int | None = None) -> bytes:
    return struct.pack(">I", 8 + len(payload) if size is None else size) + kind + payload


def check(data: bytes) -> tuple[str | None, bool, str]:
    stream = io.BytesIO(data)
    result = check_container(stream, len(data))
    assert stream.tell() == 0
    return result.family, result.truncated, result.detail


@pytest.mark.parametrize(
    ("head", "family"),
    [
        (box(b"ftyp", b"isom"), "mp4"),
        (b"\x1a\x45\xdf\xa3\x80", "matroska"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"FLV\x01\x05", "flv"),
        (b"OggS\x00\x02", "ogg"),
        (bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"), "asf"),
        (b"\x00\x00\x01\xba\x44", "mpeg"),
        ((b"\x47" + bytes(187)) * 2, "mpegts"),
        (b"\x47" + bytes(100), None),
        (b"hello", None),
        (b"", None),
    ],
)
def test_sniff_family(head: bytes, family: str | None) -> None:
    assert sniff_family(head) == family


def test_bmff_box_chain() -> None:
    whole = box(b"ftyp", b"isom") + box(b"mdat", bytes(100)) + box(b"moov", bytes(20))
    assert check(whole) == ("mp4", False, "")
    family, truncated, detail = check(whole[:-5])
    assert truncated and "'moov'" in detail and "declares 28 bytes" in detail
    assert check(whole[:-28] + b"\x00\x00")[1]  # file ends inside a box header


def test_bmff_large_and_open_ended_boxes() -> None:
    large = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 10_000) + bytes(50)
    assert "declares 10000 bytes" in check(box(b"ftyp", b"isom") + large)[2]
    cut_header = box(b"ftyp", b"isom") + struct.pack(">I", 1) + b"mdat" + b"\x00\x00"
    assert "header" in check(cut_header)[2]
    to_end = box(b"ftyp", b"isom") + box(b"mdat", size=0) + bytes(64)
    assert check(to_end) == ("mp4", False, "")
    malformed = box(b"ftyp", b"isom") + box(b"junk", size=3) + bytes(64)
    assert check(malformed) == ("mp4", False, "")  # broken, not cut: FFmpeg reports it


def ebml(segment_size: bytes, body: int) -> bytes:
    header = b"\x1a\x45\xdf\xa3" + b"\x84" + b"\x42\x86\x81\x01"  # size 4: EBMLVersion 1
    return header + b"\x18\x53\x80\x67" + segment_size + bytes(body)


def test_matroska_segment_size() -> None:
    assert check(ebml(b"\x40\x64", 100)) == ("matroska", False, "")  # 2-byte size: 100
    family, truncated, detail = check(ebml(b"\x40\x64", 60))
    assert truncated and "Segment" in detail
    unknown = ebml(b"\x01\xff\xff\xff\xff\xff\xff\xff", 10)  # live stream: size unknown
    assert check(unknown) == ("matroska", False, "")
    assert check(b"\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01" + b"\x1f\x43\xb6\x75") == (
        "matroska",
        False,
        "",
    )  # no Segment where it should be: not judged
    assert check(b"\x1a\x45\xdf\xa3\x00") == ("matroska", False, "")  # invalid size byte
    assert check(b"\x1a\x45\xdf\xa3\x10") == ("matroska", False, "")  # size runs past data


def test_riff_size() -> None:
    body = b"AVI " + bytes(100)
    assert check(b"RIFF" + struct.pack("<I", len(body)) + body) == ("avi", False, "")
    family, truncated, detail = check(b"RIFF" + struct.pack("<I", 500) + body)
    assert truncated and "RIFF header declares 508 bytes" in detail
