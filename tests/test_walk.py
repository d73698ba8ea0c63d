"""The one folder walker (``safelight.signals.walk``) and its rule for links, as ``scan`` and
``hash -r`` both see it: each file once whatever the links, links leaving the root followed
only on request, every loop ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from safelight.cli import main
from safelight.scan.archives import ArchiveLimits
from safelight.scan.runner import ScanOptions, run_scan
from safelight.scan.runs import RunStore
from safelight.scan.sources import SourceWalker
from safelight.signals.batch import expand_paths
from safelight.signals.records import HashRecord
from safelight.signals.walk import Walker
from safelight.store import Database

LEVELS = 12  # 2**12 = 4096 visits of one file if links multiplied the walk


def scan_codes(*sources: str, follow_links: bool = False) -> dict[str, str | None]:
    walker = SourceWalker(ArchiveLimits(), follow_links=follow_links)
    found: dict[str, str | None] = {}
    for item in walker.items(list(sources)):
        assert item.logical_path not in found, f"{item.logical_path} given twice"
        found[item.logical_path] = item.error.code if item.error else None
    return found


def hash_codes(*paths: str, follow_links: bool = False) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for item in expand_paths(paths, True, follow_links=follow_links):
        if isinstance(item, HashRecord):
            found[item.path] = item.error.code if item.error else None
        else:
            assert item not in found, f"{item} given twice"
            found[item] = None
    return found


def amplifier(root: Path) -> Path:
    """``LEVELS`` folders, each holding two links to the next; one small file at the end."""
    for level in range(LEVELS + 1):
        (root / f"l{level:02d}").mkdir(parents=True)
    for level in range(LEVELS):
        for name in ("a", "b"):
            (root / f"l{level:02d}" / name).symlink_to(root / f"l{level + 1:02d}")
    (root / f"l{LEVELS:02d}" / "f.txt").write_bytes(b"hi")
    return root


def test_links_cannot_multiply_a_file_in_scan_or_hash(tmp_path: Path) -> None:
    root = amplifier(tmp_path / "root")
    for follow in (False, True):
        for found in (scan_codes(str(root), follow_links=follow), hash_codes(str(root))):
            assert list(found.values()) == [None]
            (path,) = found
            assert os.path.samefile(path, root / f"l{LEVELS:02d}" / "f.txt")


def test_without_follow_links_a_file_is_found_under_its_own_name(tmp_path: Path) -> None:
    root = amplifier(tmp_path / "root")
    assert scan_codes(str(root)) == {f"{root}/l{LEVELS:02d}/f.txt": None}


def test_links_leaving_the_root_are_reported_not_followed_unless_asked(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "file_link").symlink_to(Path("..") / "outside" / "secret.txt")
    (root / "folder_link").symlink_to(tmp_path / "outside")
    (root / "mine.txt").write_bytes(b"m")
    for found in (scan_codes(str(root)), hash_codes(str(root))):
        assert found == {
            f"{root}/file_link": "link_outside_root",
            f"{root}/folder_link": "link_outside_root",
            f"{root}/mine.txt": None,
        }
    # Followed on request, and the one secret file is still read only once.
    for found in (
        scan_codes(str(root), follow_links=True),
        hash_codes(str(root), follow_links=True),
    ):
        assert found == {f"{root}/file_link": None, f"{root}/mine.txt": None}


def test_file_uris_follow_the_same_rule(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"s")
    root = amplifier(tmp_path / "root")
    (root / "out").symlink_to(tmp_path / "outside" / "secret.txt")
    assert scan_codes(root.as_uri()) == {
        f"{root}/l{LEVELS:02d}/f.txt": None,
        f"{root}/out": "link_outside_root",
    }


def test_loops_end_in_both_modes(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.txt").write_bytes(b"x")
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "b" / "out").symlink_to(tmp_path)  # leaves the root, then comes back
    (tmp_path / "a" / "ring1").symlink_to(tmp_path / "a" / "ring2")
    (tmp_path / "a" / "ring2").symlink_to(tmp_path / "a" / "ring1")
    root = str(tmp_path / "a")
    for follow in (False, True):
        found = scan_codes(root, follow_links=follow)
        assert found[f"{root}/b/x.txt"] is None
        assert found[f"{root}/b/up"] == "symlink_loop"
        assert found[f"{root}/ring1"] == found[f"{root}/ring2"] == "symlink_loop"
        if follow:  # out of the root and back into the folder being walked: a loop
            assert found[f"{root}/b/out/a"] == "symlink_loop" and len(found) == 5
        else:
            assert found[f"{root}/b/out"] == "link_outside_root" and len(found) == 5


def test_hard_links_and_sources_named_twice_are_read_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "one.txt").write_bytes(b"1")
    os.link(tmp_path / "d" / "one.txt", tmp_path / "d" / "two.txt")
    found = scan_codes(str(tmp_path), str(tmp_path / "d"), str(tmp_path / "d" / "two.txt"))
    assert found == {f"{tmp_path}/d/one.txt": None}


def test_a_deep_tree_needs_no_recursion(tmp_path: Path) -> None:
    folder = tmp_path
    for _ in range(300):  # deeper than this walk could go by nested generators cheaply
        folder = folder / "d"
    folder.mkdir(parents=True)
    (folder / "deep.txt").write_bytes(b"d")
    assert [found.path for found in Walker().walk(str(tmp_path))] == [str(folder / "deep.txt")]


def test_hash_and_scan_take_follow_links(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path / "outside" / "secret.txt")
    runner = CliRunner()
    plain = runner.invoke(main, ["hash", "-r", str(root), "--jobs", "1"])
    assert plain.exit_code == 1 and "link_outside_root" in plain.stdout
    followed = runner.invoke(main, ["hash", "-r", "--follow-links", str(root), "--jobs", "1"])
    assert followed.exit_code == 0 and f'"{root}/link"' in followed.stdout
    assert "--follow-links" in runner.invoke(main, ["scan", "--help"]).stdout


def test_named_paths_files_missing_and_unlistable_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "f.txt").write_bytes(b"f")
    os.mkfifo(tmp_path / "pipe")
    walker = Walker()
    assert [(f.path, f.error) for f in walker.walk(str(tmp_path / "f.txt"))] == [
        (str(tmp_path / "f.txt"), None)
    ]
    (missing,) = walker.walk(str(tmp_path / "nope"))
    assert missing.error is not None and missing.error.code == "unreadable"
    (pipe,) = walker.walk(str(tmp_path / "pipe"))
    assert pipe.error is not None and pipe.error.code == "not_regular_file"
    (tmp_path / "locked").mkdir()
    listdir = os.listdir

    def refuse(path: str) -> list[str]:
        if path.endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return listdir(path)

    monkeypatch.setattr("safelight.signals.walk.os.listdir", refuse)
    found = {f.path: f.error.code if f.error else None for f in Walker().walk(str(tmp_path))}
    assert found == {
        str(tmp_path / "f.txt"): None,
        str(tmp_path / "locked"): "unreadable",
        str(tmp_path / "pipe"): "not_regular_file",
    }


def test_a_scan_run_keeps_its_link_rule_for_resume(db: Database, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path / "outside" / "secret.txt")
    for follow in (False, True):
        summary = run_scan(db, ScanOptions([str(root)], follow_links=follow))
        assert RunStore(db).get(summary.run_id).options["follow_links"] is follow
        assert summary.total.errors == (0 if follow else 1)
