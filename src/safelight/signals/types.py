"""Signal types: one registry, in which each hash type owns its facts.

Modelled on python-threatexchange's ``SignalType`` (threatexchange/signal_type/signal_base.py):
a type knows its name and the names HMA and pytx give it, the content it applies to, how a
value is validated and normalised, its width, its distance and thresholds, its quality cut-off,
the kind of index that holds it and how a value is serialised. Every other module asks here:

    from safelight.signals.types import registry
    registry.get("video_md5")             # -> the md5 SignalType (an HMA alias)
    registry.infer("ab" * 32)             # -> AmbiguousSignalTypeError: pdq or sha256?
    registry.get("pdq").normalise(text)   # -> NormalisedValue, or ValueError with a reason

Installed packages add types (licensed hashes Safelight cannot ship) through the entry point
group ``safelight.signal_types``: each entry point names a ``SignalType`` (or a callable
returning one, or a sequence of them). They are loaded when the registry is first used.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal, NamedTuple

from safelight.constants import (
    PDQ_HEX_LENGTH,
    PDQ_MATCH_THRESHOLD,
    PDQ_MAX_LIST_THRESHOLD,
    PDQ_MIN_QUALITY,
    VPDQ_MATCH_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_TIMESTAMP_DECIMALS,
)

ENTRY_POINT_GROUP = "safelight.signal_types"

# How two values of a type are compared: bits that differ, equality, or vPDQ's bag of frames.
Distance = Literal["hamming", "exact", "vpdq"]
# The index that holds a type's values: multi-index Hamming search, exact digest lookup, or
# the vPDQ frame index (safelight.match.vpdq_frames).
IndexKind = Literal["hamming", "digest", "vpdq_frames"]

_HEX_DIGITS = frozenset("0123456789abcdef")
# Names are stored in a 16-character column (store/lists_tables.py SignalTypeName).
SIGNAL_TYPE_NAME_MAX_LENGTH = 16
_NAME_RE = re.compile(rf"[a-z][a-z0-9_]{{0,{SIGNAL_TYPE_NAME_MAX_LENGTH - 1}}}")


class NormalisedValue(NamedTuple):
    """``value`` is what matches (hex, or the vPDQ JSON); ``key`` what makes it unique."""

    signal_type: str
    value: str
    key: str


class UnknownSignalTypeError(ValueError):
    """A name that is no registered signal type (nor an alias of one)."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown signal type {name!r} (known: {', '.join(self.known)})")


class UntypedValueError(ValueError):
    """A bare value whose type cannot be told from its length: none fits, or several do.

    ``candidates`` holds the types of that length (several: ambiguous; none: unknown). The
    message says how a value's type is declared in data; fronts add their own options.
    """

    def __init__(self, length: int, candidates: Iterable[str], lengths: dict[int, str]) -> None:
        self.length = length
        self.candidates = tuple(candidates)
        if self.candidates:
            self.summary = f"a {length}-character value could be {' or '.join(self.candidates)}"
            advice = "declare its type (a 'TYPE HEX' line, a type column, or the list's default)"
            super().__init__(f"{self.summary}: {advice}")
        else:
            known = ", ".join(f"{n} = {t}" for n, t in sorted(lengths.items()))
            self.summary = f"cannot tell the signal type of a {length}-character value ({known})"
            super().__init__(self.summary)

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


