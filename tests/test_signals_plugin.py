"""A signal type registered by an installed package flows through Safelight unchanged.

Organisations hold licensed hashes Safelight cannot ship; they add them as a package that
declares an entry point in ``safelight.signal_types``. This test builds such a package on
disk (a module and its ``.dist-info`` with ``entry_points.txt``), puts it on ``sys.path`` and
drives the real import, index, match and hash paths with it: no core module names the type.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from safelight.cli import main
from safelight.lists import HashListStore
from safelight.match import Matcher
from safelight.signals.types import ENTRY_POINT_GROUP, registry
from safelight.store import Database

PLUGIN = """
from safelight.signals.types import SignalType

ACME = SignalType(
    name="acme_sha224",
    description="an organisation's own digest (SHA-224 standing in for a licensed hash)",
    source="tests/test_signals_plugin.py",
    content_types=("photo", "video"),
    distance="exact",
    index_kind="digest",
    hex_length=56,
    aliases=("acme",),
    hashlib_name="sha224",
)
"""


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An installed package ``acme_signals`` registering the type ``acme_sha224``."""
    site = tmp_path / "site"
    (site / "acme_signals").mkdir(parents=True)
    (site / "acme_signals" / "__init__.py").write_text(PLUGIN)
    info = site / "acme_signals-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-signals\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = acme_signals:ACME\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    registry.reload()
    yield "acme_sha224"
    sys.modules.pop("acme_signals", None)
    monkeypatch.undo()
    registry.reload()


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_entry_point_type_is_in_the_registry(acme: str) -> None:
    found = registry.get("ACME")
    assert found.name == acme and found.key_bytes == 28
    assert registry.infer("a" * 56).name == acme  # its length is its own
    assert acme in [t.name for t in registry.file_digests()]
    registry.reload()
    assert acme in registry.names  # reloaded from the entry point again


def test_registered_type_flows_through_import_index_and_match(
    acme: str, db: Database, tmp_path: Path
) -> None:
    digest = hashlib.sha224(b"licensed").hexdigest()
    path = tmp_path / "acme.txt"
    path.write_text(f"{digest.upper()}\nacme {hashlib.sha224(b'other').hexdigest()}\n")
    store = HashListStore(db)
    store.create("ACME_LIST")
    assert store.import_file("ACME_LIST", path).added == 2
    assert {e.signal_type for e in store.find_entries("ACME_LIST")} == {acme}
    matcher = Matcher.open(db, home=tmp_path / "home")
    [hit], [] = matcher.match_hashes([(acme, digest), (acme, "0" * 56)])
    assert (hit.list_name, hit.value, hit.distance) == ("ACME_LIST", digest, 0)


def test_registered_type_is_hashed_and_matched_from_files(
    acme: str, safelight_env: Path, tmp_path: Path
) -> None:
    evidence = tmp_path / "file.bin"
    evidence.write_bytes(b"bytes a platform was asked to check")
    digest = hashlib.sha224(evidence.read_bytes()).hexdigest()
    listed = tmp_path / "list.txt"
    listed.write_text(f"acme_sha224 {digest}\n")
    assert run("lists", "create", "ACME_LIST").exit_code == 0
    assert run("lists", "import", "ACME_LIST", str(listed)).exit_code == 0
    hashed = run("hash", str(evidence), "--jobs", "1")
    assert json.loads(hashed.stdout)[acme] == digest
    result = run("match", str(evidence), "--jobs", "1")
    [found] = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(m["signal_type"], m["value"]) for m in found["matches"]] == [(acme, digest)]
    by_hash = run("match", "--hash", f"acme:{digest}")
    assert json.loads(by_hash.stdout)["matches"][0]["list"] == "ACME_LIST"


def test_registered_type_flows_through_a_scan(
    acme: str, safelight_env: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "known.bin").write_bytes(b"an organisation's known file")
    (folder / "other.bin").write_bytes(b"something else")
    digest = hashlib.sha224(b"an organisation's known file").hexdigest()
    listed = tmp_path / "list.txt"
    listed.write_text(f"{digest}\n")  # 56 hex: only the registered type has that length
    assert run("lists", "create", "ACME_LIST").exit_code == 0
    assert run("lists", "import", "ACME_LIST", str(listed)).exit_code == 0
    out = tmp_path / "scan.jsonl"
    scanned = run("scan", str(folder), "--jobs", "1", "--out", str(out))
    assert scanned.exit_code == 0, scanned.output
    items = {Path(r["path"]).name: r for r in map(json.loads, out.read_text().splitlines())}
    assert items["known.bin"][acme] == digest
    assert [(m["list"], m["signal_type"]) for m in items["known.bin"]["matches"]] == [
        ("ACME_LIST", acme)
    ]
    assert items["other.bin"]["matches"] == []
