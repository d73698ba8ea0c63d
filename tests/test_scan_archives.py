"""Archives are read in memory, member by member; every hostile shape is a per-item error."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from safelight.scan.archives import ArchiveLimits, ArchiveReader, sniff, unsafe_name
from safelight.scan.corpus import jpeg_bytes
from safelight.scan.model import WorkItem
from tests.scan_support import tar_bytes, zip_bytes


def expand(data: bytes, limits: ArchiveLimits | None = None, name: str = "x") -> list[WorkItem]:
    fmt = sniff(data[:512])
    assert fmt is not None
    reader = ArchiveReader(limits or ArchiveLimits())
    return list(reader.expand(name, fmt, lambda: io.BytesIO(data)))


def by_path(items: list[WorkItem]) -> dict[str, WorkItem]:
    return {item.logical_path: item for item in items}


MEMBERS = {"a/one.jpg": jpeg_bytes(1, 64, 48), "two.txt": b"hello"}


@pytest.mark.parametrize(
    "compress",
    [
        lambda raw: raw,
        gzip.compress,
        bz2.compress,
        lzma.compress,
        lambda raw: zstandard.ZstdCompressor().compress(raw),
    ],
    ids=["tar", "gz", "bz2", "xz", "zst"],
)
def test_tar_in_every_compression_yields_members_inline(compress: object) -> None:
    tar = tar_bytes(MEMBERS)
    data = compress(tar)  # type: ignore[operator]
    items = by_path(expand(data, name="t.tgz"))
    decompressed = items.pop("t.tgz!/t.tar", None)
    assert set(items) == {"t.tgz!/a/one.jpg", "t.tgz!/two.txt"}
    assert items["t.tgz!/a/one.jpg"].data == MEMBERS["a/one.jpg"]
    assert all(item.kind == "inline" and item.error is None for item in items.values())
    if data == tar:
        assert decompressed is None  # a plain tar is the archive item itself
        return
    # The tar inside the compression is a container too, its digests taken as it streamed.
    assert decompressed is not None and decompressed.kind == "digested"
    record = decompressed.record
    assert record is not None and (record.size, record.media) == (len(tar), "other")
    assert (record.digests["md5"], record.digests["sha1"], record.digests["sha256"]) == (
        hashlib.md5(tar).hexdigest(),
        hashlib.sha1(tar).hexdigest(),
        hashlib.sha256(tar).hexdigest(),
    )


def test_zip_members_and_nested_archives_to_the_depth_limit() -> None:
    level3 = zip_bytes({"c.txt": b"deepest"})
    level2 = tar_bytes({"b.zip": level3}, "w:gz")
    level1 = zip_bytes({"a.tar.gz": level2, "top.txt": b"top"})
    deep = by_path(expand(level1, ArchiveLimits(max_depth=3), name="o.zip"))
    # Every nested container is an item too, after its members.
    assert list(deep) == [
        "o.zip!/a.tar.gz!/b.zip!/c.txt",
        "o.zip!/a.tar.gz!/b.zip",
        "o.zip!/a.tar.gz!/a.tar",
        "o.zip!/a.tar.gz",
        "o.zip!/top.txt",
    ]
    assert deep["o.zip!/a.tar.gz"].data == level2 and deep["o.zip!/a.tar.gz!/b.zip"].data == level3
    shallow = by_path(expand(level1, ArchiveLimits(max_depth=2), name="o.zip"))
    # Past the depth limit an archive is an ordinary item: its digests are still matched.
    assert shallow["o.zip!/a.tar.gz!/b.zip"].data == level3


def test_single_compressed_file_is_one_member_named_without_suffix() -> None:
    items = expand(gzip.compress(b"plain bytes"), name="/d/photo.jpg.gz")
    assert [(i.logical_path, i.data) for i in items] == [
        ("/d/photo.jpg.gz!/photo.jpg", b"plain bytes")
    ]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a/../../b", "C:\\evil.exe"])
def test_traversal_and_absolute_names_are_read_and_flagged_in_zip_and_tar(name: str) -> None:
    # Nothing is extracted, so the name cannot hurt; hiding the bytes behind it must not work.
    for data in (zip_bytes({name: b"x", "ok.txt": b"y"}), tar_bytes({name: b"x", "ok.txt": b"y"})):
        items = by_path(expand(data, name="arc"))
        bad = items[f"arc!/{name}"]
        assert bad.kind == "inline" and bad.error is None and bad.data == b"x"
        assert bad.flags == ("unsafe_name",)
        assert items["arc!/ok.txt"].data == b"y" and items["arc!/ok.txt"].flags == ()


def test_tar_member_of_unknown_type_is_read_as_a_file_and_flagged() -> None:
    # GNU tar extracts an unknown type as a regular file; tarfile would skip its bytes.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, kind in (
            ("odd.jpg", b"Z"),
            ("dir", tarfile.DIRTYPE),
            ("ok.txt", tarfile.REGTYPE),
        ):
            info = tarfile.TarInfo(name)
            info.type = kind
            data = b"" if kind == tarfile.DIRTYPE else b"bytes of " + name.encode()
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    items = by_path(expand(buffer.getvalue(), name="t"))
    assert set(items) == {"t!/odd.jpg", "t!/ok.txt"}
    assert items["t!/odd.jpg"].data == b"bytes of odd.jpg"
    assert items["t!/odd.jpg"].flags == ("unknown_type",) and items["t!/ok.txt"].flags == ()


def test_max_depth_zero_opens_nothing() -> None:
    data = zip_bytes({"a.txt": b"a"})
    container = WorkItem("z.zip", "inline", data=data, size=len(data))
    reader = ArchiveReader(ArchiveLimits(max_depth=0))
    assert list(reader.expand("z.zip", "zip", lambda: io.BytesIO(data))) == []
    found = list(reader.expand("z.zip", "zip", lambda: io.BytesIO(data), container=container))
    assert found == [container]


def test_a_flagged_name_keeps_its_flag_when_the_member_fails() -> None:
    data = bytearray(zip_bytes({"../secret.jpg": b"ciphertext"}))
    data[6] |= 0x1  # encrypted, as in the test below
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    failed = by_path(expand(bytes(data), name="e.zip"))["e.zip!/../secret.jpg"]
    assert failed.error is not None and failed.error.code == "encrypted"
    assert failed.flags == ("unsafe_name",)


def test_unsafe_name_rules() -> None:
    assert unsafe_name("a/b/c.jpg") is None
    assert unsafe_name("a/..b/c") is None
    assert unsafe_name("..") is not None
    assert unsafe_name("a\\..\\b") is not None


def test_nothing_is_written_to_disk_while_expanding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tar_bytes({"../../escaped.txt": b"x", "/tmp/abs-escape.txt": b"y", "in.txt": b"z"})
    expand(data)
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent.parent / "escaped.txt").exists()


def test_encrypted_zip_member_is_an_error() -> None:
    data = bytearray(zip_bytes({"secret.jpg": b"ciphertext", "open.txt": b"fine"}))
    # Set the "encrypted" flag (bit 0) of the first member in its local header (offset 6)
    # and its central directory record (offset 8), as encrypting tools do.
    data[6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    items = by_path(expand(bytes(data), name="e.zip"))
    assert items["e.zip!/secret.jpg"].error is not None
    assert items["e.zip!/secret.jpg"].error.code == "encrypted"
    assert items["e.zip!/open.txt"].data == b"fine"


def test_real_encrypted_zip_from_zip_tool(tmp_path: Path) -> None:
    if shutil.which("zip") is None:
        pytest.skip("the zip tool is not installed")
    (tmp_path / "s.txt").write_bytes(b"secret")
    subprocess.run(["zip", "-q", "-P", "pw", "e.zip", "s.txt"], cwd=tmp_path, check=True)
    items = expand((tmp_path / "e.zip").read_bytes(), name="e.zip")
    assert [(i.logical_path, i.error.code if i.error else None) for i in items] == [
        ("e.zip!/s.txt", "encrypted")
    ]


def test_zip_bomb_by_ratio_is_refused_before_reading() -> None:
    bomb = zip_bytes({"zeros.bin": bytes(20 << 20), "ok.txt": b"fine"})
    items = by_path(expand(bomb, name="b.zip"))
    error = items["b.zip!/zeros.bin"].error
    assert error is not None and error.code == "archive_bomb" and "ratio" in error.message
    assert items["b.zip!/ok.txt"].data == b"fine"


def test_member_and_total_size_limits() -> None:
    data = zip_bytes({"a": b"1" * 1000, "b": b"2" * 100}, compression=zipfile.ZIP_STORED)
    items = by_path(expand(data, ArchiveLimits(max_member_bytes=500), name="z"))
    # Over the member limit: never held whole, its digests taken as it streams by.
    assert items["z!/a"].kind == "digested" and items["z!/a"].record is not None
    assert items["z!/a"].record.digests["md5"] == hashlib.md5(b"1" * 1000).hexdigest()
    assert items["z!/b"].data == b"2" * 100
    many = zip_bytes({f"m{i}": b"x" * 100 for i in range(10)}, compression=zipfile.ZIP_STORED)
    items = expand(many, ArchiveLimits(max_archive_bytes=450), name="z")
    assert [i.data is not None for i in items[:4]] == [True] * 4
    assert items[-1].logical_path == "z" and items[-1].error is not None
    assert items[-1].error.code == "archive_bomb"


def test_tar_gz_bomb_stops_the_archive() -> None:
    bomb = tar_bytes({"first.txt": b"fine", "zeros.bin": bytes(30 << 20)}, "w:gz")
    items = by_path(expand(bomb, name="b.tgz"))
    assert items["b.tgz!/first.txt"].data == b"fine"
    assert items["b.tgz"].error is not None and items["b.tgz"].error.code == "archive_bomb"
    assert "b.tgz!/zeros.bin" not in items


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_a_member_over_the_size_limit_is_digested_and_hides_nothing_after_it(mode: str) -> None:
    # It once stopped the tar: one oversized member first hid every member after it.
    data = tar_bytes({"big": b"x" * 2000, "after": b"y"}, mode)
    items = by_path(expand(data, ArchiveLimits(max_member_bytes=1000), name="t"))
    big = items["t!/big"]
    assert big.kind == "digested" and big.error is None and big.record is not None
    assert (big.record.size, big.record.digests["sha256"]) == (
        2000,
        hashlib.sha256(b"x" * 2000).hexdigest(),
    )
    assert items["t!/after"].data == b"y" and "t" not in items
    single = expand(gzip.compress(b"z" * 2000), ArchiveLimits(max_member_bytes=1000), name="z.gz")
    assert [(i.logical_path, i.kind) for i in single] == [("z.gz!/z", "digested")]


def test_member_count_limit() -> None:
    data = zip_bytes({f"f{i}": b"x" for i in range(5)})
    items = expand(data, ArchiveLimits(max_members=3), name="z")
    assert sum(1 for i in items if i.data is not None) == 3
    assert items[-1].error is not None and items[-1].error.code == "archive_bomb"


def test_truncated_and_corrupt_archives_are_errors_not_crashes() -> None:
    good = tar_bytes({"a.txt": b"a" * 5000, "b.txt": b"b" * 5000}, "w:gz")
    items = expand(good[: len(good) // 2], name="t.tgz")
    assert items[-1].logical_path == "t.tgz" and items[-1].error is not None
    assert items[-1].error.code in {"truncated", "corrupt_archive"}
    broken_zip = b"PK\x03\x04" + b"\x00" * 100
    items = expand(broken_zip, name="z.zip")
    assert [(i.logical_path, i.error.code if i.error else None) for i in items] == [
        ("z.zip", "corrupt_archive")
    ]


def test_zip_member_with_bad_crc_is_unreadable_and_the_rest_is_read() -> None:
    data = bytearray(zip_bytes({"a.txt": b"A" * 50, "b.txt": b"B" * 50}, zipfile.ZIP_STORED))
    at = data.index(b"A" * 50)
    data[at] = ord("Z")  # the stored bytes no longer match the CRC
    items = by_path(expand(bytes(data), name="z"))
    assert items["z!/a.txt"].error is not None and items["z!/a.txt"].error.code == "unreadable"
    assert items["z!/b.txt"].data == b"B" * 50


def test_duplicate_member_names_become_distinct_items() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("same.txt", b"1")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("same.txt", b"2")
    items = expand(buffer.getvalue(), name="d")
    assert [(i.logical_path, i.data) for i in items] == [
        ("d!/same.txt", b"1"),
        ("d!/same.txt#2", b"2"),
    ]


def test_sniff_recognises_formats_and_not_images() -> None:
    assert sniff(jpeg_bytes(0, 32, 32)[:512]) is None
    assert sniff(b"") is None
    assert sniff(zip_bytes({"a": b"b"})) == "zip"
    assert sniff(tar_bytes({"a": b"b"})) == "tar"
