"""Reading a member of a local zip file on the worker, from the reference the listing made.

The listing (in the scanning process) reads a zip's central directory, applies every archive
limit and sniffs each member's head; the worker then opens the archive itself and reads the
member, so the bytes do not travel from the scanning process to the workers. Each process keeps
a few archives open, with their members indexed by local-header offset (two members may share
a name). Whatever goes wrong with one member (the archive changed or vanished, a bad CRC)
becomes that item's error, worded as the listing words it.
"""

from __future__ import annotations

import lzma
import os
import threading
import zipfile
import zlib
from collections import OrderedDict

from safelight.errors import ItemError
from safelight.scan.model import MemberRef, WorkItem
from safelight.scan.streams import read_or_digest
from safelight.signals.records import HashRecord

# Archives kept open per process: a scan reads one archive's members in order, so a few
# suffice; each holds one file descriptor and its central directory.
OPEN_ARCHIVES = 4
# Corrupt member data: zlib's and lzma's own errors, and zipfile's negative-seek ValueError.
_CODEC_ERRORS = (zlib.error, lzma.LZMAError, ValueError)


class MemberError(Exception):
    """This member cannot be read; carries the item's error."""

    def __init__(self, error: ItemError) -> None:
        super().__init__(error.message)
        self.error = error


class _Open:
    def __init__(self, path: str) -> None:
        self.archive = zipfile.ZipFile(path)
        self.by_offset = {info.header_offset: info for info in self.archive.infolist()}


_open: OrderedDict[tuple[str, int, int], _Open] = OrderedDict()
_lock = threading.Lock()


def _archive(path: str, ref: MemberRef) -> _Open:
    key = (path, ref.archive_size, ref.archive_mtime_ns)
    with _lock:
        found = _open.get(key)
        if found is None:
            found = _open[key] = _Open(path)
            while len(_open) > OPEN_ARCHIVES:
                _open.popitem(last=False)[1].archive.close()
        _open.move_to_end(key)
        return found


def read_member(item: WorkItem, max_bytes: int) -> bytes | HashRecord:
    """The bytes of zip member ``item`` (kind ``member``) when they number at most
    ``max_bytes``; else only its digests, taken as it streams by (never held whole)."""
    ref, path = item.member, item.location
    assert ref is not None and path is not None
    logical = item.logical_path
    try:
        info = os.stat(path)
        if (info.st_size, info.st_mtime_ns) != (ref.archive_size, ref.archive_mtime_ns):
            raise MemberError(
                ItemError("unreadable", f"{logical}: archive changed since it was listed")
            )
        opened = _archive(path, ref)
        member = opened.by_offset.get(ref.header_offset)
        if member is None or member.filename != ref.name:
            raise MemberError(ItemError("unreadable", f"{logical}: member is no longer there"))
        with opened.archive.open(member) as stream:
            return read_or_digest(stream, max_bytes)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, *_CODEC_ERRORS) as exc:
        raise MemberError(ItemError("unreadable", f"{logical}: cannot read member: {exc}")) from exc


def forget_archives() -> None:
    """Close every archive this process keeps open (tests; a worker that is shutting down)."""
    with _lock:
        while _open:
            _open.popitem()[1].archive.close()
