"""DigestIndex: exact MD5/SHA-1/SHA-256 lookup against the dict oracle, with updates."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.errors import ConflictError, InputError, UsageError
from safelight.index import DigestIndex, hex_to_array, oracle, synthetic

WIDTHS = {"md5": 16, "sha1": 20, "sha256": 32}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 500),
    kind=st.sampled_from(sorted(WIDTHS)),
)
def test_lookup_equals_oracle(
    tmp_path_factory: pytest.TempPathFactory, seed: int, n: int, kind: str
) -> None:
    rng = np.random.default_rng(seed)
    width = WIDTHS[kind]
    distinct = synthetic.uniform_hashes(rng, max(1, n // 2), width)
    distinct[: len(distinct) // 3, :9] = 0  # one prefix bucket, equal first 8-byte words
    keys = distinct[rng.integers(0, len(distinct), n)]  # same digest in several entries
    ids = rng.permutation(n).astype(np.int64) * 7 + 3
    index = DigestIndex.build(tmp_path_factory.mktemp("dg"), ids, keys, signal_type=kind)
    queries = np.concatenate([distinct, synthetic.uniform_hashes(rng, 3, width)])
    expected = oracle.digest_lookup(ids, keys, queries)
    assert index.lookup(queries).to_lists() == expected
    extra = synthetic.uniform_hashes(rng, 5, width)
    index.add(np.arange(5) + 10**9, np.concatenate([extra[:4], distinct[:1]]))
    all_ids = np.concatenate([ids, np.arange(5) + 10**9])
    all_keys = np.concatenate([keys, extra[:4], distinct[:1]])
    assert index.search(queries).to_lists() == oracle.digest_lookup(all_ids, all_keys, queries)
    if n:
        index.disable(ids[:1])
        got = index.lookup(keys[:1])[0]
        assert int(ids[0]) not in [i for i, _ in got]
        index.remove(ids[1:2])
        index.compact()
        visible = np.isin(all_ids, ids[:2], invert=True)
        assert index.lookup(queries).to_lists() == oracle.digest_lookup(
            all_ids[visible], all_keys[visible], queries
        )


def test_real_digests_and_hex_queries(tmp_path: Path) -> None:
    blobs = [f"benign test blob {i}".encode() for i in range(100)]
    hexes = [hashlib.sha1(b).hexdigest() for b in blobs]
    index = DigestIndex.build(tmp_path, np.arange(100), hexes, signal_type="sha1")
    assert index.lookup([hexes[42], hexes[42].upper(), "00" * 20]).to_lists() == [
        [(42, 0)],
        [(42, 0)],
        [],
    ]
    reopened = DigestIndex.open(tmp_path, verify=True)
    assert len(reopened) == 100 and reopened.signal_type == "sha1"
    assert reopened.lookup(hex_to_array(hexes[:3], 20)).to_lists() == [[(0, 0)], [(1, 0)], [(2, 0)]]


def test_digest_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="signal_type: expected one of md5, sha1, sha256"):
        DigestIndex.build(tmp_path / "a", [1], ["00" * 16], signal_type="crc")
    with pytest.raises(UsageError, match="signal_type"):
        DigestIndex.build_from(tmp_path / "a", [], signal_type="pdq")
    index = DigestIndex.build(tmp_path, [1], ["00" * 16], signal_type="md5")
    with pytest.raises(InputError, match="expected 32 hex characters"):
        index.lookup(["00" * 20])
    with pytest.raises(ConflictError, match="already in the index: 1"):
        index.add([1], ["11" * 16])
    index2, problems = DigestIndex.build_from(
        tmp_path / "b", [(1, "aa" * 16), (2, "zz" * 16), (3, b"\x00" * 16)], signal_type="md5"
    )
    assert len(index2) == 2 and problems[0][0] == "entry id 2"
    assert index2.lookup(["00" * 16]).to_lists() == [[(3, 0)]]
