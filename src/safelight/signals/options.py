"""What ``safelight hash`` computes and how: the options of one hashing run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from safelight.constants import (
    DEFAULT_MAX_PIXELS,
    MAX_ANIMATION_FRAMES,
    READ_IN_MEMORY_LIMIT,
    VPDQ_SECONDS_PER_HASH,
)
from safelight.errors import UsageError
from safelight.signals.types import registry

# Signals computed from decoded media; the file digests come from the signal-type registry
# (MD5, SHA-1, SHA-256 and any type an installed package registers).
MEDIA_SIGNALS = ("pdq", "pdq8", "vpdq")


def signal_names() -> tuple[str, ...]:
    """Every signal ``hash`` can compute: pdq8 is PDQ of the 8 rotations and flips."""
    return (*MEDIA_SIGNALS, *(t.name for t in registry.file_digests()))


def default_signals() -> frozenset[str]:
    """What a plain ``hash`` computes: everything but the 8 orientations."""
    return frozenset(signal_names()) - {"pdq8"}


def __getattr__(name: str) -> Any:
    # SIGNAL_NAMES / DEFAULT_SIGNALS read the registry when first asked, so types that
    # packages register are included.
    if name == "SIGNAL_NAMES":
        return signal_names()
    if name == "DEFAULT_SIGNALS":
        return default_signals()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# default: exact decodes, PDQ bit-identical to the HMA path (DEFAULT_MODE_MAX_BITS = 0);
# fast: DCT-domain reduced JPEG decode where safe (within FAST_MODE_MAX_BITS, measured);
# reference: Pillow full RGB decode, bit-identical to Pillow + pdqhash (the HMA flavour).
Mode = Literal["default", "fast", "reference"]


@dataclass(frozen=True, slots=True)
class HashOptions:
    signals: frozenset[str] = field(default_factory=default_signals)
    mode: Mode = "default"
    exif_transpose: bool = False
    all_frames: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_frames: int = MAX_ANIMATION_FRAMES
    seconds_per_hash: float = VPDQ_SECONDS_PER_HASH
    in_memory_limit: int = READ_IN_MEMORY_LIMIT
    digests: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        unknown = self.signals - set(signal_names())
        if unknown:
            choices = ", ".join(signal_names())
            raise UsageError(f"unknown signal {', '.join(sorted(unknown))}; choose from {choices}")
        if self.mode not in ("default", "fast", "reference"):
            raise UsageError(f"unknown hashing mode {self.mode!r}")
        if self.max_pixels < 1:
            raise UsageError(
                f"must be a positive number, got {self.max_pixels}", field="max_pixels"
            )
        if self.max_frames < 1:
            raise UsageError(f"the frame limit must be positive, got {self.max_frames}")
        wanted = tuple(t.name for t in registry.file_digests() if t.name in self.signals)
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
    choices = ", ".join(signal_names())
    if not any(names) or "" in names:
        raise UsageError(f"needs a comma-separated list from {choices}", field="signals")
    unknown = sorted(set(names) - set(signal_names()))
    if unknown:
        raise UsageError(
            f"unknown signal {', '.join(unknown)}; choose from {choices}", field="signals"
        )
    return frozenset(names)
