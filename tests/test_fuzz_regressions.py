"""Each crash the fuzzers found (fuzz/, docs/fuzzing.md), as a test of the fixed behaviour.

The reproducers themselves are kept as seeds (fuzz/seeds/<target>/crash-*) and replayed by
test_fuzz_seeds.py; these tests say what the right answer is.
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from safelight.errors import InputError
from safelight.lists.models import Problem, Record
from safelight.lists.readers import read_lines
from safelight.lists.records import ParseOptions
from safelight.network.geo import MmdbGeo
from safelight.network.mmdb import write_mmdb
from safelight.network.parse import _Reasons, ip_reference, parse_ips
from safelight.scan.archives import ArchiveLimits, ArchiveReader

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@pytest.mark.parametrize("blank", ["\x1e", "\u00a0", "\u2003 \x1c"])
def test_a_line_of_unicode_whitespace_is_named_not_a_crash(blank: str) -> None:
    # bytes.strip() keeps U+001E and U+00A0, str.split() drops them: the reader used to index
    # an empty list (IndexError) and the whole import died.
    data = f"{MD5}\n{blank}\n{MD5.upper()}\n".encode()
    items = list(read_lines(io.BytesIO(data), "l.txt", ParseOptions()))
    assert [type(item) for item in items] == [Record, Problem, Record]
    assert items[1] == Problem("l.txt:2", "no value: the line holds only whitespace")


def _corrupt_deflate(data: bytes) -> bytes:
    """gzip bytes whose first deflate block has the reserved block type 3."""
    broken = bytearray(data)
    broken[10] |= 0b110
    return bytes(broken)


def test_corrupt_gzip_data_is_a_failed_item() -> None:
    # zlib.error is not an OSError: it escaped the archive walk and ended the scan.
    data = _corrupt_deflate(gzip.compress(b"some text\n" * 10, mtime=0))
    items = list(ArchiveReader(ArchiveLimits()).expand("x.gz", "gzip", lambda: io.BytesIO(data)))
    assert [(item.logical_path, item.error and item.error.code) for item in items] == [
        ("x.gz", "corrupt_archive")
    ]


def test_a_zip_member_with_corrupt_deflate_data_fails_alone() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bad.txt", b"a" * 200)
        archive.writestr("good.txt", b"fine")
    data = bytearray(out.getvalue())
    start = 30 + len("bad.txt")  # the first member's data follows its local header
    data[start] = (data[start] & 0b001) | 0b110  # reserved deflate block type
    stream = bytes(data)
    items = list(ArchiveReader(ArchiveLimits()).expand("z.zip", "zip", lambda: io.BytesIO(stream)))
    codes = {item.logical_path: item.error.code if item.error else None for item in items}
    assert codes == {"z.zip!/bad.txt": "unreadable", "z.zip!/good.txt": None}


@pytest.mark.parametrize("text", ["fe80::1%eth0", "::ff%10\x00\x000.7", "[2001:db8::1%1]"])
def test_an_ipv6_zone_index_is_not_an_address(text: str) -> None:
    # ipaddress accepts any text after '%' (a zone index); the kernel does not, and the
    # canonical text carried the zone into geolocation, which read it as '::'.
    assert ip_reference(text) is None
    reasons = _Reasons(1)
    assert parse_ips(pa.array([text], pa.string()), reasons).to_pylist() == [""]
    assert reasons.bad[0]


def test_a_mmdb_that_opens_but_has_a_corrupt_tree_is_an_input_error(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "geo.mmdb", [("192.0.2.0/24", {"country": {"iso_code": "FR"}})])
    data = bytearray(path.read_bytes())
    data[0:6] = b"\xff" * 6  # the root node points far beyond the tree
    path.write_bytes(bytes(data))
    geo = MmdbGeo([path])  # the metadata is intact: it opens
    with pytest.raises(InputError, match="geo.mmdb: corrupt MaxMind DB file"):
        geo.lookup(["192.0.2.1"])


def test_a_zip_whose_headers_point_before_its_start_fails_per_member() -> None:
    # Six bytes erased from the first local header: the central directory now implies a
    # negative offset and zipfile raised ValueError ("negative seek value -6") from open().
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.txt", b"hello\n")
        archive.writestr("b.bin", bytes(range(64)))
    data = out.getvalue()
    data = data[:6] + data[12:]
    items = list(ArchiveReader(ArchiveLimits()).expand("z.zip", "zip", lambda: io.BytesIO(data)))
    first, second = items
    assert first.logical_path == "z.zip!/a.txt" and first.error is not None
    assert first.error.code == "unreadable" and "negative seek" in first.error.message
    assert (second.logical_path, second.data) == ("z.zip!/b.bin", bytes(range(64)))


def test_a_mmdb_with_corrupt_metadata_is_an_input_error(tmp_path: Path) -> None:
    # The reader opened it; decoding the metadata map then raised InvalidDatabaseError.
    path = write_mmdb(tmp_path / "geo.mmdb", [("192.0.2.0/24", {"country": {"iso_code": "FR"}})])
    data = path.read_bytes()
    assert data.count(b"languages\x01\x04Ben") == 1
    path.write_bytes(data.replace(b"languages\x01\x04Ben", b"languages\x01\x04B\x93n"))
    with pytest.raises(InputError, match="geo.mmdb: not a readable MaxMind DB file"):
        MmdbGeo([path])


def test_a_zip_member_with_an_empty_name_is_hashed_not_a_crash() -> None:
    # zipfile's ZipInfo.is_dir() indexes filename[-1]: IndexError on an empty name.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"data")
        archive.writestr("b.txt", b"fine")
    data = out.getvalue()
    items = list(ArchiveReader(ArchiveLimits()).expand("z.zip", "zip", lambda: io.BytesIO(data)))
    assert [(item.logical_path, item.data) for item in items] == [
        ("z.zip!/", b"data"),
        ("z.zip!/b.txt", b"fine"),
    ]


def test_a_mmdb_with_a_corrupt_string_is_an_input_error(tmp_path: Path) -> None:
    # The record's "FR" turned into invalid UTF-8: UnicodeDecodeError escaped lookup().
    path = write_mmdb(tmp_path / "geo.mmdb", [("192.0.2.0/24", {"country": {"iso_code": "FR"}})])
    data = path.read_bytes()
    assert data.count(b"BFR") == 1  # a 2-byte string (type 2, size 2), then its bytes
    path.write_bytes(data.replace(b"BFR", b"B\xe9R"))
    with pytest.raises(InputError, match="geo.mmdb: corrupt MaxMind DB file"):
        MmdbGeo([path]).lookup(["192.0.2.1"])


def test_a_zip_name_flagged_utf8_that_is_not_is_a_failed_archive() -> None:
    # zipfile decodes flagged names while reading the central directory: UnicodeDecodeError
    # escaped ZipFile() and ended the scan. The archive is now one failed item, named.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("caf\u00e9.txt", b"data")  # non-ASCII: zipfile sets the UTF-8 flag
    data = out.getvalue().replace("caf\u00e9".encode(), b"caf\xe9!")
    items = list(ArchiveReader(ArchiveLimits()).expand("z.zip", "zip", lambda: io.BytesIO(data)))
    assert [(item.logical_path, item.error and item.error.code) for item in items] == [
        ("z.zip", "corrupt_archive")
    ]


def test_a_zip_needing_an_unknown_version_is_a_failed_archive() -> None:
    # The central directory's "version needed to extract" set to 12.8: zipfile raised
    # NotImplementedError from ZipFile() and the scan ended.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", b"data")
    data = bytearray(out.getvalue())
    data[data.find(b"PK\x01\x02") + 6] = 128
    stream = bytes(data)
    items = list(ArchiveReader(ArchiveLimits()).expand("z.zip", "zip", lambda: io.BytesIO(stream)))
    assert [(item.logical_path, item.error and item.error.message) for item in items] == [
        ("z.zip", "z.zip: cannot read archive: zip file version 12.8")
    ]


def test_a_mmdb_whose_c_reader_warns_is_an_input_error() -> None:
    # Found by fuzz/mmdb.py: on this corrupt file maxminddb's C extension makes a string from
    # NULL data and warns (DeprecationWarning); raised inside the C call, that surfaced as
    # SystemError and ended the network analysis instead of naming the file.
    path = Path(__file__).parents[1] / "fuzz" / "seeds" / "mmdb" / "crash-a8da1771"
    geo = MmdbGeo([path])
    with pytest.raises(InputError, match="crash-a8da1771: corrupt MaxMind DB file"):
        geo.lookup(["192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1", "::1", "10.0.0.1"])


def test_a_hostile_mmdb_cannot_crash_the_process() -> None:
    # Found by fuzz/mmdb.py: maxminddb's C extension died of SIGSEGV on this file; a --geo
    # file is the user's, so untrusted. Run in a child: a crash must not take pytest down.
    path = Path(__file__).parents[1] / "fuzz" / "seeds" / "mmdb" / "crash-2e598b6c"
    code = (
        "import sys; from pathlib import Path\n"
        "from safelight.errors import InputError\n"
        "from safelight.network.geo import MmdbGeo\n"
        "try:\n"
        f"    MmdbGeo([Path({str(path)!r})]).lookup(['192.0.2.1', '2001:db8::1'])\n"
        "except InputError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "crash-2e598b6c: not a readable MaxMind DB file" in done.stdout


def test_a_mmdb_whose_build_epoch_is_no_date_is_an_input_error() -> None:
    # Found by fuzz/mmdb.py: a metadata build_epoch of 1.8e26 made datetime.fromtimestamp
    # raise OverflowError, which ended the network analysis instead of naming the file.
    path = Path(__file__).parents[1] / "fuzz" / "seeds" / "mmdb" / "crash-fea296b4"
    with pytest.raises(InputError, match=r"crash-fea296b4: .*build_epoch 1\.8\d*e\+26 is no date"):
        MmdbGeo([path])


@pytest.mark.parametrize("epoch", [2**62, 2**64 - 1])
def test_a_mmdb_dated_past_the_calendar_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch: int
) -> None:
    # A well-formed uint64 build_epoch beyond what a date can hold (the spec allows it).
    monkeypatch.setattr("safelight.network.mmdb.time.time", lambda: epoch)
    path = write_mmdb(tmp_path / "far.mmdb", [("192.0.2.0/24", {"country": {"iso_code": "NL"}})])
    with pytest.raises(InputError, match=rf"far\.mmdb: .*build_epoch {epoch} is no date"):
        MmdbGeo([path])


def test_a_mmdb_with_a_plain_build_epoch_gives_its_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("safelight.network.mmdb.time.time", lambda: 1_700_000_000)
    path = write_mmdb(tmp_path / "ok.mmdb", [("192.0.2.0/24", {"country": {"iso_code": "NL"}})])
    geo = MmdbGeo([path])
    assert geo.source.date == "2023-11-14"
    assert geo.lookup(["192.0.2.9"]).countries == ["NL"]


def _gif_growing_to(width: int, height: int) -> bytes:
    """Two 8x8 frames; the second's image descriptor then claims ``width`` x ``height``.
    Pillow grows the canvas to hold such a frame when it loads it."""
    import io
    import struct

    from PIL import Image

    frames = [Image.new("L", (8, 8), v) for v in (0, 255)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], optimize=False)
    data = out.getvalue()
    small = b"\x2c" + struct.pack("<HHHH", 0, 0, 8, 8)
    second = data.index(small, data.index(small) + 1)
    grown = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height)
    return data[:second] + grown + data[second + len(small) :]


GROWN_GIF_CHILD = """
import json, resource, sys
from pathlib import Path
from safelight.errors import MediaError
from safelight.signals.options import HashOptions
from safelight.signals.photo import hash_photo

