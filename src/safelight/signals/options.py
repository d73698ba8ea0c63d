"""What ``safelight hash`` computes and how: the options of one hashing run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from safelight.constants import (
    DEFAULT_MAX_PIXELS,
    MAX_ANIMATION_FRAMES,
    READ_IN_MEMORY_LIMIT,
    VPDQ_SECONDS_PER_HASH,
)
from safelight.errors import UsageError

SIGNAL_NAMES = ("pdq", "pdq8", "vpdq", "md5", "sha1", "sha256")
DEFAULT_SIGNALS = frozenset({"pdq", "vpdq", "md5", "sha1", "sha256"})

# default: exact decodes, PDQ bit-identical to the HMA path (DEFAULT_MODE_MAX_BITS = 0);
# fast: DCT-domain reduced JPEG decode where safe (within FAST_MODE_MAX_BITS, measured);
# reference: Pillow full RGB decode, bit-identical to Pillow + pdqhash (the HMA flavour).
Mode = Literal["default", "fast", "reference"]


@dataclass(frozen=True, slots=True)
class HashOptions:
    signals: frozenset[str] = DEFAULT_SIGNALS
    mode: Mode = "default"
    exif_transpose: bool = False
    all_frames: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_frames: int = MAX_ANIMATION_FRAMES
    seconds_per_hash: float = VPDQ_SECONDS_PER_HASH
    in_memory_limit: int = READ_IN_MEMORY_LIMIT
    digests: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        unknown = self.signals - set(SIGNAL_NAMES)
        if unknown:
            choices = ", ".join(SIGNAL_NAMES)
            raise UsageError(f"unknown signal {', '.join(sorted(unknown))}; choose from {choices}")
        if self.mode not in ("default", "fast", "reference"):
            raise UsageError(f"unknown hashing mode {self.mode!r}")
        if self.max_pixels < 1:
            raise UsageError(f"--max-pixels must be a positive number, got {self.max_pixels}")
        if self.max_frames < 1:
            raise UsageError(f"the frame limit must be positive, got {self.max_frames}")
        wanted = tuple(name for name in ("md5", "sha1", "sha256") if name in self.signals)
        object.__setattr__(self, "digests", wanted)

    @property
    def wants_pdq(self) -> bool:
        """pdq8 implies pdq: the original orientation is one of the eight."""
        return bool({"pdq", "pdq8"} & self.signals)

    @property
    def wants_pdq8(self) -> bool:
        return "pdq8" in self.signals

    @property
    def wants_vpdq(self) -> bool:
        return "vpdq" in self.signals


def parse_signals(text: str) -> frozenset[str]:
    """``"pdq,md5"`` -> {"pdq", "md5"}; unknown or empty names are a UsageError (exit 2)."""
    names = [part.strip().lower() for part in text.split(",")]
    if not any(names) or "" in names:
        raise UsageError(f"--signals needs a comma-separated list from {', '.join(SIGNAL_NAMES)}")
    unknown = sorted(set(names) - set(SIGNAL_NAMES))
    if unknown:
        raise UsageError(
            f"--signals: unknown signal {', '.join(unknown)}; choose from {', '.join(SIGNAL_NAMES)}"
        )
    return frozenset(names)
