"""Known-material matching: the vectorised matcher held against the entry-by-entry oracle."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import ValidationError
from safelight.network.known import (
    DigestListMatcher,
    FileDigests,
    ListEntry,
    NoKnownMaterial,
    file_columns,
    lookup_columns,
    lookup_reference,
)
from safelight.network.known_sources import (
    CombinedKnownMaterial,
    read_list_file,
    read_list_frame,
)

# Few distinct digests, so that files and entries collide often (the interesting cases).
DIGESTS = {
    "md5": ["0" * 32, "1" * 32, "a" * 32],
    "sha1": ["0" * 40, "b" * 40],
    "sha256": ["0" * 64, "c" * 64],
    "pdq": ["f" * 64, "0" * 7 + "f" * 57, "0" * 8 + "f" * 56, "0" * 64],
}

entry = st.sampled_from(sorted(DIGESTS)).flatmap(
    lambda algorithm: st.builds(
        ListEntry,
        st.sampled_from(["a", "b", "c"]),
        st.just(algorithm),
        st.sampled_from(DIGESTS[algorithm]),
        st.lists(st.sampled_from(["x", "y", "z"]), max_size=2).map(tuple),
    )
)


def _digest(algorithm: str) -> st.SearchStrategy[str]:
    return st.sampled_from(["", *DIGESTS[algorithm]])


file_digests = st.builds(
    FileDigests,
    st.sampled_from([f"k{i}" for i in range(8)]),
    _digest("md5"),
    _digest("sha1"),
    _digest("sha256"),
    _digest("pdq"),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(entry, max_size=12), st.lists(file_digests, max_size=10), st.booleans())
def test_matcher_agrees_with_reference(
    entries: list[ListEntry], files: list[FileDigests], distinct: bool
) -> None:
    if distinct:  # the pipeline's case: each file key once
        files = list({f.key: f for f in files}.values())
    matcher = DigestListMatcher(entries)
    assert matcher.lookup(files) == lookup_reference(entries, files)
    # A second lookup reuses memoised matches and must not change them.
    assert matcher.lookup(files) == lookup_reference(entries, files)


def test_list_file_reader_is_case_and_space_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(
        f"Hash,Algorithm,Labels\n {'A' * 32} ,,x;y\n{'b' * 40},SHA1,\n{'c' * 64},pdq,z\n"
    )
    frame = read_list_frame(path)
    assert frame["algorithm"].tolist() == ["md5", "sha1", "pdq"]
    assert frame["value"].tolist() == ["a" * 32, "b" * 40, "c" * 64]
    assert frame["list_name"].tolist() == ["list"] * 3
    entries = read_list_file(path, "mine")
    assert entries[0] == ListEntry("mine", "md5", "a" * 32, ("x", "y"))
    assert entries[1].labels == ()


def test_a_bare_64_hex_hash_in_a_list_file_must_be_declared(tmp_path: Path) -> None:
    """Network list files type values like every other front (issue 9): a 64-hex ``hash``
    is PDQ or SHA-256 and is refused undeclared; a ``digest`` column holds file digests."""
    untyped = tmp_path / "untyped.csv"
    untyped.write_text(f"hash,labels\n{'a' * 32},x\n{'c' * 64},y\n")
    with pytest.raises(ValidationError) as caught:
        read_list_frame(untyped)
    assert caught.value.problems == [
        (
            f"{untyped}:3",
            "a 64-character value could be pdq or sha256: add an algorithm column, "
            "or name the column by type",
        )
    ]
    digests = tmp_path / "digests.csv"
    digests.write_text(f"digest\n{'c' * 64}\n")
    assert read_list_frame(digests)["algorithm"].tolist() == ["sha256"]
    named = tmp_path / "named.csv"
    named.write_text(f"sha256\n{'c' * 64}\n")
    assert read_list_frame(named)["algorithm"].tolist() == ["sha256"]
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(f"hash,algorithm\n{'c' * 64},photodna\n")
    with pytest.raises(ValidationError, match="1 invalid list lines"):
        read_list_frame(unknown)


@settings(max_examples=50, deadline=None)
@given(st.lists(entry, max_size=8), st.lists(file_digests, max_size=8))
def test_column_lookup_is_the_same_question(
    entries: list[ListEntry], files: list[FileDigests]
) -> None:
    columns = file_columns(files)
    matcher = DigestListMatcher(entries)
    assert lookup_columns(matcher, columns) == lookup_reference(entries, files)
    assert lookup_columns(NoKnownMaterial(), columns) == {}


@settings(max_examples=50, deadline=None)
@given(st.lists(entry, max_size=8), st.lists(entry, max_size=8), st.lists(file_digests, max_size=8))
def test_combined_sources_answer_as_one_list(
    first: list[ListEntry], second: list[ListEntry], files: list[FileDigests]
) -> None:
    files = list({f.key: f for f in files}.values())
    combined = CombinedKnownMaterial([DigestListMatcher(first), DigestListMatcher(second)])
    expected = lookup_reference(first + second, files)
    assert combined.lookup(files) == expected
    assert lookup_columns(combined, file_columns(files)) == expected
