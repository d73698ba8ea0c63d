"""Hostile uploads cannot hide known material: not behind a member's name, not inside an
archive whose own hash is listed, at any nesting level."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

from safelight.scan.corpus import jpeg_bytes
from safelight.scan.runner import ScanOptions, run_scan
from safelight.scan.runs import RunStore
from safelight.store import Database
from tests.scan_support import tar_bytes, zip_bytes

from .list_support import create_list

KNOWN = jpeg_bytes(7, 64, 48)
HOSTILE_NAMES = ["../x.jpg", "/abs/x.jpg", "a/../../b.jpg", "hidden.jpg/"]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def scan(db: Database, tmp_path: Path, source: Path, **options: object) -> dict[str, dict]:  # type: ignore[type-arg]
    out = tmp_path / "out.jsonl"
    run = run_scan(db, ScanOptions([str(source)], ["KNOWN"], out=out, **options))  # type: ignore[arg-type]
    rows = {row["path"]: row for row in map(json.loads, out.read_text().splitlines())}
    # The store keeps what the JSONL says, flags included.
    stored = {r.logical_path: r.to_dict() for r in RunStore(db).iter_results(run.run_id)}
    assert stored == rows
    return rows


def matched(rows: dict[str, dict]) -> set[str]:  # type: ignore[type-arg]
    return {path for path, row in rows.items() if row["matches"]}


def hostile_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in HOSTILE_NAMES:
            archive.writestr(zipfile.ZipInfo(name), KNOWN)  # "hidden.jpg/" holds data
        archive.writestr(zipfile.ZipInfo("folder/"), b"")  # an honest folder: no item
        archive.writestr("plain.txt", b"benign")
    return buffer.getvalue()


def test_hostile_member_names_are_hashed_matched_and_flagged(db: Database, tmp_path: Path) -> None:
    create_list(db, "KNOWN", [("md5", md5(KNOWN), ["k"])], workdir=tmp_path)
    (tmp_path / "in").mkdir()
    bundle = tmp_path / "in" / "bundle.zip"
    bundle.write_bytes(hostile_zip())
    tar_names = HOSTILE_NAMES[:3]
    tarred = tmp_path / "in" / "bundle.tar.gz"
    tarred.write_bytes(tar_bytes(dict.fromkeys(tar_names, KNOWN), "w:gz"))
    rows = scan(db, tmp_path, tmp_path / "in")
    hostile = {f"{bundle}!/{name}" for name in HOSTILE_NAMES} | {
        f"{tarred}!/{name}" for name in tar_names
    }
    assert matched(rows) == hostile
    for path in hostile:
        expected = ["directory_name"] if path.endswith("/") else ["unsafe_name"]
        assert rows[path]["flags"] == expected and rows[path]["error"] is None
    assert rows[f"{bundle}!/plain.txt"]["flags"] == []
    assert not any("folder/" in path for path in rows)
    # The run's summary counts them, live and from the store alike.
    summary = RunStore(db).tally(RunStore(db).list_runs(1)[0].id).to_dict()
    assert summary["flagged_items"] == len(hostile)
    assert summary["flags_per_name"] == {"directory_name": 1, "unsafe_name": len(hostile) - 1}


def test_archives_are_matched_as_files_at_every_level(db: Database, tmp_path: Path) -> None:
    inner_zip = zip_bytes({"deep.txt": b"deep"})
    inner_tar = tar_bytes({"inner.zip": inner_zip})
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as archive:
        info = tarfile.TarInfo("inner.zip")
        info.size = len(inner_zip)
        archive.addfile(info, io.BytesIO(inner_zip))
    assert tgz.getvalue() != inner_tar
    outer = zip_bytes({"bundle.tar.gz": tgz.getvalue(), "note.txt": b"n"})
    (tmp_path / "in").mkdir()
    top = tmp_path / "in" / "outer.zip"
    top.write_bytes(outer)
    known = [outer, tgz.getvalue(), inner_tar, inner_zip]
    create_list(db, "KNOWN", [("md5", md5(data), ["k"]) for data in known], workdir=tmp_path)
    rows = scan(db, tmp_path, top)
    nested = f"{top}!/bundle.tar.gz"
    assert matched(rows) == {
        str(top),  # the archive itself
        nested,  # an archive inside it
        f"{nested}!/bundle.tar",  # the tar inside the gzip, digested as it streamed
        f"{nested}!/inner.zip",  # an archive two levels down
    }
    assert rows[f"{nested}!/inner.zip!/deep.txt"]["matches"] == []
    assert rows[str(top)]["md5"] == md5(outer) and rows[str(top)]["size"] == len(outer)
    assert rows[f"{nested}!/bundle.tar"]["sha256"] == hashlib.sha256(inner_tar).hexdigest()


def test_a_known_archive_that_cannot_be_expanded_still_matches(
    db: Database, tmp_path: Path
) -> None:
    whole = tar_bytes({"a.txt": b"a" * 5000, "b.txt": b"b" * 5000}, "w:gz")
    cut = whole[: len(whole) // 2]
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(cut)
    create_list(db, "KNOWN", [("md5", md5(cut), ["k"])], workdir=tmp_path)
    rows = scan(db, tmp_path, broken)
    assert rows[str(broken)]["matches"] and rows[str(broken)]["error"]["code"] in {
        "truncated",
        "corrupt_archive",
    }


def test_max_depth_zero_opens_no_archive_and_still_matches_it(db: Database, tmp_path: Path) -> None:
    from safelight.scan.archives import ArchiveLimits

    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(zip_bytes({"a.txt": b"a"}))
    create_list(db, "KNOWN", [("md5", md5(bundle.read_bytes()), ["k"])], workdir=tmp_path)
    rows = scan(db, tmp_path, bundle, limits=ArchiveLimits(max_depth=0))
    assert list(rows) == [str(bundle)] and matched(rows) == {str(bundle)}
    rows = scan(db, tmp_path, bundle, limits=ArchiveLimits(max_depth=1))
    assert list(rows) == [f"{bundle}!/a.txt", str(bundle)]
