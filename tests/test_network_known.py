"""Known material from list files: read as ``lists import`` reads them, searched through the
Matcher's index classes, and held against an entry-by-entry oracle."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import ValidationError
from safelight.network.known import (
    FileDigests,
    KnownMatch,
    NoKnownMaterial,
    file_columns,
    lookup_columns,
)
from safelight.network.known_sources import CombinedKnownMaterial
from safelight.network.list_files import (
    ListFileMaterial,
    read_list_entries,
    read_with_lists_readers,
)
from safelight.network.list_files_fast import fast_entries

# Few distinct digests, so that files and entries collide often (the interesting cases).
DIGESTS = {
    "md5": ["0" * 32, "1" * 32, "a" * 32],
    "sha1": ["0" * 40, "b" * 40],
    "sha256": ["0" * 64, "c" * 64],
    "pdq": ["f" * 64, "0" * 7 + "f" * 57, "0" * 8 + "f" * 56, "0" * 64],
}
Entry = tuple[str, str, str, tuple[str, ...]]  # list, algorithm, value, labels

entry = st.sampled_from(sorted(DIGESTS)).flatmap(
    lambda algorithm: st.tuples(
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


def lookup_reference(
    entries: Iterable[Entry], files: Sequence[FileDigests], pdq_threshold: int = 31
) -> dict[str, KnownMatch]:
    """The oracle: every file against every entry."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    entries = list(entries)
    for item in files:
        for list_name, algorithm, value, labels in entries:
            mine = getattr(item, algorithm)
            if not mine:
                continue
            if algorithm == "pdq":
                hit = bin(int(mine, 16) ^ int(value, 16)).count("1") <= pdq_threshold
            else:
                hit = mine == value
            if hit:
                lists, labs = found.setdefault(item.key, (set(), set()))
                lists.add(list_name)
                labs.update(labels)
    return {k: KnownMatch(tuple(sorted(a)), tuple(sorted(b))) for k, (a, b) in found.items()}


def write_lists(folder: Path, entries: Iterable[Entry]) -> list[Path]:
    """One CSV list file per list name, as a partner would send them."""
    rows: dict[str, list[str]] = {}
    for list_name, algorithm, value, labels in entries:
        rows.setdefault(list_name, []).append(f"{value},{algorithm},{'|'.join(labels)}\n")
    paths = []
    for list_name, lines in rows.items():
        path = folder / f"{list_name}.csv"
        path.write_text("hash,algorithm,labels\n" + "".join(lines))
        paths.append(path)
    return paths


@settings(max_examples=100, deadline=None)
@given(st.lists(entry, max_size=12), st.lists(file_digests, max_size=10))
def test_list_files_agree_with_the_reference(
    entries: list[Entry], files: list[FileDigests]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        material = ListFileMaterial(write_lists(Path(folder), entries))
        expected = lookup_reference(entries, files)
        assert material.lookup(files) == expected
        assert lookup_columns(material, file_columns(files)) == expected
        assert lookup_columns(NoKnownMaterial(), file_columns(files)) == {}


@settings(max_examples=50, deadline=None)
@given(st.lists(entry, max_size=8), st.lists(entry, max_size=8), st.lists(file_digests, max_size=8))
def test_combined_sources_answer_as_one_list(
    first: list[Entry], second: list[Entry], files: list[FileDigests]
) -> None:
    files = list({f.key: f for f in files}.values())
    second = [(f"{name}2", *rest) for name, *rest in second]  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        parts = [
            ListFileMaterial(write_lists(Path(one), first)),
            ListFileMaterial(write_lists(Path(two), second)),
        ]
        combined = CombinedKnownMaterial(parts)
        expected = lookup_reference(first + second, files)
        assert combined.lookup(files) == expected
        assert lookup_columns(combined, file_columns(files)) == expected


def test_list_files_are_read_as_lists_import_reads_them(tmp_path: Path) -> None:
    """Same columns, case rules, typing and label separator as ``lists import``."""
    path = tmp_path / "partner.csv"
    path.write_text(
        f"Hash,Algorithm,Labels\n {'A' * 32} ,,x|y\n{'b' * 40},SHA1,\n{'c' * 64},pdq,z\n"
    )
    assert read_list_entries(path) == [
        ("md5", "a" * 32, frozenset({"x", "y"})),
        ("sha1", "b" * 40, frozenset()),
        ("pdq", "c" * 64, frozenset({"z"})),
    ]
    found = ListFileMaterial([path]).lookup([FileDigests("f", md5="a" * 32)])
    assert found == {"f": KnownMatch(("partner",), ("x", "y"))}


def test_a_bare_64_hex_hash_in_a_list_file_must_be_declared(tmp_path: Path) -> None:
    """Network list files type values like every other front (issue 9): a 64-hex ``hash``
    is PDQ or SHA-256 and is refused undeclared; a ``digest`` column holds file digests."""
    untyped = tmp_path / "untyped.csv"
    untyped.write_text(f"hash,labels\n{'a' * 32},x\n{'c' * 64},y\n")
    with pytest.raises(ValidationError) as caught:
        ListFileMaterial([untyped])
    [(where, why)] = caught.value.problems
    assert where == f"{untyped}:3" and why.startswith("a 64-character value could be pdq or sha256")
    digests = tmp_path / "digests.csv"
    digests.write_text(f"digest\n{'c' * 64}\n")
    assert read_list_entries(digests) == [("sha256", "c" * 64, frozenset())]
    named = tmp_path / "named.csv"
    named.write_text(f"video_sha256\n{'c' * 64}\n")
    assert read_list_entries(named) == [("sha256", "c" * 64, frozenset())]
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(f"hash,algorithm\n{'c' * 64},photodna\n")
    with pytest.raises(ValidationError, match="1 invalid list lines"):
        read_list_entries(unknown)


VALUES = {
    "md5": st.text("0123456789abcdefABCDEF", min_size=32, max_size=32),
    "sha1": st.text("0123456789abcdef", min_size=40, max_size=40),
    "sha256": st.text("0123456789abcdef", min_size=64, max_size=64),
    "pdq": st.text("0123456789abcdef", min_size=64, max_size=64),
}
TYPE_CELLS = {
    "md5": ["md5", "MD5", " video_md5 ", ""],
    "sha1": ["sha1", "SHA1", ""],
    "sha256": ["sha256", "video_sha256", ""],
    "pdq": ["pdq", "PDQ", ""],
}


@st.composite
def list_csvs(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["hash,algorithm,label", "Hash,Type,Labels", "value,kind,tags"]))
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(sorted(VALUES)))
        value = draw(VALUES[kind])
        cell = draw(st.sampled_from(TYPE_CELLS[kind]))
        labels = draw(st.sampled_from(["", "a", "a|b", " x | y ", "=bad", "a||b"]))
        rows.append(f"{value},{cell},{labels}")
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join([header, *rows]) + end


@settings(max_examples=150, deadline=None)
@given(list_csvs())
def test_the_fast_list_file_path_reads_what_the_lists_readers_read(text: str) -> None:
    """The columnar fast path gives the lists readers' entries exactly, or declines."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partner.csv"
        path.write_bytes(text.encode())
        fast = fast_entries(path)
        try:
            slow = read_with_lists_readers(path)
        except ValidationError:
            assert fast is None  # the slow path names the problems; the fast one must decline
            return
        if fast is not None:
            assert fast == slow
