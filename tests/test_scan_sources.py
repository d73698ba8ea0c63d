"""Folders, files, manifests: listing is deterministic and every odd entry is a recorded error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safelight.errors import UsageError
from safelight.scan.archives import ArchiveLimits
from safelight.scan.members import read_member
from safelight.scan.model import WorkItem, clean_text
from safelight.scan.sources import SourceWalker, check_sources
from tests.scan_support import zip_bytes


def walk(*sources: str) -> list[WorkItem]:
    return list(SourceWalker(ArchiveLimits()).items(list(sources)))


def codes(items: list[WorkItem]) -> dict[str, str | None]:
    return {i.logical_path: (i.error.code if i.error else None) for i in items}


def test_folder_walk_is_recursive_sorted_and_reads_archives(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.jpg").write_bytes(b"z")
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / "c.zip").write_bytes(zip_bytes({"m.txt": b"m"}))
    items = walk(str(tmp_path))
    assert [i.logical_path for i in items] == [
        f"{tmp_path}/a.txt",
        f"{tmp_path}/b/z.jpg",
        f"{tmp_path}/c.zip!/m.txt",
        f"{tmp_path}/c.zip",  # the archive is an item too, after its members
    ]
    assert items[0].kind == "file" and items[0].size == 1 and items[0].data is None
    # A local zip's members travel as references; the worker reads the bytes itself.
    member = items[2]
    assert member.kind == "member" and member.data is None and member.size == 1
    assert member.location == str(tmp_path / "c.zip")
    assert member.member is not None and member.member.name == "m.txt"
    assert read_member(member, 100) == b"m"


def test_archive_recognised_by_content_not_name(tmp_path: Path) -> None:
    (tmp_path / "holiday.jpg").write_bytes(zip_bytes({"hidden.txt": b"h"}))
    assert [i.logical_path for i in walk(str(tmp_path))] == [
        f"{tmp_path}/holiday.jpg!/hidden.txt",
        f"{tmp_path}/holiday.jpg",
    ]


def test_symlink_loop_is_an_error_and_the_walk_ends(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_bytes(b"f")
    (tmp_path / "d" / "up").symlink_to(tmp_path)
    (tmp_path / "self").symlink_to(tmp_path / "self")
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    found = codes(walk(str(tmp_path)))
    assert found == {
        f"{tmp_path}/d/f.txt": None,
        f"{tmp_path}/d/up": "symlink_loop",
        f"{tmp_path}/self": "symlink_loop",
        f"{tmp_path}/dangling": "unreadable",
    }


def test_symlinked_folder_elsewhere_is_followed_only_on_request(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.txt").write_bytes(b"x")
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan" / "link").symlink_to(tmp_path / "elsewhere")
    source = [str(tmp_path / "scan")]
    assert codes(walk(*source)) == {f"{tmp_path}/scan/link": "link_outside_root"}
    followed = list(SourceWalker(ArchiveLimits(), follow_links=True).items(source))
    assert codes(followed) == {f"{tmp_path}/scan/link/x.txt": None}


def test_fifo_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert codes(walk(str(tmp_path))) == {f"{tmp_path}/pipe": "not_regular_file"}


def test_manifest_lists_paths_relative_to_itself_and_names_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_bytes(b"1")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "two.txt").write_bytes(b"2")
    manifest = tmp_path / "list.txt"
    manifest.write_text("# a comment\none.txt\n\ndir\nmissing.jpg\n")
    items = walk(f"@{manifest}")
    assert codes(items) == {
        f"{tmp_path}/one.txt": None,
        f"{tmp_path}/dir/two.txt": None,
        f"{tmp_path}/missing.jpg": "unreadable",
    }
    missing = items[-1]
    assert missing.error is not None and f"{manifest}:5" in missing.error.message


def test_unreadable_manifest_is_an_error(tmp_path: Path) -> None:
    items = walk(f"@{tmp_path / 'none.txt'}")
    assert [i.error.code for i in items if i.error] == ["unreadable"]


def test_check_sources_refuses_missing_local_paths(tmp_path: Path) -> None:
    check_sources([str(tmp_path), "s3://bucket/x"])
    with pytest.raises(UsageError) as info:
        check_sources([str(tmp_path / "nope")])
    assert "nope" in info.value.message


def test_undecodable_file_names_are_kept_readable_and_storable(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.txt"
    with open(raw, "wb") as handle:
        handle.write(b"latin-1 name")
    (item,) = walk(str(tmp_path))
    assert item.logical_path == f"{tmp_path}/caf\\xe9.txt"
    assert item.location is not None and os.path.exists(item.location)
    assert clean_text("a\x00b") == "a\\x00b"