@dataclass(frozen=True)
class SignalType:
    """Everything Safelight knows about one hash type. Values are lower-case hex of
    ``hex_length`` characters unless a subclass says otherwise (vPDQ)."""

    name: str
    description: str
    # Where the facts below come from (a spec, an upstream file).
    source: str
    # HMA content types the type applies to ("photo", "video"); a digest applies to any file.
    content_types: tuple[str, ...]
    distance: Distance
    index_kind: IndexKind
    hex_length: int | None = None
    # Other names accepted on input (HMA and python-threatexchange names).
    aliases: tuple[str, ...] = ()
    # Thresholds in distance units (bits for Hamming types; 0 for exact types).
    default_threshold: int = 0
    max_threshold: int = 0
    # Values of lower quality are not matched by default (None: the type has no quality).
    min_quality: int | None = None
    # A digest of a file's bytes: the hashlib constructor name that computes it.
    hashlib_name: str | None = None
    # The name and its aliases, every name the registry resolves to this type.
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", (self.name, *self.aliases))

    @property
    def key_bytes(self) -> int:
        """Bytes of one index key (fixed-width types only)."""
        if self.hex_length is None:
            raise ValueError(f"{self.name} values have no fixed width")
        return self.hex_length // 2

    @property
    def is_file_digest(self) -> bool:
        return self.hashlib_name is not None

    def new_hasher(self) -> Any:
        """A fresh object with hashlib's ``update``/``hexdigest`` computing this digest
        (digest types only; a registered type may override this for a non-hashlib hash)."""
        if self.hashlib_name is None:
            raise ValueError(f"{self.name} is not computed from a file's bytes")
        # usedforsecurity=False: these are identifiers, and FIPS builds refuse MD5 otherwise.
        return hashlib.new(self.hashlib_name, usedforsecurity=False)

    def normalise(self, raw: str) -> NormalisedValue:
        """Trimmed, lower-cased, exactly ``hex_length`` hex digits (pytx's rule for PDQ and
        MD5); a ValueError says what is wrong."""
        text = raw.strip().lower()
        expected = self.hex_length
        if expected is not None and len(text) != expected:
            got = len(text)
            raise ValueError(f"{self.name} value must be {expected} hex characters, got {got}")
        if not text:
            raise ValueError(f"{self.name} value is empty")
        if not _HEX_DIGITS.issuperset(text):
            position = next(i for i, c in enumerate(text) if c not in _HEX_DIGITS)
            raise ValueError(
                f"{self.name} value is not hex: {text[position]!r} at character {position + 1}"
            )
        return NormalisedValue(self.name, text, text)

    def check_threshold(self, threshold: int) -> int:
        if not 0 <= threshold <= self.max_threshold:
            raise ValueError(
                f"{self.name} threshold must be 0-{self.max_threshold}, got {threshold}"
            )
        return threshold

    def to_dict(self) -> dict[str, Any]:
        """The facts as data (docs tables, ``/c/signal_type``)."""
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "content_types": list(self.content_types),
            "hex_length": self.hex_length,
            "distance": self.distance,
            "index": self.index_kind,
            "default_threshold": self.default_threshold,
            "max_threshold": self.max_threshold,
            "min_quality": self.min_quality,
            "description": self.description,
            "source": self.source,
        }


@dataclass(frozen=True)
class VpdqSignalType(SignalType):
    """vPDQ: one value per video, the python-threatexchange signal string (a JSON array of
    ``"pdq_hex,quality,timestamp"`` features), stored canonically; its key is the SHA-256 of
    the canonical JSON so the uniqueness index stays narrow."""

    def normalise(self, raw: str) -> NormalisedValue:
        return vpdq_value(parse_vpdq_value(raw))


def vpdq_feature(pdq_hex: str, quality: str | int, timestamp: str | float) -> str:
    """One canonical vPDQ feature ``hex,quality,timestamp`` (3 decimals, as the C++ tool)."""
    hex_value = PDQ.normalise(pdq_hex).value
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


def vpdq_pdq_hashes(value: str) -> list[str]:
    """The frame PDQ hashes of a stored vPDQ value, in order (for index builders)."""
    return [feature[:PDQ_HEX_LENGTH] for feature in json.loads(value)]


PDQ = SignalType(
    name="pdq",
    description="PDQ perceptual photo hash, 256 bits",
    source="facebook/ThreatExchange pdq/README.md; python-threatexchange signal_type/pdq",
    content_types=("photo",),
    distance="hamming",
    index_kind="hamming",
    hex_length=PDQ_HEX_LENGTH,
    default_threshold=PDQ_MATCH_THRESHOLD,
    max_threshold=PDQ_MAX_LIST_THRESHOLD,
    min_quality=PDQ_MIN_QUALITY,
)
VPDQ = VpdqSignalType(
    name="vpdq",
    description="vPDQ video hash: PDQ of one frame per second, matched as a bag of frames",
    source="facebook/ThreatExchange vpdq/README.md; python-threatexchange extensions/vpdq",
    content_types=("video",),
    distance="vpdq",
    index_kind="vpdq_frames",
    aliases=("video_vpdq",),
    default_threshold=VPDQ_MATCH_THRESHOLD,
    max_threshold=PDQ_MAX_LIST_THRESHOLD,
    min_quality=VPDQ_QUALITY_THRESHOLD,
)
MD5 = SignalType(
    name="md5",
    description="MD5 of a file's bytes",
    source="RFC 1321; HMA video_md5 (python-threatexchange signal_type/md5.py)",
    content_types=("photo", "video"),
    distance="exact",
    index_kind="digest",
    hex_length=32,
    aliases=("video_md5", "photo_md5"),
    hashlib_name="md5",
)
SHA1 = SignalType(
    name="sha1",
    description="SHA-1 of a file's bytes",
    source="FIPS 180-4; Project VIC / CAID SHA1 fields",
    content_types=("photo", "video"),
    distance="exact",
    index_kind="digest",
    hex_length=40,
    hashlib_name="sha1",
)
SHA256 = SignalType(
    name="sha256",
    description="SHA-256 of a file's bytes",
    source="FIPS 180-4; HMA video_sha256 (python-threatexchange signal_type/sha256.py)",
    content_types=("photo", "video"),
    distance="exact",
    index_kind="digest",
    hex_length=64,
    aliases=("video_sha256",),
    hashlib_name="sha256",
)
BUILTIN_TYPES: tuple[SignalType, ...] = (PDQ, MD5, SHA1, SHA256, VPDQ)


