"""vPDQ matching: generated benign videos, hashed, imported as vpdq entries, matched back.

The videos are a slow pan across a generated photo-like scene (``photo_like``), so each
sampled frame (one per second) has real PDQ content; a re-encode changes codec, container
and size; a different seed is a different video.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from safelight.cli import main
from safelight.lists.store import HashListStore, utc_now
from safelight.match import Matcher
from safelight.signals.synthetic import photo_like
from safelight.signals.video import hash_video
from safelight.signals.vpdq import VpdqFeature, match_vpdq

from .test_match_cli import lines, run
from .video_synth import FORMATS
from .vpdq_io import write_vpdq_file


def pan_video(seed: int, kind: str = "mp4", frames: int = 40, fps: int = 10) -> bytes:
    """``frames`` frames of 160x120 panning across a 320x120 generated scene."""
    width, height = 160, 120
    scene = photo_like(seed, 2 * width, height)
    muxer, codec, pix_fmt = FORMATS[kind]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=muxer) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "g": "12"}
        for index in range(frames):
            x = index * width // frames
            window = np.ascontiguousarray(scene[:, x : x + width])
            out.mux(stream.encode(av.VideoFrame.from_ndarray(window, "rgb24")))
        out.mux(stream.encode())
    return buffer.getvalue()


def reencode(data: bytes, kind: str, width: int, height: int) -> bytes:
    """Decode ``data`` and encode it again as ``kind`` at another size (a lossy copy)."""
    muxer, codec, pix_fmt = FORMATS[kind]
    buffer = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(buffer, "w", format=muxer) as out:
        video = source.streams.video[0]
        stream = out.add_stream(codec, rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libvpx-vp9":
            stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for frame in source.decode(video):
            scaled = frame.reformat(width=width, height=height, format=pix_fmt)
            scaled.pts = None
            out.mux(stream.encode(scaled))
        out.mux(stream.encode())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """original.mp4, its re-encode copy.webm (VP9, 128x96), other.mp4, and original.vpdq."""
    folder = tmp_path_factory.mktemp("videos")
    original = pan_video(1)
    paths = {
        "original": folder / "original.mp4",
        "copy": folder / "copy.webm",
        "other": folder / "other.mp4",
        "hashes": folder / "original.vpdq",
    }
    paths["original"].write_bytes(original)
    paths["copy"].write_bytes(reencode(original, "webm", 128, 96))
    paths["other"].write_bytes(pan_video(2))
    write_vpdq_file(paths["hashes"], hash_video(paths["original"]))
    return paths


def features_of(path: Path) -> list[VpdqFeature]:
    return hash_video(path)


def test_the_videos_are_what_the_tests_need(videos: dict[str, Path]) -> None:
    """Guards the fixtures: the copy really is a lossy copy, the other really differs."""
    original, copy, other = (features_of(videos[k]) for k in ("original", "copy", "other"))
    assert len(original) == 4 and all(f.quality >= 50 for f in original)
    assert videos["copy"].read_bytes() != videos["original"].read_bytes()
    assert [f.pdq for f in copy] != [f.pdq for f in original]
    assert match_vpdq(copy, original).matched
    assert match_vpdq(other, original).query_percent == 0


def test_match_cli_finds_the_video_and_its_reencode_not_another(
    safelight_env: Path, videos: dict[str, Path]
) -> None:
    assert run("lists", "create", "VID").exit_code == 0
    imported = run("lists", "import", "VID", str(videos["hashes"]), "--label", "known")
    assert imported.exit_code == 0, imported.output
    stored = json.dumps([
        f"{f.pdq},{f.quality},{f.timestamp:.3f}" for f in features_of(videos["original"])
    ], separators=(",", ":"))  # fmt: skip
    paths = [str(videos[k]) for k in ("original", "copy", "other")]
    result = run("match", *paths, "--jobs", "1")
    assert result.exit_code == 0, result.output
    same, copy, other = lines(result)
    assert same["media"] == "video" and same["error"] is None
    [hit] = same["matches"]  # type: ignore[misc]
    assert hit == {
        "list": "VID", "entry_id": hit["entry_id"], "value": stored, "distance": 0,
        "labels": ["known"], "signal_type": "vpdq",
        "query_percent": 100.0, "compared_percent": 100.0,
    }  # fmt: skip
    [copy_hit] = copy["matches"]  # type: ignore[misc]
    assert copy_hit["entry_id"] == hit["entry_id"] and copy_hit["signal_type"] == "vpdq"
    assert copy_hit["compared_percent"] >= 80.0 and copy_hit["query_percent"] > 0
    assert other["matches"] == [] and other["error"] is None
    table = run("match", str(videos["copy"]), "--format", "table", "--jobs", "1")
    assert table.exit_code == 0 and " VID " in table.stdout and "vpdq" in table.stdout


def test_vpdq_entries_follow_list_selection_and_disabling(
    db: object, videos: dict[str, Path], tmp_path: Path
) -> None:
    store = HashListStore(db)  # type: ignore[arg-type]
    now = [utc_now()]
    store.clock = lambda: now[0]
    store.create("A")
    store.create("B")
    store.import_file("A", videos["hashes"])
    store.import_file("B", videos["hashes"])  # the same video in two lists: two entries
    home = tmp_path / "home"
    query = features_of(videos["copy"])

    def found(**options: object) -> list[tuple[str, int]]:
        matcher = Matcher(store, home=home, **options)  # type: ignore[arg-type]
        return [(m.list_name, m.entry_id) for m in matcher.match_vpdq(query)]

    both = found()
    assert [name for name, _ in both] == ["A", "B"]
    assert found(lists=["B"]) == both[1:]
    (_, a_id), (_, b_id) = both
    store.set_enabled("A", False, entry_ids=[a_id], until=now[0] + timedelta(hours=1))
    store.set_enabled("B", False)
    assert found() == []
    now[0] += timedelta(hours=2)  # A's timed disable lapses
    assert found() == [("A", a_id)]
    store.set_enabled("B", True)
    assert found() == both
    assert Matcher(store, home=home).match_vpdq(features_of(videos["other"])) == []


def test_matcher_refresh_sees_a_new_vpdq_entry(db: object, videos: dict[str, Path]) -> None:
    store = HashListStore(db)  # type: ignore[arg-type]
    store.create("V")
    matcher = Matcher(store, home=videos["hashes"].parent / "home")
    query = features_of(videos["original"])
    assert matcher.match_vpdq(query) == []
    store.import_file("V", videos["hashes"])
    matcher.refresh()
    [hit] = matcher.match_vpdq(query)
    assert (hit.query_percent, hit.compared_percent, hit.distance) == (100.0, 100.0, 0)


def test_hash_records_piped_into_match_find_the_video(
    safelight_env: Path, videos: dict[str, Path]
) -> None:
    """``hash`` JSONL on stdin is matched by its vPDQ features, not hashed again."""
    assert run("lists", "create", "VID").exit_code == 0
    assert run("lists", "import", "VID", str(videos["hashes"])).exit_code == 0
    paths = [str(videos[k]) for k in ("original", "copy", "other")]
    direct = lines(run("match", *paths, "--jobs", "1"))
    hashed = run("hash", *paths, "--jobs", "1")
    piped = CliRunner().invoke(main, ["match", "-"], input=hashed.stdout)
    assert piped.exit_code == 0, piped.output
    assert lines(piped) == direct
    assert [len(r["matches"]) for r in direct] == [1, 1, 0]  # type: ignore[arg-type]
