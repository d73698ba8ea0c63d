"""One read, three digests: against hashlib on each digest alone."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.constants import DIGEST_BLOCK_SIZE
from safelight.signals.digests import DIGEST_NAMES, digest_bytes, read_file


def oracle(data: bytes) -> dict[str, str]:
    return {name: hashlib.new(name, data).hexdigest() for name in DIGEST_NAMES}


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000))
def test_digests_equal_hashlib_one_at_a_time(data: bytes) -> None:
    assert digest_bytes(data) == oracle(data)


def test_file_read_in_memory_and_streamed_agree(tmp_path: Path) -> None:
    # Crosses block boundaries: 2.5 blocks of varied bytes.
    data = bytes(range(256)) * (DIGEST_BLOCK_SIZE * 5 // 2 // 256) + b"tail"
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    whole = read_file(str(path))
    streamed = read_file(str(path), in_memory_limit=1024)
    assert whole.data == data and streamed.data is None
    assert whole.digests == streamed.digests == oracle(data)
    assert whole.size == streamed.size == len(data)
    assert whole.head == streamed.head == data[:512]


def test_only_requested_digests(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    assert read_file(str(path), ["sha1"]).digests == {"sha1": hashlib.sha1(b"abc").hexdigest()}
    assert read_file(str(path), []).digests == {}