options = HashOptions(max_pixels=1 << 20, all_frames=True)
warm = hash_photo(Path(sys.argv[1]).read_bytes(), "gif", "warm.gif", options)
assert len(warm.frames) == 2 and warm.frames_complete
grown_gif = Path(sys.argv[2]).read_bytes()
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    done = hash_photo(grown_gif, "gif", "grown.gif", options)
    answer = [len(done.frames), done.frames_complete]
except MediaError as exc:
    answer = str(exc)
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) * 1024
print(json.dumps({"grown": grown, "answer": answer}))
"""


def test_a_gif_frame_that_grows_the_canvas_counts_against_max_pixels(tmp_path: Path) -> None:
    # Found by fuzz/photo.py (as memory, not a crash: the run's peak RSS climbed to 3 GB): an
    # 8x12,040 GIF whose fourth frame grew the canvas to 1,699x30,860 made Pillow allocate
    # ~490 MB under a 1M-pixel limit, because frames were counted at the first frame's size.
    # Here a 9,000 x 9,000 frame (77 MiB as a palette canvas; under Pillow's own bomb limits)
    # must never be decoded.
    import json

    warm, grown = tmp_path / "warm.gif", tmp_path / "grown.gif"
    warm.write_bytes(_gif_growing_to(8, 8))
    grown.write_bytes(_gif_growing_to(9000, 9000))
    done = subprocess.run(
        [sys.executable, "-c", GROWN_GIF_CHILD, str(warm), str(grown)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["answer"] == [1, False]  # the first frame hashed, the set marked incomplete
    assert found["grown"] <= 16 << 20, f"{found['grown'] >> 20} MiB above the baseline"


def test_a_damaged_later_frame_cannot_hide_the_first() -> None:
    # With --all-frames, a later frame that Pillow cannot decode (here: its image descriptor
    # claims more pixels than Pillow's own bomb limit) ends the set; the first frame's PDQ,
    # the one a list of known images matches, is still given.
    import struct

    from safelight.signals.options import HashOptions
    from safelight.signals.photo import hash_photo

    plain = _gif_growing_to(8, 8)
    descriptor = b"\x2c" + struct.pack("<HHHH", 0, 0, 8, 8)
    first_only = plain[: plain.index(descriptor, plain.index(descriptor) + 1)] + b";"
    alone = hash_photo(first_only, "gif", "one.gif", HashOptions())
    done = hash_photo(
        _gif_growing_to(60000, 60000), "gif", "hostile.gif", HashOptions(all_frames=True)
    )
    assert done.pdq == alone.pdq
    assert done.frames is not None and [f.frame for f in done.frames] == [0]
    assert not done.frames_complete
