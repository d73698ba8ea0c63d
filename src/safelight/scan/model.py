"""The values that travel through a scan: work items in, hash records and results out.

They are plain, picklable dataclasses because they cross process and machine boundaries
(``--jobs``, Dask). A ``WorkItem`` says where an item's bytes are; an ``ItemResult`` is what
the store and the JSONL output record for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from safelight.errors import ItemError
from safelight.match.results import Match

# How a worker gets an item's bytes: read a local path, open a URI with fsspec, read a member
# of a local zip file itself (``member``), take the bytes carried inline (other archive
# members), take the record computed while listing (``digested``: a tar decompressed on the
# way, whose digests were taken as it streamed by), or nothing (the item failed while being
# listed).
ItemKind = Literal["file", "uri", "member", "inline", "digested", "failed"]

# Flags: facts about an item worth a reviewer's eye that do not stop it being hashed and
# matched (docs/scan.md). An archive member's name that would escape an extraction folder
# (``..``, absolute, a drive letter, NUL), a zip directory entry that holds data, a tar member
# of a type tarfile does not know (GNU tar extracts those as regular files).
UNSAFE_NAME = "unsafe_name"
DIRECTORY_NAME = "directory_name"
UNKNOWN_TYPE = "unknown_type"


def clean_text(text: str) -> str:
    """Text safe for JSON and any database: undecodable file-name bytes (which Python keeps
    as lone surrogates) become ``\\xNN`` escapes, and NUL becomes ``\\x00``."""
    if text.isascii() and "\x00" not in text:
        return text
    fixed = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return fixed.replace("\x00", "\\x00")


@dataclass(frozen=True, slots=True)
class MemberRef:
    """Where a worker finds a zip member: the archive as listed and the member's local header.

    Zip members are randomly accessible, so the member's bytes need not travel with the task;
    the archive's size and modification time let the worker refuse an archive that changed.
    """

    name: str
    header_offset: int
    archive_size: int
    archive_mtime_ns: int


@dataclass(frozen=True, slots=True)
class WorkItem:
    logical_path: str
    kind: ItemKind
    location: str | None = None
    data: bytes | None = None
    size: int | None = None
    error: ItemError | None = None
    member: MemberRef | None = None  # kind "member": ``location`` is the zip file's path
    # Kind "digested": the record itself. An error on any other kind than "failed" belongs to
    # a container whose members could not all be read: it is hashed and matched all the same.
    record: HashRecord | None = None
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The logical path is what is stored and shown; ``location`` keeps the real name.
        object.__setattr__(self, "logical_path", clean_text(self.logical_path))
        if self.error is not None:
            error = ItemError(self.error.code, clean_text(self.error.message))
            object.__setattr__(self, "error", error)

    @classmethod
    def failed(
        cls, logical_path: str, code: str, message: str, flags: tuple[str, ...] = ()
    ) -> WorkItem:
        return cls(logical_path, "failed", error=ItemError(code, message), flags=flags)

    @property
    def payload_bytes(self) -> int:
        """Bytes this item adds to a batch that is shipped to a worker."""
        return len(self.data) if self.data is not None else 0


@dataclass(frozen=True, slots=True)
class HashRecord:
    """The signals of one item. ``pdq`` is set for photos, ``vpdq`` (JSON) for videos."""

    size: int
    md5: str | None
    sha1: str | None
    sha256: str | None
    media: str  # "photo", "video" or "other", as safelight.signals.sniff names them
    format: str | None = None
    pdq: str | None = None
    quality: int | None = None
    vpdq: str | None = None  # JSON list of {frame, timestamp, pdq, quality}
    error: ItemError | None = None


@dataclass(frozen=True, slots=True)
class ItemResult:
    """Everything recorded about one item: one row in the store, one line of JSONL."""

    logical_path: str
    size: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    media: str | None = None
    format: str | None = None
    pdq: str | None = None
    quality: int | None = None
    vpdq: str | None = None
    matches: tuple[Match, ...] = field(default_factory=tuple)
    error: ItemError | None = None
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "logical_path", clean_text(self.logical_path))
        if self.error is not None:
            error = ItemError(self.error.code, clean_text(self.error.message))
            object.__setattr__(self, "error", error)

    @classmethod
    def from_record(
        cls,
        logical_path: str,
        record: HashRecord,
        matches: tuple[Match, ...],
        *,
        error: ItemError | None = None,
        flags: tuple[str, ...] = (),
    ) -> ItemResult:
        """The result of a hashed item; ``error`` (a container's) when hashing found none."""
        return cls(
            logical_path,
            record.size,
            record.md5,
            record.sha1,
            record.sha256,
            record.media,
            record.format,
            record.pdq,
            record.quality,
            record.vpdq,
            matches,
            record.error or error,
            flags,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.logical_path,
            "size": self.size,
            "md5": self.md5,
            "sha1": self.sha1,
            "sha256": self.sha256,
            "media": self.media,
            "format": self.format,
            "pdq": self.pdq,
            "pdq_quality": self.quality,
            "vpdq": json.loads(self.vpdq) if self.vpdq else None,
            "matches": [match.to_dict() for match in self.matches],
            "error": self.error.to_dict() if self.error else None,
            "flags": list(self.flags),
        }
