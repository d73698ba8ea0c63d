"""Archive bombs are stopped while streaming: memory per member stays bounded.

Each bomb is hundreds of MiB of zeros, written compressed to disk without ever being held
whole (one compressed block of zeros, repeated as concatenated streams or frames, which every
format reads as one). A child process lists it and reports its own peak RSS against its
baseline after imports: a limit enforced only after a member was read whole would show the
member's size there (256 MiB), far over the bound.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import struct
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

BOMB_BYTES = 256 << 20  # what the bomb expands to
BLOCK_BYTES = 16 << 20  # zeros compressed at once
BOUND_BYTES = 64 << 20  # the documented bound on memory per member, above the baseline

Compress = Callable[[bytes], bytes]
COMPRESSORS: dict[str, Compress] = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "zst": zstandard.ZstdCompressor().compress,
}

CHILD = """
import json, resource, sys
from safelight.scan.archives import ArchiveLimits
from safelight.scan.sources import SourceWalker
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
codes = []
for item in SourceWalker(ArchiveLimits()).items([sys.argv[1]]):
    codes.append([item.logical_path, item.error.code if item.error else None])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"baseline": baseline * 1024, "peak": peak * 1024, "codes": codes}))
"""


def _write_zeros(out: Path, compress: Compress, head: bytes = b"", tail: bytes = b"") -> None:
    """``head``, ``BOMB_BYTES`` of zeros, then ``tail``, each piece its own stream or frame."""
    block = compress(bytes(BLOCK_BYTES))
    with open(out, "wb") as handle:
        if head:
            handle.write(compress(head))
        for _ in range(BOMB_BYTES // BLOCK_BYTES):
            handle.write(block)
        if tail:
            handle.write(compress(tail))


def _tar_head() -> bytes:
    info = tarfile.TarInfo("zeros.bin")
    info.size = BOMB_BYTES
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _listing(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
    )
    found: dict[str, object] = json.loads(done.stdout)
    return found


def _assert_bounded_and_caught(path: Path) -> list[list[object]]:
    found = _listing(path)
    grown = int(found["peak"]) - int(found["baseline"])  # type: ignore[call-overload]
    assert grown <= BOUND_BYTES, f"{path.name}: {grown >> 20} MiB above the baseline"
    codes: list[list[object]] = found["codes"]  # type: ignore[assignment]
    assert "archive_bomb" in [code for _, code in codes], codes
    return codes


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_single_compressed_bomb_is_stopped_while_streaming(tmp_path: Path, suffix: str) -> None:
    bomb = tmp_path / f"zeros.{suffix}"
    _write_zeros(bomb, COMPRESSORS[suffix])
    _assert_bounded_and_caught(bomb)


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_compressed_tar_bomb_is_stopped_while_streaming(tmp_path: Path, suffix: str) -> None:
    bomb = tmp_path / f"zeros.tar.{suffix}"
    _write_zeros(bomb, COMPRESSORS[suffix], head=_tar_head(), tail=bytes(1024))
    _assert_bounded_and_caught(bomb)


def test_zip_bombs_direct_and_nested_are_bounded(tmp_path: Path) -> None:
    inner = tmp_path / "inner.gz"
    _write_zeros(inner, gzip.compress)
    bomb = tmp_path / "bombs.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w") as member:  # streamed in, never held whole
            block = bytes(BLOCK_BYTES)
            for _ in range(BOMB_BYTES // BLOCK_BYTES):
                member.write(block)
        archive.write(inner, "inner.gz", compress_type=zipfile.ZIP_STORED)
    codes = dict(_assert_bounded_and_caught(bomb))  # type: ignore[arg-type]
    assert codes[f"{bomb}!/zeros.bin"] == "archive_bomb"
    assert codes[f"{bomb}!/inner.gz"] == "archive_bomb"


def _lying_zip(path: Path) -> None:
    """A deflated member of ``BOMB_BYTES`` zeros (about 1000:1) whose headers overstate its
    compressed size so that it reads as 85:1: zipfile inflates to the end of the deflate
    stream whatever size is declared."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.bin", "w") as member:
            block = bytes(BLOCK_BYTES)
            for _ in range(BOMB_BYTES // BLOCK_BYTES):
                member.write(block)
    raw = bytearray(path.read_bytes())
    overstated = BOMB_BYTES // 85
    struct.pack_into("<I", raw, raw.index(b"PK\x03\x04") + 18, overstated)
    struct.pack_into("<I", raw, raw.rindex(b"PK\x01\x02") + 20, overstated)
    path.write_bytes(bytes(raw))
    assert zipfile.ZipFile(path).infolist()[0].compress_size == overstated


def test_zip_with_lying_sizes_is_refused_before_reading(tmp_path: Path) -> None:
    liar = tmp_path / "liar.zip"
    _lying_zip(liar)
    codes = dict(_assert_bounded_and_caught(liar))  # type: ignore[arg-type]
    assert codes[f"{liar}!/zeros.bin"] == "archive_bomb"
    # Nested, the listing itself would read it: still refused, memory still bounded.
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(liar, "liar.zip")
    codes = dict(_assert_bounded_and_caught(outer))  # type: ignore[arg-type]
    assert codes[f"{outer}!/liar.zip!/zeros.bin"] == "archive_bomb"


def test_every_zstd_frame_is_read(tmp_path: Path) -> None:
    # zstd writes several frames for large inputs: content after the first must not hide.
    two = tmp_path / "two.zst"
    compress = zstandard.ZstdCompressor().compress
    two.write_bytes(compress(b"first frame, ") + compress(b"second frame"))
    from safelight.scan.archives import ArchiveLimits
    from safelight.scan.sources import SourceWalker

    member, archive = SourceWalker(ArchiveLimits()).items([str(two)])
    assert member.data == b"first frame, second frame" and archive.logical_path == str(two)
