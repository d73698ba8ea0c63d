"""``Matcher`` and its index sync, on a real store (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from safelight.errors import NotFoundError, UsageError
from safelight.index import HammingIndex, directory
from safelight.index.fileformat import SegmentFile
from safelight.lists.store import HashListStore, utc_now
from safelight.match import IndexSync, Matcher, index_root, verified
from safelight.signals.files import hash_file
from safelight.signals.options import HashOptions
from safelight.signals.synthetic import photo_like
from safelight.store import Database

from .signals_media import save

RNG = np.random.default_rng(7)


def random_pdq(rng: np.random.Generator = RNG) -> str:
    return bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex()


def flip(hex_hash: str, bits: int, start: int = 0) -> str:
    """The hash with ``bits`` distinct bits flipped (so exactly that Hamming distance)."""
    value = int(hex_hash, 16)
    for bit in range(start, start + bits):
        value ^= 1 << bit
    return f"{value:064x}"


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def store(db: Database) -> HashListStore:
    return HashListStore(db)


def add(store: HashListStore, tmp_path: Path, name: str, rows: list[dict[str, object]]) -> None:
    n = len(list(tmp_path.glob("*.jsonl")))
    store.import_file(name, write_jsonl(tmp_path / f"import{n}.jsonl", rows))


def open_matcher(store: HashListStore, home: Path, **options: object) -> Matcher:
    return Matcher(store, home=home, **options)  # type: ignore[arg-type]


def test_planted_near_duplicates_at_their_distance_and_near_miss_not(
    store: HashListStore, tmp_path: Path
) -> None:
    base = random_pdq()
    store.create("L")
    add(store, tmp_path, "L", [
        {"type": "pdq", "value": flip(base, 5), "labels": ["A"]},
        {"type": "pdq", "value": flip(base, 31, 100)},
        {"type": "pdq", "value": flip(base, 32, 200)},
        {"type": "pdq", "value": random_pdq()},
    ])  # fmt: skip
    [found] = open_matcher(store, tmp_path / "home").match_hashes([("pdq", base)])
    assert [m.distance for m in found] == [5, 31]
    assert found[0].labels == frozenset({"A"}) and found[0].list_name == "L"
    assert found[0].value == flip(base, 5) and found[0].signal_type == "pdq"


def test_list_threshold_and_override(store: HashListStore, tmp_path: Path) -> None:
    base = random_pdq()
    store.create("STRICT", pdq_threshold=10)
    store.create("LOOSE", pdq_threshold=40)
    add(store, tmp_path, "STRICT", [{"type": "pdq", "value": flip(base, 20)}])
    add(store, tmp_path, "LOOSE", [{"type": "pdq", "value": flip(base, 35)}])
    home = tmp_path / "home"
    [found] = open_matcher(store, home).match_hashes([("pdq", base)])
    assert [(m.list_name, m.distance) for m in found] == [("LOOSE", 35)]
    [found] = open_matcher(store, home, threshold=25).match_hashes([("pdq", base)])
    assert [(m.list_name, m.distance) for m in found] == [("STRICT", 20)]
    [found] = open_matcher(store, home, lists=["STRICT"], threshold=63).match_hashes(
        [("pdq", base)]
    )
    assert [m.list_name for m in found] == ["STRICT"]
    with pytest.raises(NotFoundError):
        open_matcher(store, home, lists=["NOPE"])
    with pytest.raises(UsageError):
        open_matcher(store, home, threshold=64)


def test_disabled_reenabled_and_timed_disable_lapsing(store: HashListStore, tmp_path: Path) -> None:
    now = [utc_now()]
    store.clock = lambda: now[0]
    a, b = random_pdq(), random_pdq()
    store.create("L")
    add(store, tmp_path, "L", [{"type": "pdq", "value": a}, {"type": "pdq", "value": b}])
    home = tmp_path / "home"
    ids = {m.value: m.entry_id for m in open_matcher(store, home).match_hashes(
        [("pdq", a), ("pdq", b)])[0] + open_matcher(store, home).match_hashes([("pdq", b)])[0]
    }  # fmt: skip
    store.set_enabled("L", False, entry_ids=[ids[a]])
    store.set_enabled("L", False, entry_ids=[ids[b]], until=now[0] + timedelta(hours=1))
    m = open_matcher(store, home)
    assert m.match_hashes([("pdq", a), ("pdq", b)]) == [[], []]
    index = m.index("pdq")
    assert not len(index)  # hidden in the index too, not only filtered
    now[0] += timedelta(hours=2)  # b's disable lapses without a generation change
    found = open_matcher(store, home).match_hashes([("pdq", a), ("pdq", b)])
    assert found[0] == [] and [x.entry_id for x in found[1]] == [ids[b]]
    store.set_enabled("L", True, entry_ids=[ids[a]])
    found = open_matcher(store, home).match_hashes([("pdq", a)])
    assert [x.entry_id for x in found[0]] == [ids[a]]
    store.set_enabled("L", False)  # the whole list
    assert open_matcher(store, home).match_hashes([("pdq", a)]) == [[]]


def test_digests_match_at_distance_zero_and_sync_is_incremental(
    store: HashListStore, tmp_path: Path
) -> None:
    md5, sha1, sha256 = "ab" * 16, "cd" * 20, "ef" * 32
    store.create("D")
    add(store, tmp_path, "D", [{"type": "md5", "value": md5, "labels": ["x"]}])
    home = tmp_path / "home"
    m = open_matcher(store, home)
    [found] = m.match_hashes([("md5", md5)])
    assert found[0].distance == 0 and found[0].labels == frozenset({"x"})
    assert m._syncs["md5"].rebuilt  # first open builds
    add(store, tmp_path, "D", [{"type": "sha1", "value": sha1}, {"type": "sha256", "value": sha256},
                               {"type": "md5", "value": "12" * 16}])  # fmt: skip
    m = open_matcher(store, home)
    found = m.match_hashes([("sha1", sha1), ("sha256", sha256), ("md5", "12" * 16), ("md5", md5)])
    assert [len(f) for f in found] == [1, 1, 1, 1]
    assert not m._syncs["md5"].rebuilt  # caught up, not rebuilt
    assert len(m.index("md5")) == 2


def test_deleted_list_rebuilds_and_stores_never_share(store: HashListStore, tmp_path: Path) -> None:
    a = random_pdq()
    store.create("L")
    store.create("M")
    add(store, tmp_path, "L", [{"type": "pdq", "value": a}])
    add(store, tmp_path, "M", [{"type": "pdq", "value": a}])
    home = tmp_path / "home"
    assert len(open_matcher(store, home).match_hashes([("pdq", a)])[0]) == 2
    store.delete("L")
    m = open_matcher(store, home)
    assert [x.list_name for x in m.match_hashes([("pdq", a)])[0]] == ["M"]
    assert m._syncs["pdq"].rebuilt and len(m.index("pdq")) == 1
    other = Database.open(f"sqlite:///{tmp_path / 'other.db'}")
    assert index_root(other, home) != index_root(store.db, home)
    assert open_matcher(HashListStore(other), home).match_hashes([("pdq", a)]) == [[]]
    other.dispose()


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_index_is_rebuilt_with_a_warning(
    store: HashListStore, tmp_path: Path, damage: str
) -> None:
    rows = [{"type": "pdq", "value": random_pdq()} for _ in range(50)]
    store.create("L")
    add(store, tmp_path, "L", rows)
    home = tmp_path / "home"
    open_matcher(store, home).index("pdq")
    [segment] = (index_root(store.db, home) / "pdq").glob("seg-*.seg")
    data = bytearray(segment.read_bytes())
    if damage == "flip":
        data[4096 + 40] ^= 0xFF  # inside the first section after the header
    else:
        data = data[: len(data) // 2]
    segment.write_bytes(bytes(data))
    warnings: list[str] = []
    m = open_matcher(store, home, warn=warnings.append)
    found = m.match_hashes([("pdq", str(r["value"])) for r in rows])
    assert all(len(f) == 1 and f[0].distance == 0 for f in found)
    assert m._syncs["pdq"].rebuilt and any("damaged" in w for w in warnings)


def test_large_segment_checksummed_once_per_version_and_a_flip_rebuilds(
    store: HashListStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Index opens checksum only small files; the sync checks larger ones once per file
    version. "Large" is lowered to 0 bytes here so a 50-entry segment counts as large."""
    monkeypatch.setattr(directory, "INDEX_FULL_VERIFY_BYTES", 0)
    monkeypatch.setattr(verified, "INDEX_FULL_VERIFY_BYTES", 0)
    rows = [{"type": "pdq", "value": random_pdq()} for _ in range(50)]
    store.create("L")
    add(store, tmp_path, "L", rows)
    home = tmp_path / "home"
    sync = IndexSync(store, "pdq", home=home)
    sync.open()  # built, then checksummed once
    assert sync.verify() == 0  # unchanged since: nothing re-read
    assert sync.verify(everything=True) >= 1
    [segment] = (index_root(store.db, home) / "pdq").glob("seg-*.seg")
    section = next(iter(SegmentFile(segment).sections.values()))
    data = bytearray(segment.read_bytes())
    data[section.offset + 3] ^= 0x01  # one bit inside the data, size unchanged
    segment.write_bytes(bytes(data))
    HammingIndex.open(segment.parent)  # the index's own open does not see it ...
    warnings: list[str] = []
    m = open_matcher(store, home, warn=warnings.append)
    found = m.match_hashes([("pdq", str(r["value"])) for r in rows])
    assert all(len(f) == 1 and f[0].distance == 0 for f in found)  # ... the sync does
    assert m._syncs["pdq"].rebuilt and any("damaged" in w for w in warnings)


