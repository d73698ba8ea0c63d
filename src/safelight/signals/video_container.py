"""What a video file says about itself before FFmpeg reads it: family and declared length.

FFmpeg answers a damaged file with one generic "invalid data" error, and it decodes the
intact prefix of a cut Matroska or AVI file without complaint. To tell an analyst *what* is
wrong, Safelight reads the few bytes that declare a container's size:

* ISO BMFF (mp4, mov, 3gp): the chain of top-level boxes, each with its size;
* Matroska/WebM: the EBML header and the size of the Segment element;
* RIFF (AVI): the size in the RIFF header.

A declared size beyond the end of the file means the file was cut short (a partial download
or copy). The checks read at most a few kilobytes, even for multi-gigabyte files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

# ISO BMFF box types that can open a file (ISO/IEC 14496-12, QuickTime: wide, pnot).
_BMFF_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_MATROSKA_SEGMENT = b"\x18\x53\x80\x67"
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_MPEG_PS_PACK = b"\x00\x00\x01\xba"
_MPEG_TS_SYNC = 0x47
_MPEG_TS_PACKET = 188
# Top-level boxes walked before giving up (a real file has a handful).
_MAX_BOXES = 10_000


@dataclass(frozen=True, slots=True)
class ContainerCheck:
    """``family`` is a short name (mp4, matroska, avi, ...) or None; ``truncated`` says
    whether the container declares more bytes than the file has, with the numbers."""

    family: str | None
    truncated: bool = False
    detail: str = ""


def _read_at(stream: BinaryIO, offset: int, size: int) -> bytes:
    stream.seek(offset)
    return stream.read(size)


def sniff_family(head: bytes) -> str | None:
    """The video container family from the first bytes, or None when none is recognised."""
    if len(head) >= 8 and head[4:8] in _BMFF_FIRST_BOXES:
        return "mp4"
    if head.startswith(_EBML_MAGIC):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"AVIX"):
        return "avi"
    if head.startswith(b"FLV"):
        return "flv"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(_ASF_GUID):
        return "asf"
    if head.startswith(_MPEG_PS_PACK):
        return "mpeg"
    if len(head) > _MPEG_TS_PACKET and head[0] == head[_MPEG_TS_PACKET] == _MPEG_TS_SYNC:
        return "mpegts"
    return None


def _bmff_truncation(stream: BinaryIO, file_size: int) -> str:
    offset = 0
    for _ in range(_MAX_BOXES):
        if offset >= file_size:
            return ""
        header = _read_at(stream, offset, 16)
        if len(header) < 8:
            return f"box header at byte {offset} is cut off"
        size = int.from_bytes(header[:4], "big")
        kind = header[4:8].decode("latin-1")
        if size == 1:
            if len(header) < 16:
                return f"box '{kind}' header at byte {offset} is cut off"
            size = int.from_bytes(header[8:16], "big")
        elif size == 0:  # the box runs to the end of the file
            return ""
        if size < 8:
            return ""  # malformed rather than cut: FFmpeg reports it
        if offset + size > file_size:
            return (
                f"box '{kind}' at byte {offset} declares {size} bytes "
                f"but the file ends {file_size - offset} bytes into it"
            )
        offset += size
    return ""


def _read_ebml_size(data: bytes, at: int) -> tuple[int | None, int]:
    """An EBML variable-length size at ``at``: (value or None if unknown, bytes used)."""
    if at >= len(data) or data[at] == 0:
        return None, 1
    first = data[at]
    length = 8 - first.bit_length() + 1
    if at + length > len(data):
        return None, length
    value = first & ((1 << (8 - length)) - 1)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    unknown = value == (1 << (7 * length)) - 1
    return (None if unknown else value), length


def _matroska_truncation(stream: BinaryIO, file_size: int) -> str:
    head = _read_at(stream, 0, 4096)
    header_size, used = _read_ebml_size(head, 4)
    if header_size is None:
        return ""
    segment_at = 4 + used + header_size
    if head[segment_at : segment_at + 4] != _MATROSKA_SEGMENT:
        return ""
    size, used = _read_ebml_size(head, segment_at + 4)
    if size is None:  # "unknown size": live streams are written without one
        return ""
    end = segment_at + 4 + used + size
    if end > file_size:
        return f"Segment declares {end} bytes in all but the file has {file_size}"
    return ""


def _riff_truncation(stream: BinaryIO, file_size: int) -> str:
    head = _read_at(stream, 0, 8)
    end = 8 + int.from_bytes(head[4:8], "little")
    if end > file_size:
        return f"RIFF header declares {end} bytes but the file has {file_size}"
    return ""


def check_container(stream: BinaryIO, file_size: int) -> ContainerCheck:
    """Recognise the container and whether it is cut short; leaves ``stream`` at offset 0."""
    try:
        head = _read_at(stream, 0, _MPEG_TS_PACKET + 1)
        family = sniff_family(head)
        detail = ""
        if family == "mp4":
            detail = _bmff_truncation(stream, file_size)
        elif family == "matroska":
            detail = _matroska_truncation(stream, file_size)
        elif family == "avi":
            detail = _riff_truncation(stream, file_size)
        return ContainerCheck(family, bool(detail), detail)
    finally:
        stream.seek(0)
