"""The values hashing produces, free of the decoders and kernels that compute them: records,
results and the CLI can import them without loading numba, Pillow or PyAV."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from safelight.constants import PDQ_HASH_BITS, PDQ_HEX_LENGTH, PDQ_MIN_QUALITY

_HEX = re.compile(rf"[0-9a-f]{{{PDQ_HEX_LENGTH}}}")

# The eight orientations PDQ can derive from one DCT, in pdqhash.compute_dihedral's order.
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A 256-bit PDQ hash and its quality."""

    digest: bytes
    quality: int

    @property
    def hex(self) -> str:
        return self.digest.hex()

    @property
    def reliable(self) -> bool:
        return self.quality >= PDQ_MIN_QUALITY

    def distance(self, other: PdqHash) -> int:
        return hamming_distance(self.digest, other.digest)


ZERO_HASH = PdqHash(bytes(PDQ_HASH_BITS // 8), 0)


def hamming_distance(a: bytes, b: bytes) -> int:
    """Number of differing bits between two equal-length hashes."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


@dataclass(frozen=True, slots=True)
class FrameHash:
    """The PDQ hash of one frame of an animated image (frame index from 0)."""

    frame: int
    pdq: PdqHash


@dataclass(frozen=True, slots=True)
class VpdqFeature:
    """One vPDQ frame: its decode-order number, time in seconds, PDQ hex and quality. The one
    shape of a video's frames: in records, in matching, read back from lists."""

    frame: int
    timestamp: float
    pdq: str
    quality: int

    def __post_init__(self) -> None:
        if not _HEX.fullmatch(self.pdq):
            raise ValueError(f"pdq must be {PDQ_HEX_LENGTH} lowercase hex characters")
        if not 0 <= self.quality <= 100:
            raise ValueError(f"quality must be 0-100, got {self.quality}")
        if self.frame < 0:
            raise ValueError(f"frame must be >= 0, got {self.frame}")

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(self.pdq)


def features_of_value(value: str) -> list[VpdqFeature]:
    """A stored vPDQ value (the pytx signal string: a JSON array of "hex,quality,timestamp")
    as features, numbered in stored order."""
    out = []
    for frame, text in enumerate(json.loads(value)):
        pdq, quality, timestamp = text.split(",")
        out.append(VpdqFeature(frame, float(timestamp), pdq, int(quality)))
    return out
