"""The values hashing produces, free of the decoders and kernels that compute them: records,
results and the CLI can import them without loading numba, Pillow or PyAV."""

from __future__ import annotations

from dataclasses import dataclass

from safelight.constants import PDQ_HASH_BITS, PDQ_MIN_QUALITY

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
