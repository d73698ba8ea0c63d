"""Which format a file is, from its first bytes; its name only breaks ties.

Content decides: a JPEG named ``.png`` is a JPEG, and a text file named ``.jpg`` is not an
image. The name matters only when the bytes match nothing we know: then a photo or video
extension means the file claims to be media and is broken (an error), while anything else is
"other" (digests only, no error), as a README or a PDF in a scanned folder should be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

Media = Literal["photo", "video", "other"]

# ISO base media (ftyp) brands: HEIF stills, AVIF stills, and everything else is video (mp4,
# mov, 3gp, m4v...). A file may list several compatible brands; stills win if any is present.
_HEIF_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"})
_AVIF_BRANDS = frozenset({"avif", "avis"})

_PHOTO_SUFFIXES = "jpg jpeg jpe jfif png apng gif webp bmp dib tif tiff heic heif hif avif"
_VIDEO_SUFFIXES = "mp4 m4v mov qt 3gp 3g2 mkv webm avi flv wmv asf mpg mpeg ts m2ts mts ogv vob"
PHOTO_EXTENSIONS = frozenset(f".{suffix}" for suffix in _PHOTO_SUFFIXES.split())
VIDEO_EXTENSIONS = frozenset(f".{suffix}" for suffix in _VIDEO_SUFFIXES.split())


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the bytes are: the media kind and a format name (``jpeg``, ``png``, ``mp4``...)."""

    media: Media
    format: str | None


def _ftyp(head: bytes) -> Sniffed | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    end = min(len(head), box_size if box_size >= 16 else 16)
    brands = {head[8:12].decode("latin-1")}
    brands.update(head[i : i + 4].decode("latin-1") for i in range(16, end - 3, 4))
    if brands & _AVIF_BRANDS:
        return Sniffed("photo", "avif")
    if brands & _HEIF_BRANDS:
        return Sniffed("photo", "heif")
    return Sniffed("video", "quicktime" if head[8:12] == b"qt  " else "mp4")


_SIGNATURES: tuple[tuple[bytes, int, Sniffed], ...] = (
    (b"\xff\xd8\xff", 0, Sniffed("photo", "jpeg")),
    (b"\x89PNG\r\n\x1a\n", 0, Sniffed("photo", "png")),
    (b"GIF87a", 0, Sniffed("photo", "gif")),
    (b"GIF89a", 0, Sniffed("photo", "gif")),
    (b"BM", 0, Sniffed("photo", "bmp")),
    (b"II*\x00", 0, Sniffed("photo", "tiff")),
    (b"MM\x00*", 0, Sniffed("photo", "tiff")),
    (b"\x1aE\xdf\xa3", 0, Sniffed("video", "matroska")),
    (b"FLV\x01", 0, Sniffed("video", "flv")),
    (b"\x00\x00\x01\xba", 0, Sniffed("video", "mpeg")),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", 0, Sniffed("video", "asf")),
    (b"OggS", 0, Sniffed("video", "ogg")),
)

# How many leading bytes sniffing needs (ftyp brand lists are short; MPEG-TS needs 189).
SNIFF_BYTES = 512


def sniff_bytes(head: bytes) -> Sniffed | None:
    """The format the leading bytes announce, or None when they match nothing we know."""
    for magic, offset, result in _SIGNATURES:
        if head.startswith(magic, offset):
            if result.format == "bmp" and len(head) < 14:
                return None  # "BM" alone is too weak a signature for two-byte files
            return result
    if head[0:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("photo", "webp")
    if head[0:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "avi")
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return Sniffed("video", "mpegts")
    return _ftyp(head)


def media_from_name(path: str | PurePath) -> Media:
    """The media kind a file name claims (used only when the bytes match no format)."""
    suffix = PurePath(path).suffix.lower()
    if suffix in PHOTO_EXTENSIONS:
        return "photo"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    return "other"
