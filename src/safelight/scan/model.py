"""The values that travel through a scan: work items in, results out.

Each result holds the signals ``HashRecord`` of its item unchanged (the record ``hash``
writes), with the scan's matches and flags beside it.

They are plain, picklable dataclasses because they cross process and machine boundaries
(``--jobs``, Dask). A ``WorkItem`` says where an item's bytes are; an ``ItemResult`` is what
the store and the JSONL output record for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from safelight.errors import ItemError
from safelight.match.results import Match
from safelight.signals.records import HashRecord
from safelight.signals.sniff import media_from_name

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
class ItemResult:
    """Everything recorded about one item: one row in the store, one line of JSONL.

    ``record`` is the signals ``HashRecord`` of the item, as hashing made it (its ``path`` is
    the item's logical path); the scan adds the matches and the flags. Its JSON is the hash
    record's JSON plus ``matches`` and ``flags`` (docs/model.md)."""

    record: HashRecord
    matches: tuple[Match, ...] = field(default_factory=tuple)
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        record = self.record
        error = record.error
        if error is not None:
            error = ItemError(error.code, clean_text(error.message))
        path = clean_text(record.path)
        if path != record.path or error != record.error:
            object.__setattr__(self, "record", replace(record, path=path, error=error))

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
        return cls(replace(record, path=logical_path, error=record.error or error), matches, flags)

    @classmethod
    def failed(
        cls,
        logical_path: str,
        error: ItemError | None,
        *,
        size: int | None = None,
        flags: tuple[str, ...] = (),
    ) -> ItemResult:
        """An item that could not be hashed at all (listing failed, unreadable member)."""
        media = media_from_name(logical_path)
        return cls(HashRecord(logical_path, media, size=size, error=error), (), flags)

    @property
    def logical_path(self) -> str:
        return self.record.path

    @property
    def size(self) -> int | None:
        return self.record.size

    @property
    def error(self) -> ItemError | None:
        return self.record.error

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.record.to_dict(),
            "matches": [match.to_dict() for match in self.matches],
            "flags": list(self.flags),
        }
