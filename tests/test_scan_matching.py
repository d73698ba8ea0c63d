"""Hashing through the signals pipeline and matching through store lists and their indexes."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
import pytest
from PIL import Image

from safelight.errors import NotFoundError
from safelight.lists import HashListStore, ListDisabledError
from safelight.scan.corpus import jpeg_bytes, png_bytes
from safelight.scan.hashing import PipelineHasher
from safelight.scan.matching import (
    MatchConfig,
    Matcher,
    NoMatcher,
    StoreMatcher,
    make_matcher,
)
from safelight.signals import files
from safelight.signals.options import HashOptions
from safelight.signals.pdq import PdqHash
from safelight.signals.records import HashRecord
from safelight.store import Database

from .list_support import create_list, vpdq_list_value


def test_pipeline_hasher_in_reference_mode_equals_pillow_and_pdqhash() -> None:
    data = jpeg_bytes(7, 200, 150)
    record = PipelineHasher(HashOptions(mode="reference")).hash_bytes(data, "p.jpg")
    assert record.digests["md5"] == hashlib.md5(data).hexdigest()
    assert record.digests["sha256"] == hashlib.sha256(data).hexdigest()
    bits, quality = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    # python-threatexchange's conversion of pdqhash's bit vector to hex.
    expected = f"{int(''.join(str(int(b)) for b in bits), 2):064x}"
    assert record.pdq is not None
    assert (record.pdq.hex, record.pdq.quality, record.media, record.format) == (
        expected,
        quality,
        "photo",
        "jpeg",
    )
    assert PipelineHasher().hash_bytes(png_bytes(7), "p.png").media == "photo"


def test_pipeline_hasher_agrees_with_the_signals_pipeline(tmp_path: Path) -> None:
    data = jpeg_bytes(8, 320, 240)
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    reference = files.hash_file(str(path))
    from_file = PipelineHasher().hash_file(str(path), str(path))
    from_bytes = PipelineHasher().hash_bytes(data, "member.jpg")
    assert reference.pdq is not None
    assert from_file.pdq == from_bytes.pdq == reference.pdq


def test_hasher_records_problems_per_item() -> None:
    hasher = PipelineHasher(HashOptions(max_pixels=100 * 100))
    empty = hasher.hash_bytes(b"", "e.jpg")
    assert empty.error is not None and empty.error.code == "empty_file"
    text = hasher.hash_bytes(b"just text", "t.txt")
    assert (text.media, text.pdq, text.error) == ("other", None, None)
    cut = jpeg_bytes(1, 80, 60)[:300]
    truncated = hasher.hash_bytes(cut, "cut.jpg")
    assert truncated.error is not None and truncated.error.code in {"truncated", "undecodable"}
    assert truncated.digests["md5"] == hashlib.md5(cut).hexdigest()
    assert "cut.jpg" in truncated.error.message
    bomb = hasher.hash_bytes(png_bytes(1, 200, 200), "big.png")
    assert bomb.error is not None and bomb.error.code == "decompression_bomb"


def _record(pdq: str | None, quality: int = 100, md5: str = "a" * 32) -> HashRecord:
    digests = {"md5": md5, "sha1": "b" * 40, "sha256": "c" * 64}
    pdq_hash = None if pdq is None else PdqHash(bytes.fromhex(pdq), quality)
    return HashRecord("x.jpg", "photo", size=1, digests=digests, format="jpeg", pdq=pdq_hash)


def test_videos_get_vpdq_features_and_damaged_ones_an_error() -> None:
    from safelight.signals.video import hash_video
    from tests.video_synth import make_video

    hasher = PipelineHasher()
    for kind in ("mp4", "webm", "avi"):
        data = make_video(kind, frames=20, fps=10)
        record = hasher.hash_bytes(data, f"clip.{kind}")
        assert (record.media, record.pdq, record.error) == ("video", None, None)
        assert record.vpdq is not None
        expected = [(f.frame, f.pdq, f.quality) for f in hash_video(data)]
        assert [(f.frame, f.pdq, f.quality) for f in record.vpdq] == expected
        assert record.digests["md5"] == hashlib.md5(data).hexdigest()
    data = make_video("mp4", frames=20, fps=10)
    cut = hasher.hash_bytes(data[: len(data) // 2], "cut.mp4")
    assert cut.media == "video" and cut.error is not None
    assert cut.error.code in {"truncated", "corrupt_video"} and "cut.mp4" in cut.error.message


def _near(hex_hash: str, bits: int) -> str:
    return f"{int(hex_hash, 16) ^ ((1 << bits) - 1):064x}"


def _config(db: Database, tmp_path: Path, *names: str) -> MatchConfig:
    generations = HashListStore(db).generations(list(names))
    home = str(tmp_path / "home")
    return MatchConfig(names, tuple(generations[n] for n in names), db.url, db.schema, home)


@pytest.fixture
def opened() -> Iterator[list[Matcher]]:
    """Matchers a test opens, released afterwards (their store connections closed)."""
    matchers: list[Matcher] = []
    yield matchers
    for matcher in matchers:
        matcher.release()


def _matcher(
    db: Database, tmp_path: Path, name: str, entries: list[Any], opened: list[Matcher]
) -> StoreMatcher:
    create_list(db, name, entries, workdir=tmp_path)
    matcher = make_matcher(_config(db, tmp_path, name))
    assert isinstance(matcher, StoreMatcher)
    opened.append(matcher)
    return matcher


def test_matcher_threshold_quality_and_digest_rules(
    db: Database, tmp_path: Path, opened: list[Matcher]
) -> None:
    base = "5" * 64
    matcher = _matcher(
        db,
        tmp_path,
        "RULES",
        [
            ("pdq", _near(base, 31), ["near"]),
            ("pdq", _near(base, 32), ["far"]),
            ("md5", "a" * 32, []),
        ],
        opened,
    )
    ids = {e.value: e.id for e in HashListStore(db).find_entries("RULES")}
    hits = matcher.match(_record(base))
    assert [(m.list_name, m.entry_id, m.signal_type, m.distance) for m in hits] == sorted(
        [("RULES", ids[_near(base, 31)], "pdq", 31), ("RULES", ids["a" * 32], "md5", 0)],
        key=lambda t: (t[0], t[1], t[2]),
    )
    # Quality below 50 is too unreliable to match on; digests still match.
    assert [m.signal_type for m in matcher.match(_record(base, quality=49))] == ["md5"]
    assert matcher.match(_record(None, md5="d" * 32)) == ()


def test_matcher_follows_the_store_and_disabled_lists(
    db: Database, tmp_path: Path, opened: list[Matcher]
) -> None:
    matcher = _matcher(db, tmp_path, "GEN", [("md5", "a" * 32, ["x"])], opened)
    (hit,) = matcher.match(_record(None, md5="a" * 32))
    assert (hit.list_name, hit.signal_type, hit.labels) == ("GEN", "md5", frozenset({"x"}))
    extra = tmp_path / "more.jsonl"
    extra.write_text('{"type": "md5", "value": "' + "b" * 32 + '"}\n')
    HashListStore(db).import_file("GEN", extra)
    opened.append(make_matcher(_config(db, tmp_path, "GEN")))
    assert len(opened[-1].match(_record(None, md5="b" * 32))) == 1
    before = _config(db, tmp_path, "GEN")
    HashListStore(db).set_enabled("GEN", False)
    # Disabling bumps the generation: a new worker cache key, and a new matcher refuses the
    # list by name (a disabled list named explicitly would silently match nothing).
    after = _config(db, tmp_path, "GEN")
    assert after != before
    with pytest.raises(ListDisabledError) as refused:
        make_matcher(after)
    assert refused.value.names == ["GEN"]
    with pytest.raises(NotFoundError):
        make_matcher(_config_unknown(db, tmp_path))
    assert isinstance(make_matcher(MatchConfig()), NoMatcher)
    assert NoMatcher().match(_record("5" * 64)) == ()


def _config_unknown(db: Database, tmp_path: Path) -> MatchConfig:
    return MatchConfig(("ABSENT",), (0,), db.url, db.schema, str(tmp_path / "home"))


def test_vpdq_entries_match_the_same_video_and_not_another(
    db: Database, tmp_path: Path, opened: list[Matcher]
) -> None:
    from tests.video_synth import make_video

    known = make_video("mp4", frames=40, fps=10)
    other = make_video("webm", frames=40, fps=10, width=64, height=96)
    hasher = PipelineHasher()
    known_vpdq = hasher.hash_bytes(known, "known.mp4").vpdq
    assert known_vpdq is not None
    entries: list[Any] = [("vpdq", vpdq_list_value(known_vpdq), ["v"])]
    matcher = _matcher(db, tmp_path, "VIDEOS", entries, opened)
    (hit,) = matcher.match(hasher.hash_bytes(known, "copy.mp4"))
    assert (hit.list_name, hit.signal_type) == ("VIDEOS", "vpdq")
    assert hit.query_percent == 100.0 and hit.compared_percent == 100.0
    assert hit.to_dict()["compared_percent"] == 100.0
    assert matcher.match(hasher.hash_bytes(other, "other.webm")) == ()
