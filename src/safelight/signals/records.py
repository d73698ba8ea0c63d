"""The record ``safelight hash`` writes for each input, and its JSONL/CSV/table forms.

The exact shape is documented in docs/signals.md; keep the two in step.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from safelight import csvguard
from safelight.errors import InputError, ItemError
from safelight.signals.digests import DIGEST_NAMES
from safelight.signals.hashes import DIHEDRAL_NAMES, FrameHash, PdqHash, VpdqFeature
from safelight.signals.sniff import Media
from safelight.signals.types import registry


@dataclass(frozen=True, slots=True)
class HashRecord:
    """Everything learnt about one input. ``error`` is None when it was hashed fully."""

    path: str
    media: Media
    size: int | None = None
    digests: dict[str, str] = field(default_factory=dict)
    format: str | None = None
    width: int | None = None
    height: int | None = None
    pdq: PdqHash | None = None
    pdq8: tuple[PdqHash, ...] | None = None
    frames: tuple[FrameHash, ...] | None = None
    frames_complete: bool = True
    vpdq: tuple[VpdqFeature, ...] | None = None
    error: ItemError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this record (stable key order; absent values are null)."""
        out: dict[str, Any] = {
            "path": self.path,
            "size": self.size,
            "media": self.media,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            **{name: self.digests.get(name) for name in _digest_keys(self.digests)},
            "pdq": self.pdq.hex if self.pdq else None,
            "pdq_quality": self.pdq.quality if self.pdq else None,
        }
        if self.pdq8 is not None:
            out["pdq8"] = {name: h.hex for name, h in zip(DIHEDRAL_NAMES, self.pdq8, strict=True)}
        if self.frames is not None:
            out["pdq_frames"] = [
                {"frame": f.frame, "pdq": f.pdq.hex, "quality": f.pdq.quality} for f in self.frames
            ]
            out["pdq_frames_complete"] = self.frames_complete
        if self.vpdq is not None:
            out["vpdq"] = [
                {"frame": v.frame, "timestamp": v.timestamp, "pdq": v.pdq, "quality": v.quality}
                for v in self.vpdq
            ]
        out["error"] = self.error.to_dict() if self.error else None
        return out

    @classmethod
    def from_dict(cls, data: Any) -> HashRecord:
        """The record ``to_dict`` wrote (a ``hash`` JSONL line, parsed), checked field by
        field; InputError names the first bad field. Unknown keys are ignored."""
        if not isinstance(data, dict):
            raise InputError(f"a hash record is a JSON object, not {type(data).__name__}")
        media = _field(data, "media", str, required=True)
        if media not in MEDIA_NAMES:
            raise InputError(f"media: {media!r} is not one of {', '.join(MEDIA_NAMES)}")
        quality = _quality(data.get("pdq_quality"), "pdq_quality")
        pdq = _pdq(data, "pdq", quality)
        pdq8 = data.get("pdq8")
        if pdq8 is not None:
            if not isinstance(pdq8, dict) or set(pdq8) != set(DIHEDRAL_NAMES):
                raise InputError(f"pdq8: an object with the keys {', '.join(DIHEDRAL_NAMES)}")
        frames = data.get("pdq_frames")
        if frames is not None and not isinstance(frames, list):
            raise InputError("pdq_frames: a list of {frame, pdq, quality}")
        vpdq = data.get("vpdq")
        if vpdq is not None and not isinstance(vpdq, list):
            raise InputError("vpdq: a list of {frame, timestamp, pdq, quality}")
        return cls(
            path=_field(data, "path", str, required=True),
            media=media,
            size=_field(data, "size", int),
            digests={
                t.name: _hex(data[t.name], t.name, t.key_bytes * 2)
                for t in registry.file_digests()
                if data.get(t.name) is not None
            },
            format=_field(data, "format", str),
            width=_field(data, "width", int),
            height=_field(data, "height", int),
            pdq=pdq,
            pdq8=None
            if pdq8 is None
            else tuple(_pdq_required(pdq8, name, quality, "pdq8.") for name in DIHEDRAL_NAMES),
            frames=None if frames is None else tuple(_frame(f, i) for i, f in enumerate(frames)),
            frames_complete=bool(data.get("pdq_frames_complete", True)),
            vpdq=None if vpdq is None else tuple(_video_frame(v, i) for i, v in enumerate(vpdq)),
            error=_error(data.get("error")),
        )


MEDIA_NAMES = ("photo", "video", "other")
_HEX_DIGITS = frozenset("0123456789abcdef")


def _field(data: dict[str, Any], name: str, kind: type, *, required: bool = False) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise InputError(f"{name}: missing")
        return None
    # bool is an int in Python; a JSON true is never a size or a width.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{name}: {value!r} is not a {kind.__name__}")
    return value


