"""Format sniffing: media kind from leading bytes, archive kind, video container family."""

from __future__ import annotations

from safelight.scan.archives import sniff as archive_sniff
from safelight.scan.archives import unsafe_name
from safelight.signals.sniff import SNIFF_BYTES, media_from_name, sniff_bytes
from safelight.signals.video_container import sniff_family

from .common import check


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    head = data[:SNIFF_BYTES]
    sniffed = sniff_bytes(head)
    check(sniffed is None or sniffed.media in ("photo", "video"), f"odd media {sniffed}")
    check(sniff_bytes(head) == sniffed, "sniffing is not a function of the bytes")
    archive_sniff(head)
    sniff_family(head)
    name = data[:64].decode("utf-8", "replace")
    check(media_from_name(name) in ("photo", "video", "other"), "odd media from name")
    unsafe_name(name)


def seeds() -> dict[str, bytes]:
    return {
        "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "ftyp-heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        "ftyp-mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1",
        "riff-webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
        "riff-avi": b"RIFF\x10\x00\x00\x00AVI LIST",
        "mpegts": b"\x47" + b"\x00" * 187 + b"\x47\x00",
        "zip": b"PK\x03\x04\x14\x00",
        "name": b"../photo.JPG",
    }