class SignalTypeRegistry:
    """The registered signal types, in order: built-ins first, then entry points."""

    def __init__(
        self,
        builtins: Iterable[SignalType] = BUILTIN_TYPES,
        *,
        load_entry_points: bool = True,
    ) -> None:
        self._builtins = tuple(builtins)
        self._load_entry_points = load_entry_points
        self._types: dict[str, SignalType] | None = None
        self._names: dict[str, SignalType] = {}

    # --- loading ---------------------------------------------------------------------------
    def _loaded(self) -> dict[str, SignalType]:
        if self._types is None:
            self._types = {}
            self._names = {}
            for signal_type in self._builtins:
                self._add(signal_type)
            if self._load_entry_points:
                for signal_type in _entry_point_types():
                    self._add(signal_type)
        return self._types

    def _add(self, signal_type: SignalType) -> None:
        assert self._types is not None
        for name in signal_type.names:
            if not _NAME_RE.fullmatch(name):
                raise ValueError(
                    f"signal type name {name!r} must be 1-{SIGNAL_TYPE_NAME_MAX_LENGTH} "
                    "lower-case letters, digits or _, starting with a letter"
                )
            taken = self._names.get(name)
            if taken is not None:
                raise ValueError(f"signal type name {name!r} is taken by {taken.name!r}")
            self._names[name] = signal_type
        self._types[signal_type.name] = signal_type

    def register(self, signal_type: SignalType) -> SignalType:
        """Add a type at run time (tests, embedding applications)."""
        self._loaded()
        self._add(signal_type)
        return signal_type

    def reload(self) -> None:
        """Forget loaded types; the next use loads built-ins and entry points again."""
        self._types = None

    # --- queries ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[SignalType]:
        return iter(self._loaded().values())

    def __contains__(self, name: object) -> bool:
        self._loaded()
        return isinstance(name, str) and name.strip().lower() in self._names

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._loaded())

    def get(self, name: str) -> SignalType:
        """The type of a name or alias (case and surrounding space ignored)."""
        self._loaded()
        found = self._names.get(name.strip().lower())
        if found is None:
            raise UnknownSignalTypeError(name.strip(), self.names)
        return found

    def where(self, predicate: Callable[[SignalType], bool]) -> tuple[SignalType, ...]:
        return tuple(t for t in self if predicate(t))

    def file_digests(self) -> tuple[SignalType, ...]:
        """Types computed from a file's bytes (MD5, SHA-1, SHA-256 and registered ones)."""
        return self.where(lambda t: t.is_file_digest)

    def indexed(self) -> tuple[SignalType, ...]:
        """Types held in an index of fixed-width keys (Hamming or digest)."""
        return self.where(lambda t: t.index_kind in ("hamming", "digest"))

    def by_length(self, among: Iterable[SignalType] | None = None) -> dict[int, tuple[str, ...]]:
        """Hex length -> names of the fixed-width types of that length."""
        out: dict[int, tuple[str, ...]] = {}
        chosen = None if among is None else set(among)
        for signal_type in self:  # registry order, so messages name types in a fixed order
            if chosen is not None and signal_type not in chosen:
                continue
            width = signal_type.hex_length
            if width is not None:
                out[width] = (*out.get(width, ()), signal_type.name)
        return out

    def unambiguous_lengths(self, among: Iterable[SignalType] | None = None) -> dict[int, str]:
        """Hex lengths that name exactly one type (a bare value of that length is typed)."""
        return {n: names[0] for n, names in self.by_length(among).items() if len(names) == 1}

    def infer(self, raw: str, among: Iterable[SignalType] | None = None) -> SignalType:
        """The type of a bare value, from its length, when exactly one type (``among`` the
        given ones, default all) has that length; else ``UntypedValueError``."""
        length = len(raw.strip())
        lengths = self.by_length(among)
        candidates = lengths.get(length, ())
        if len(candidates) == 1:
            return self.get(candidates[0])
        described = {n: "/".join(names) for n, names in lengths.items()}
        raise UntypedValueError(length, candidates, described)

    def normalise(self, raw: str, declared: str | None = None) -> NormalisedValue:
        """A value of a declared type, or of the one type its length names."""
        signal_type = self.get(declared) if declared else self.infer(raw)
        return signal_type.normalise(raw)


def _entry_point_types() -> Iterator[SignalType]:
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        loaded = point.load()
        found = loaded() if callable(loaded) and not isinstance(loaded, SignalType) else loaded
        items = [found] if isinstance(found, SignalType) else list(found)
        for item in items:
            if not isinstance(item, SignalType):
                raise TypeError(
                    f"entry point {point.name!r} ({point.value}) of {ENTRY_POINT_GROUP} "
                    f"gave {type(item).__name__}, not a SignalType"
                )
            yield item


registry = SignalTypeRegistry()
