"""On-disk format: corruption and truncation are detected, never served; rebuild recovers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from safelight.errors import IndexCorruptError, UsageError
from safelight.index import DigestIndex, HammingIndex, directory, fileformat, segments, synthetic
from safelight.index.fileformat import HEADER_SIZE, SegmentFile

pytestmark = pytest.mark.filterwarnings("error")


def _build(path: Path, n: int = 300) -> tuple[HammingIndex, np.ndarray]:
    hashes = synthetic.uniform_hashes(np.random.default_rng(1), n)
    return HammingIndex.build(path, np.arange(n), hashes), hashes


def _segment_path(index: HammingIndex) -> Path:
    return index.path / index._view().manifest.segments[0].file


def _flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x40]))


def test_header_layout_is_stable(tmp_path: Path) -> None:
    index, _ = _build(tmp_path)
    seg = SegmentFile(_segment_path(index))
    assert seg.header.signal_type == "pdq" and seg.header.rows == 300
    assert seg.header.version == 2 and seg.header.kind == fileformat.KIND_HAMMING
    raw = _segment_path(index).read_bytes()
    assert raw[:8] == b"SLIDX\x00\r\n"
    assert seg.size % 4096 == 0 and all(s.offset % 4096 == 0 for s in seg.sections.values())
    assert set(seg.sections) == {"hashes", "ids", "ids_sorted"}


@pytest.mark.parametrize("where", ["magic", "header", "section_table", "checksum"])
def test_corrupt_header_is_refused_on_open(tmp_path: Path, where: str) -> None:
    index, _ = _build(tmp_path)
    offsets = {"magic": 2, "header": 40, "section_table": 120, "checksum": HEADER_SIZE - 2}
    _flip_byte(_segment_path(index), offsets[where])
    with pytest.raises(IndexCorruptError, match="rebuild the index from the store"):
        HammingIndex.open(tmp_path)


def test_corrupt_data_byte_detected_on_open_when_small(tmp_path: Path) -> None:
    index, _ = _build(tmp_path)
    _flip_byte(_segment_path(index), HEADER_SIZE + 100)
    with pytest.raises(IndexCorruptError, match="section hashes checksum mismatch"):
        HammingIndex.open(tmp_path)


def test_corrupt_data_byte_in_large_file_caught_by_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory, "INDEX_FULL_VERIFY_BYTES", 0)  # treat every file as large
    index, _ = _build(tmp_path)
    seg = SegmentFile(_segment_path(index))
    _flip_byte(_segment_path(index), seg.sections["ids"].offset + 3)
    reopened = HammingIndex.open(tmp_path)  # cheap open: header and sizes only
    with pytest.raises(IndexCorruptError, match="section ids checksum mismatch"):
        reopened.verify()
    with pytest.raises(IndexCorruptError, match="section ids checksum mismatch"):
        HammingIndex.open(tmp_path, verify=True)


@pytest.mark.parametrize("cut", [1, 4096, 10_000])
def test_truncated_file_is_refused_on_open(tmp_path: Path, cut: int) -> None:
    index, _ = _build(tmp_path)
    path = _segment_path(index)
    os.truncate(path, max(0, path.stat().st_size - cut))
    with pytest.raises(IndexCorruptError, match="truncated"):
        HammingIndex.open(tmp_path)


def test_trailing_bytes_and_short_header_are_refused(tmp_path: Path) -> None:
    index, _ = _build(tmp_path)
    path = _segment_path(index)
    with open(path, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(IndexCorruptError, match="trailing bytes"):
        SegmentFile(path)
    path.write_bytes(b"SLIDX")
    with pytest.raises(IndexCorruptError, match="shorter than the header"):
        SegmentFile(path)


def test_file_swapped_for_another_generation_is_refused(tmp_path: Path) -> None:
    index, _ = _build(tmp_path)
    other, _ = _build(tmp_path / "other", 200)
    os.replace(_segment_path(other), _segment_path(index))
    with pytest.raises(IndexCorruptError, match="does not match the manifest"):
        HammingIndex.open(tmp_path)


def test_damaged_manifest_is_refused_and_a_rebuild_recovers(tmp_path: Path) -> None:
    index, hashes = _build(tmp_path)
    manifest = tmp_path / "MANIFEST"
    data = json.loads(manifest.read_text())
    data["body"]["segments"][0]["rows"] = 7
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexCorruptError, match="checksum mismatch"):
        HammingIndex.open(tmp_path)
    manifest.write_text("{not json")
    with pytest.raises(IndexCorruptError, match="index manifest"):
        HammingIndex.open(tmp_path)
    rebuilt, problems = HammingIndex.build_from(tmp_path, enumerate(hashes.tolist()))
    assert problems and "expected a hex string" in problems[0][1]
    rebuilt, problems = HammingIndex.build_from(
        tmp_path, [(i, h.tobytes()) for i, h in enumerate(hashes)]
    )
    assert problems == [] and len(HammingIndex.open(tmp_path)) == 300
    assert {p.name for p in tmp_path.iterdir()} - {"other"} == {"MANIFEST", "LOCK"} | {
        s.file for s in rebuilt._view().manifest.segments
    }


def test_missing_segment_file_is_reported(tmp_path: Path) -> None:
    index, _ = _build(tmp_path)
    _segment_path(index).unlink()
    with pytest.raises(IndexCorruptError, match="lists files that are missing"):
        HammingIndex.open(tmp_path)


def test_wrong_kind_of_index_is_a_usage_error(tmp_path: Path) -> None:
    DigestIndex.build(tmp_path, [1], ["00" * 16], signal_type="md5")
    with pytest.raises(UsageError, match="holds a digest index, not a hamming index"):
        HammingIndex.open(tmp_path)


def test_future_format_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index, _ = _build(tmp_path)
    path = _segment_path(index)
    monkeypatch.setattr(fileformat, "INDEX_FORMAT_VERSION", 3)
    with pytest.raises(IndexCorruptError, match="format version 2, Safelight reads 3"):
        SegmentFile(path)


def test_stale_temp_files_of_dead_writers_are_cleaned(tmp_path: Path) -> None:
    index, hashes = _build(tmp_path)
    dead = tmp_path / ".tmp-999999999-abcd-seg-0000000009-00000000.seg"
    dead.write_bytes(b"half a file")
    mine = tmp_path / f".tmp-{os.getpid()}-abcd-seg-0000000009-00000000.seg"
    mine.write_bytes(b"in progress")
    stray = tmp_path / "seg-0000000001-deadbeef.seg"
    stray.write_bytes(b"orphan")
    index.add([1000], hashes[:1])
    assert not dead.exists() and not stray.exists() and mine.exists()


def test_rebuild_over_a_damaged_manifest_moves_readers_forward(tmp_path: Path) -> None:
    index, hashes = _build(tmp_path)
    reader = HammingIndex.open(tmp_path)
    index.add([5000], hashes[:1])
    generation = reader.generation
    (tmp_path / "MANIFEST").write_text("garbage")
    rebuilt = HammingIndex.build(tmp_path, [7], hashes[:1])
    assert rebuilt.generation > generation
    assert reader.search(hashes[:1], 0).to_lists() == [[(7, 0)]]


def test_mih_sections_and_a_bad_chunk_layout_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layout the reader cannot trust (overlapping chunks) is refused on open, though its
    checksums are right: the kernels would read outside their tables."""
    monkeypatch.setattr(segments, "MIH_MIN_SEGMENT_ROWS", 0)
    good, _ = _build(tmp_path / "good")
    seg = SegmentFile(_segment_path(good))
    assert set(seg.sections) >= {"chunks", "offsets", "postings", "bases"}
    overlapping = np.array([[0, 16, 8], [8, 16, 8]], dtype=np.int64)
    monkeypatch.setattr(segments.layout, "chunk_layout", lambda n: overlapping.copy())
    with pytest.raises(IndexCorruptError, match="bad MIH chunk layout"):
        _build(tmp_path / "bad")


def test_writer_replaces_only_known_sections(tmp_path: Path) -> None:
    header = fileformat.Header(fileformat.KIND_IDSET, "pdq", 0, 0, 8, 0, 0, -1)
    writer = fileformat.SegmentWriter(tmp_path / "x", header, [("ids", np.int64, (0,))])
    writer.replace("ids", np.zeros(3, dtype=np.int64))
    assert writer.size == 2 * HEADER_SIZE
    with pytest.raises(KeyError):
        writer.replace("other", np.zeros(1))
    writer.abort()
