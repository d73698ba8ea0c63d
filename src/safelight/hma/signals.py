"""HMA's view of the signal-type registry: names, content types, validation reasons, hashing.

A file-digest type is named in HMA by its ``video_*`` alias when it has one (``md5`` is HMA's
``video_md5``, ``sha256`` its ``video_sha256``) and by its own name otherwise (``pdq``,
``vpdq``, ``sha1``). Input accepts every registry name and alias; output uses the HMA name,
so an HMA client sees HMA's vocabulary and a Safelight client's ``md5`` still resolves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from safelight.constants import HMA_CONTENT_TYPES, HMA_DEFAULT_HASH_TYPES
from safelight.signals.types import SignalType, registry

_CHUNK = 1 << 20


class HmaError(Exception):
    """An HMA-shaped answer: ``status`` and the exact JSON ``body`` HMA gives (family A is
    ``{"message": text}``, family B a list of pydantic errors)."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body

    @classmethod
    def message(cls, status: int, text: str) -> HmaError:
        return cls(status, {"message": text})


@dataclass(frozen=True)
class HmaSignalType:
    """A registry type as HMA names it, and the HMA content types it applies to."""

    name: str
    kind: SignalType
    content_types: tuple[str, ...]

    def normalise(self, raw: object) -> str:
        """The stored form of a value; ValueError with HMA's reason (pytx's texts)."""
        if not isinstance(raw, str):
            raise ValueError(f"expected string or bytes-like object, got {type(raw).__name__!r}")
        try:
            return self.kind.normalise(raw).value
        except ValueError as exc:
            if self.kind.name == "pdq":
                raise ValueError("invalid PDQ hash") from None
            if self.kind.name == "md5":
                raise ValueError(f"{raw!r} is not a valid MD5 hash") from None
            raise ValueError(str(exc)) from None

    def distance(self, a: str, b: str) -> int | None:
        """Bits that differ (Hamming types); None for exact types, which have no distance."""
        if self.kind.distance != "hamming":
            return None
        return (int(a, 16) ^ int(b, 16)).bit_count()

    @property
    def threshold(self) -> int:
        return self.kind.default_threshold


def hma_name(kind: SignalType) -> str:
    """``video_md5`` for md5 and ``video_sha256`` for sha256 (file digests with such an
    alias); every other type keeps its own name (``pdq``, ``vpdq``, ``sha1``)."""
    alias = f"video_{kind.name}"
    return alias if kind.is_file_digest and alias in kind.aliases else kind.name


def hma_types() -> tuple[HmaSignalType, ...]:
    """Every registered type, in registry order, as HMA names it."""
    out = []
    for kind in registry:
        name = hma_name(kind)
        content = ("video",) if name.startswith("video_") else kind.content_types
        out.append(HmaSignalType(name, kind, tuple(c for c in content if c in HMA_CONTENT_TYPES)))
    return tuple(out)


def hma_type(name: str) -> HmaSignalType | None:
    """The type of an exact (case-sensitive, as HMA) name or alias; None if unknown."""
    if name != name.strip().lower() or name not in registry:
        return None
    kind = registry.get(name)
    return next(t for t in hma_types() if t.kind is kind)


def hma_name_of(safelight_name: str) -> str:
    """The HMA name of an entry's stored signal type (``md5`` -> ``video_md5``)."""
    return hma_name(registry.get(safelight_name))


def select_types(content_type: str, types: str | None) -> list[HmaSignalType]:
    """The types to hash a ``content_type`` upload into: HMA's defaults, or the ``types``
    comma list (items trimmed, empty ones skipped); HmaError with HMA's texts."""
    if content_type not in HMA_CONTENT_TYPES:
        raise HmaError.message(400, f"no such content_type: {content_type!r}")
    if types is None:
        return [t for t in hma_types() if t.name in HMA_DEFAULT_HASH_TYPES[content_type]]
    chosen: list[HmaSignalType] = []
    for item in (part.strip() for part in types.split(",")):
        if not item:
            continue
        found = hma_type(item)
        if found is None or content_type not in found.content_types:
            raise HmaError.message(400, f"signal type {item!r} doesn't exist or is disabled")
        if found not in chosen:
            chosen.append(found)
    if not chosen:
        raise HmaError.message(400, "empty signal type selection")
    return chosen


def hash_upload(
    upload: BinaryIO, content_type: str, types: Sequence[HmaSignalType]
) -> dict[str, str]:
    """``{hma name: value}`` of one uploaded file, as HMA's hashers give them: a PDQ below
    quality 50 is ``""``. The file is read from its start; nothing is kept."""
    out: dict[str, str] = {}
    digests = [t for t in types if t.kind.is_file_digest]
    if digests:
        out.update(_digests(upload, digests))
    media = [t for t in types if not t.kind.is_file_digest]
    if media:
        upload.seek(0)
        out.update(_media_hashes(upload.read(), content_type, media))
    return {t.name: out[t.name] for t in types}


def _digests(upload: BinaryIO, types: Iterable[HmaSignalType]) -> dict[str, str]:
    hashers = {t.name: t.kind.new_hasher() for t in types}
    upload.seek(0)
    while chunk := upload.read(_CHUNK):
        for hasher in hashers.values():
            hasher.update(chunk)
    return {name: str(hasher.hexdigest()) for name, hasher in hashers.items()}


def _media_hashes(data: bytes, content_type: str, types: Sequence[HmaSignalType]) -> dict[str, str]:
    from safelight.signals.files import hash_bytes
    from safelight.signals.options import HashOptions
    from safelight.signals.types import vpdq_feature, vpdq_value

    names = {t.kind.name for t in types}
    record = hash_bytes(data, f"upload.{content_type}", HashOptions(signals=frozenset(names)))
    if record.error is not None:
        raise HmaError.message(400, f"could not hash the {content_type}: {record.error.message}")
    out: dict[str, str] = {}
    for t in types:
        if t.kind.name == "pdq":
            pdq = record.pdq
            if pdq is None:
                what = f"{record.media} ({record.format})" if record.format else record.media
                message = f"could not hash the {content_type}: no image found (sniffed: {what})"
                raise HmaError.message(400, message)
            out[t.name] = pdq.hex if pdq.quality >= (t.kind.min_quality or 0) else ""
        elif t.kind.name == "vpdq" and record.vpdq:
            features = [vpdq_feature(f.pdq, f.quality, f.timestamp) for f in record.vpdq]
            out[t.name] = vpdq_value(features).value
        else:
            out[t.name] = ""
    return out