def test_match_record_rotations_and_low_quality(store: HashListStore, tmp_path: Path) -> None:
    pixels = photo_like(11, 240, 180)
    original = save(tmp_path / "o.png", pixels)
    rotated = save(tmp_path / "r.png", np.ascontiguousarray(np.rot90(pixels)))
    flat = save(tmp_path / "flat.png", np.full((120, 120, 3), 128, np.uint8))
    options = HashOptions(signals=frozenset({"pdq", "pdq8", "md5"}))
    rec_o, rec_r, rec_flat = (hash_file(p, options) for p in (original, rotated, flat))
    assert rec_o.pdq is not None and rec_flat.pdq is not None and rec_flat.pdq.quality < 50
    store.create("L")
    add(store, tmp_path, "L", [
        {"type": "pdq", "value": rec_o.pdq.hex, "labels": ["cat-A"]},
        {"type": "pdq", "value": rec_flat.pdq.hex},
    ])  # fmt: skip
    m = open_matcher(store, tmp_path / "home")
    assert m.match_record(rec_r).matches == []  # a rotation is far in PDQ space
    [hit] = m.match_record(rec_r, rotations=True).matches
    assert hit.variant is not None and hit.variant != "original" and hit.distance <= 31
    assert hit.labels == frozenset({"cat-A"})
    low = m.match_record(rec_flat)
    assert low.low_quality and low.matches == []
    relaxed = open_matcher(store, tmp_path / "home", min_quality=0).match_record(rec_flat)
    assert not relaxed.low_quality and [x.distance for x in relaxed.matches] == [0]
    data = m.match_record(rec_o).to_dict()
    assert data["media"] == "photo" and data["pdq_quality"] == rec_o.pdq.quality
    assert data["matches"][0]["list"] == "L" and data["error"] is None