def _hex(value: Any, name: str, width: int) -> str:
    if not isinstance(value, str) or len(value) != width or not set(value) <= _HEX_DIGITS:
        raise InputError(f"{name}: {value!r} is not {width} lower-case hex digits")
    return value


def _quality(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InputError(f"{name}: {value!r} is not a quality 0-100")
    return value


def _pdq(
    data: dict[str, Any], name: str, quality: int | None, where: str = "", of: str = "pdq_quality"
) -> PdqHash | None:
    value = data.get(name)
    if value is None:
        return None
    if quality is None:
        raise InputError(f"{where}{name}: a PDQ hash needs its quality ({of})")
    return PdqHash(bytes.fromhex(_hex(value, where + name, 64)), quality)


def _pdq_required(
    data: dict[str, Any], name: str, quality: int | None, where: str, of: str = "pdq_quality"
) -> PdqHash:
    pdq = _pdq(data, name, quality, where, of)
    if pdq is None:
        raise InputError(f"{where}{name}: missing")
    return pdq


def _frame(data: Any, position: int) -> FrameHash:
    where = f"pdq_frames[{position}]"
    if not isinstance(data, dict):
        raise InputError(f"{where}: not an object")
    frame = _field(data, "frame", int, required=True)
    quality = _quality(data.get("quality"), f"{where}.quality")
    return FrameHash(frame, _pdq_required(data, "pdq", quality, f"{where}.", f"{where}.quality"))


def _video_frame(data: Any, position: int) -> VpdqFeature:
    where = f"vpdq[{position}]"
    if not isinstance(data, dict):
        raise InputError(f"{where}: not an object")
    timestamp = data.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise InputError(f"{where}.timestamp: {timestamp!r} is not a number of seconds")
    quality = _quality(data.get("quality"), f"{where}.quality")
    if quality is None:
        raise InputError(f"{where}.quality: missing")
    return VpdqFeature(
        _field(data, "frame", int, required=True),
        float(timestamp),
        _hex(data.get("pdq"), f"{where}.pdq", 64),
        quality,
    )


def _error(data: Any) -> ItemError | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise InputError("error: null or {code, message}")
    return ItemError(_field(data, "code", str, required=True), str(data.get("message", "")))


def _digest_keys(digests: dict[str, str]) -> list[str]:
    """The built-in digests always (null when not computed), then any registered ones."""
    return [*DIGEST_NAMES, *(name for name in digests if name not in DIGEST_NAMES)]


def printable(text: str) -> str:
    """A path as text a terminal or CSV can hold: undecodable bytes as backslash escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def to_json_line(record: HashRecord) -> str:
    # ensure_ascii keeps undecodable file-name bytes (lone surrogates) as valid JSON escapes.
    return json.dumps(record.to_dict(), ensure_ascii=True, separators=(",", ":"))


CSV_COLUMNS = (
    "path",
    "size",
    "media",
    "format",
    "width",
    "height",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "error_code",
    "error_message",
)


def csv_header(with_pdq8: bool = False) -> str:
    columns = list(CSV_COLUMNS) + ([f"pdq8_{n}" for n in DIHEDRAL_NAMES] if with_pdq8 else [])
    return _csv_line(columns)


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csvguard.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().rstrip("\n")


def to_csv_line(record: HashRecord, with_pdq8: bool = False) -> str:
    """One CSV row: flat columns only (frames and vPDQ are JSONL-only; see docs)."""
    data = record.to_dict()
    values = [printable(record.path)] + [data[c] for c in CSV_COLUMNS[1:11]]
    values += [record.error.code, printable(record.error.message)] if record.error else ["", ""]
    if with_pdq8:
        values += [data.get("pdq8", {}).get(n, "") for n in DIHEDRAL_NAMES]
    return _csv_line(["" if v is None else v for v in values])


TABLE_HEADER = (
    f"{'media':<6} {'format':<6} {'size':>10} {'q':>3}  {'signal':<6}  {'value':<64}  path"
)


def table_signal(record: HashRecord) -> tuple[str, str]:
    """The (signal name, value) a table row shows: the PDQ of a photo, the vPDQ frame count of
    a video, otherwise the strongest digest computed; an error shows its code."""
    if record.error:
        return "error", record.error.code
    if record.pdq is not None:
        return "pdq", record.pdq.hex
    if record.vpdq is not None:
        return "vpdq", f"{len(record.vpdq)} frames"
    for name in ("sha256", "sha1", "md5"):
        if name in record.digests:
            return name, record.digests[name]
    return "-", "-"


def to_table_line(record: HashRecord) -> str:
    """A fixed-width line for people: the path last so long names do not break columns."""
    size = "-" if record.size is None else str(record.size)
    quality = "-" if record.pdq is None else str(record.pdq.quality)
    signal, value = table_signal(record)
    line = f"{record.media:<6} {record.format or '-':<6} {size:>10} {quality:>3}  "
    return f"{line}{signal:<6}  {value:<64}  {printable(record.path)}"
