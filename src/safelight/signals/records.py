"""The record ``safelight hash`` writes for each input, and its JSONL/CSV/table forms.

The exact shape is documented in docs/signals.md; keep the two in step.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from safelight.errors import ItemError
from safelight.signals.pdq import DIHEDRAL_NAMES, PdqHash
from safelight.signals.photo import FrameHash
from safelight.signals.sniff import Media


@dataclass(frozen=True, slots=True)
class VideoFrameHash:
    """One vPDQ feature: frame number, its timestamp in seconds, PDQ hex and quality."""

    frame: int
    timestamp: float
    pdq: str
    quality: int


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
    vpdq: tuple[VideoFrameHash, ...] | None = None
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
            "md5": self.digests.get("md5"),
            "sha1": self.digests.get("sha1"),
            "sha256": self.digests.get("sha256"),
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
    csv.writer(buffer, lineterminator="\n").writerow(values)
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