def test_import_while_matching_stays_consistent(store: HashListStore, tmp_path: Path) -> None:
    base = [random_pdq() for _ in range(20)]
    store.create("L")
    add(store, tmp_path, "L", [{"type": "pdq", "value": v} for v in base])
    home = tmp_path / "home"
    batches = [[{"type": "pdq", "value": random_pdq()} for _ in range(30)] for _ in range(4)]
    errors: list[BaseException] = []

    def importer() -> None:
        try:
            for n, batch in enumerate(batches):
                store.import_file("L", write_jsonl(tmp_path / f"c{n}.jsonl", batch))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=importer)
    thread.start()
    seen_counts = []
    while thread.is_alive() or len(seen_counts) < 3:
        m = open_matcher(store, home)
        found = m.match_hashes([("pdq", v) for v in base])
        assert all(len(f) == 1 for f in found)  # old entries always there, exactly once
        seen_counts.append(len(m.index("pdq")))
    thread.join()
    assert not errors
    final = open_matcher(store, home)
    everything = base + [str(r["value"]) for b in batches for r in b]
    assert all(len(f) == 1 for f in final.match_hashes([("pdq", v) for v in everything]))
    assert seen_counts == sorted(seen_counts)


def test_index_sync_survives_a_stale_format(store: HashListStore, tmp_path: Path) -> None:
    a = random_pdq()
    store.create("L")
    add(store, tmp_path, "L", [{"type": "pdq", "value": a}])
    sync = IndexSync(store, "pdq", home=tmp_path / "home")
    index = sync.open()
    index.set_meta({"format": 0})
    assert len(sync.open()) == 1 and sync.rebuilt


def test_store_index_rows_and_entry_states(store: HashListStore, tmp_path: Path) -> None:
    a, b, md5 = random_pdq(), random_pdq(), "aa" * 16
    store.create("L")
    store.create("M")
    add(store, tmp_path, "L", [{"type": "pdq", "value": a}, {"type": "md5", "value": md5}])
    add(store, tmp_path, "M", [{"type": "pdq", "value": b}])
    rows = list(store.index_rows("pdq"))
    assert [(r.list_name, r.value) for r in rows] == [("L", a), ("M", b)]
    assert [r.value for r in store.index_rows("pdq", after_id=rows[0].id)] == [b]
    assert [r.value for r in store.index_rows("pdq", list_names=["L"])] == [a]
    store.set_enabled("L", False, entry_ids=[rows[0].id])
    [(entry_id, until)] = store.entry_states("L", "pdq")
    assert entry_id == rows[0].id and until is not None
    with pytest.raises(NotFoundError):
        store.entry_states("NOPE", "pdq")
