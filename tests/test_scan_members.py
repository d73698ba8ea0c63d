"""Zip members read by the worker from references: the same results as bytes carried inline,
and every way a member can go missing is that item's error, never a crash."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from safelight.scan.archives import ArchiveLimits, ArchiveReader
from safelight.scan.corpus import jpeg_bytes
from safelight.scan.members import forget_archives, read_member
from safelight.scan.model import ItemResult, MemberRef, WorkItem
from safelight.scan.pipeline import PipelineConfig, process_batch
from safelight.scan.sources import SourceWalker
from safelight.signals.records import HashRecord
from tests.scan_support import tar_bytes, zip_bytes


@pytest.fixture(autouse=True)
def _closed_archives() -> Iterator[None]:
    forget_archives()
    yield
    forget_archives()


def walk(path: Path) -> list[WorkItem]:
    return list(SourceWalker(ArchiveLimits()).items([str(path)]))


def inline_results(path: Path) -> list[ItemResult]:
    """The oracle: the same archive expanded with its members' bytes carried inline."""

    def opener() -> IO[bytes]:
        return open(path, "rb")

    items = list(ArchiveReader(ArchiveLimits()).expand(str(path), "zip", opener))
    assert all(item.kind != "member" for item in items)
    return process_batch(PipelineConfig(), items)


def test_references_give_the_results_of_inline_bytes(tmp_path: Path) -> None:
    members = {
        "a.jpg": jpeg_bytes(1, 64, 48),
        "b/c.txt": b"benign text",
        "inner.tar": tar_bytes({"d.jpg": jpeg_bytes(2, 64, 48)}),
        "empty.txt": b"",
    }
    path = tmp_path / "m.zip"
    path.write_bytes(zip_bytes(members))
    items = walk(path)
    kinds = {item.logical_path.rsplit("!/", 1)[-1]: item.kind for item in items}
    # The nested tar is opened by the listing (inline, and an item itself); the rest travel
    # as references; the zip itself comes last, read by the worker as a file.
    expected = {"a.jpg": "member", "b/c.txt": "member", "d.jpg": "inline", "inner.tar": "inline"}
    assert kinds == {**expected, "empty.txt": "member", str(path): "file"}
    assert items[-1].logical_path == str(path)
    assert process_batch(PipelineConfig(), items[:-1]) == inline_results(path)


def test_a_name_twice_reads_each_copy(tmp_path: Path) -> None:
    path = tmp_path / "twice.zip"
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("same.txt", b"first")
        archive.writestr("same.txt", b"second")
    first, second, _zip = walk(path)
    assert second.logical_path.endswith("#2")
    assert (read_member(first, 100), read_member(second, 100)) == (b"first", b"second")


def errors(items: list[WorkItem]) -> list[tuple[str, str] | None]:
    results = process_batch(PipelineConfig(), items)
    return [(r.error.code, r.error.message) if r.error else None for r in results]


def test_archive_changed_or_gone_after_listing_is_a_per_item_error(tmp_path: Path) -> None:
    path = tmp_path / "c.zip"
    path.write_bytes(zip_bytes({"x.txt": b"one", "y.txt": b"two"}))
    items = walk(path)
    path.write_bytes(zip_bytes({"x.txt": b"ONE, longer", "y.txt": b"two"}))
    found = errors(items)
    assert found[0] == ("unreadable", f"{path}!/x.txt: archive changed since it was listed")
    os.remove(path)
    found = errors(items)
    assert found[0] is not None and found[0][0] == "unreadable"
    assert "cannot read member" in found[0][1] and "No such file" in found[0][1]


def test_member_missing_corrupt_or_too_large_is_a_per_item_error(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    payload = b"0123456789" * 1000
    path.write_bytes(zip_bytes({"ok.txt": payload, "bad.txt": payload}, zipfile.ZIP_STORED))
    # Corrupt the stored bytes of the second member beyond its sniffed head: the listing
    # cannot see it, the worker's CRC check does.
    raw = bytearray(path.read_bytes())
    spot = raw.index(payload, raw.index(payload) + 1) + 5000
    raw[spot] ^= 0xFF
    path.write_bytes(bytes(raw))
    ok, bad, _zip = walk(path)
    assert ok.kind == bad.kind == "member"
    found = errors([ok, bad])
    assert found[0] is None
    assert found[1] is not None and found[1][0] == "unreadable" and "CRC" in found[1][1]
    assert bad.member is not None
    moved = MemberRef(bad.member.name, bad.member.header_offset + 1, *_stamp(bad.member))
    gone = WorkItem(bad.logical_path, "member", bad.location, size=bad.size, member=moved)
    assert errors([gone]) == [("unreadable", f"{bad.logical_path}: member is no longer there")]
    # Over the limit, the worker streams the member through its digests: never held whole.
    streamed = read_member(ok, 10)
    assert isinstance(streamed, HashRecord) and streamed.size == len(payload)
    assert streamed.digests["sha256"] == hashlib.sha256(payload).hexdigest()
    small = process_batch(PipelineConfig(max_file_bytes=10), [ok])[0]
    assert small.error is None
    assert (small.record.digests, small.record.media) == (streamed.digests, "other")


def _stamp(ref: MemberRef) -> tuple[int, int]:
    return ref.archive_size, ref.archive_mtime_ns
