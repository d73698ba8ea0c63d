"""Readers and writers of the hash-list file formats, without a database."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.errors import UsageError
from safelight.lists import projectvic
from safelight.lists.formats import detect_format, read_records, write_entries
from safelight.lists.models import Entry, Problem, Record
from safelight.lists.records import HashingReader, ParseOptions, make_record, parse_column_map

from .conftest import conformance_dir

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "749476eb0cd128289f0dec3e062da83c"
SHA1 = "2b037f69c566dfdb3a5a79e5360d085959bdde4c"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def read(
    fmt: str,
    content: str | bytes,
    options: ParseOptions | None = None,
    skip_invalid: bool = False,
) -> list[Record | Problem]:
    data = content.encode() if isinstance(content, str) else content
    source = HashingReader(io.BytesIO(data))
    return list(read_records(fmt, source, "f", options or ParseOptions(), skip_invalid))


def problems(items: list[Record | Problem]) -> list[tuple[str, str]]:
    return [(p.location, p.reason) for p in items if isinstance(p, Problem)]


def records(items: list[Record | Problem]) -> list[Record]:
    return [r for r in items if isinstance(r, Record)]


# --- plain lines ---------------------------------------------------------------------------


def test_lines_accept_bare_and_typed_hex_comments_and_blank_lines() -> None:
    items = read(
        "lines",
        f"\ufeff# a comment\n\npdq {PDQ}\r\nmd5 {MD5.upper()}\nvideo_md5\t{MD5}\n"
        f"sha256 {SHA256}\n{SHA1}",
    )
    assert problems(items) == []
    assert [(r.signal_type, r.value) for r in records(items)] == [
        ("pdq", PDQ),
        ("md5", MD5),
        ("md5", MD5),
        ("sha256", SHA256),
        ("sha1", SHA1),
    ]


def test_a_bare_64_hex_line_is_pdq_or_sha256_and_must_be_declared() -> None:
    """The defect of issue 9: a file of SHA-256 digests was stored as PDQ, silently."""
    items = read("lines", f"{MD5}\n{SHA256}\n")
    assert records(items)[0].signal_type == "md5"
    (problem,) = [p for p in items if isinstance(p, Problem)]
    assert problem.location == "f:2" and problem.code == "untyped_value"
    assert "could be pdq or sha256" in problem.reason
    typed = read("lines", f"{SHA256}\n", ParseOptions(default_type="sha256"))
    assert [(r.signal_type, r.value) for r in records(typed)] == [("sha256", SHA256)]


def test_type_option_types_bare_values_only() -> None:
    items = read("lines", f"{SHA256}\nmd5 {MD5}\n", ParseOptions(default_type="sha256"))
    assert [(r.signal_type, r.value) for r in records(items)] == [("sha256", SHA256), ("md5", MD5)]


def test_every_bad_line_is_reported_with_its_number_and_reason() -> None:
    content = (
        (
            f"pdq {PDQ}\n"
            f"{PDQ[:-1]}\n"  # 2: 63 chars
            f"md5 {MD5[:-1]}x\n"  # 3: non-hex
            f"photodna {MD5}\n"  # 4: unknown type
            "\n"
            f"pdq {PDQ}0\n"  # 6: too long
        ).encode()
        + b"md5 \xff\xfe\n"
    )  # 7: not UTF-8
    items = read("lines", content)
    assert len(records(items)) == 1
    assert problems(items) == [
        (
            "f:2",
            "cannot tell the signal type of a 63-character value "
            "(32 = md5, 40 = sha1, 64 = pdq/sha256)",
        ),
        ("f:3", "md5 value is not hex: 'x' at character 32"),
        ("f:4", "unknown signal type 'photodna' (known: pdq, md5, sha1, sha256, vpdq)"),
        ("f:6", "pdq value must be 64 hex characters, got 65"),
        ("f:7", "not valid UTF-8 text"),
    ]


HEXISH = st.text(alphabet="0123456789abcdefABCDEFxyz -", min_size=0, max_size=70)
LINE = st.one_of(
    HEXISH,
    st.tuples(
        st.sampled_from(["pdq", "md5", "sha1", "sha256", "video_md5", "PDQ", "vpdq", "nope"]),
        HEXISH,
    ).map(" ".join),
    st.sampled_from([PDQ, MD5.upper(), SHA1, f"pdq {PDQ.upper()}", f"md5 {MD5}", "# c", ""]),
)


def oracle_lines(lines: list[str], options: ParseOptions) -> list[Record | Problem]:
    """The obvious reading: every non-comment line through make_record."""
    found: list[Record | Problem] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split(None, 1)
        try:
            if len(fields) == 1:
                found.append(make_record(options, fields[0]))
            else:
                found.append(make_record(options, fields[1], signal_type=fields[0]))
        except ValueError as exc:
            found.append(Problem.of(f"f:{number}", exc))
    return found


@settings(max_examples=300)
@given(
    st.lists(LINE, max_size=12),
    st.sampled_from([None, "pdq", "sha256"]),
    st.sampled_from([frozenset(), frozenset({"x"})]),
)
def test_fast_path_of_plain_lines_agrees_with_the_oracle(
    lines: list[str], default_type: str | None, labels: frozenset[str]
) -> None:
    options = ParseOptions(default_type=default_type, extra_labels=labels)
    assert read("lines", "\n".join(lines), options) == oracle_lines(lines, options)


# --- CSV / TSV -----------------------------------------------------------------------------


def test_csv_uses_usual_column_names_and_merges_label_cells() -> None:
    items = read(
        "csv",
        "Hash,Type,Labels,Note,disabled_until\n"
        f'{MD5},md5,"cat A|INTERPOL baseline","seen, twice",2030-01-01T00:00:00\n'
        f"{PDQ},pdq,,,\n"
        f"{SHA1},,,,\n",
    )
    assert problems(items) == []
    first, second, third = records(items)
    assert third.signal_type == "sha1"  # an empty type cell: typed by its length
    assert first.labels == {"cat A", "INTERPOL baseline"}
    assert first.note == "seen, twice"
    assert first.disabled_until == datetime(2030, 1, 1, tzinfo=UTC)
    assert (second.signal_type, second.labels, second.note) == ("pdq", frozenset(), None)


def test_csv_column_mapping_with_several_label_columns() -> None:
    options = ParseOptions(
        column_map=parse_column_map(["value=digest,type=kind", "labels=category,labels=series"])
    )
    items = read("csv", f"kind,digest,category,series\nsha1,{SHA1},B,S-9\n", options)
    assert records(items) == [Record("sha1", SHA1, SHA1, frozenset({"B", "S-9"}))]


def test_csv_problems_name_line_and_reason() -> None:
    items = read(
        "csv",
        "value,type,note\n"
        f'{MD5},md5,"a note\nover two lines"\n'  # lines 2-3, fine
        f"{MD5},md5\n"  # 4: two fields
        f"{MD5[:5]},md5,x\n"  # 5: too short
        f'{MD5},md5,"bad"quote\n'  # 6: strict CSV error
        f"{SHA1},sha1,ok\n",  # 7
    )
    assert [r.value for r in records(items)] == [MD5, SHA1]
    assert records(items)[0].note == "a note\nover two lines"
    assert problems(items) == [
        ("f:4", "has 2 fields, the header has 3"),
        ("f:5", "md5 value must be 32 hex characters, got 5"),
        ("f:6", "bad CSV: ',' expected after '\"'"),
    ]


def test_csv_unterminated_quote_names_its_line_and_keeps_the_rows_after_it() -> None:
    items = read(
        "csv",
        "value,type,note\n"
        f"{MD5},md5,a\n"
        f"{SHA1},sha1,b\n"
        f'{MD5},md5,"never closed\n'  # 4: its quote would eat every line after it
        f"{SHA256},sha256,d\n"
        f"{PDQ},pdq,e\n",
    )
    assert [r.value for r in records(items)] == [MD5, SHA1, SHA256, PDQ]
    [(location, reason)] = problems(items)
    assert location == "f:4"
    assert reason.startswith("bad CSV: ")


def test_csv_quote_closed_lines_later_gives_back_the_lines_it_ate() -> None:
    # The quote opened on line 3 is closed on line 5: one CSV row of the wrong width that
    # swallowed line 4; lines 4 and 5 are read again, each on its own.
    items = read(
        "csv",
        "value,type\n"
        f"{MD5},md5\n"
        f'{SHA1},"sha1\n'  # 3
        f"{SHA256},sha256\n"  # 4
        f'{PDQ},pdq"\n'  # 5: its quote closes line 3's, and is bad on its own
        f"{MD5},md5\n",  # 6
    )
    assert [r.value for r in records(items)] == [MD5, SHA256, MD5]
    assert [location for location, _ in problems(items)] == ["f:3", "f:5"]


def test_csv_unterminated_quote_at_the_end_of_file() -> None:
    items = read("csv", f'value\n{MD5}\n"{SHA1}')
    assert [r.value for r in records(items)] == [MD5]
    assert problems(items) == [("f:3", "bad CSV: unexpected end of data")]


def test_csv_quoted_field_over_a_line_that_is_not_utf8() -> None:
    content = f'value,note\n{MD5},"open\n'.encode() + b"\xff\n" + f'{SHA1},x"\n{MD5},y\n'.encode()
    items = read("csv", content)
    assert [r.value for r in records(items)] == [SHA1, MD5]  # line 4 alone is valid
    assert [location for location, _ in problems(items)] == ["f:2", "f:3"]
    assert problems(items)[0][1].startswith("its quoted field runs over line 3, not valid UTF-8")
    assert problems(items)[1][1] == "not valid UTF-8 text"


@st.composite
def csv_with_one_bad_line(draw: st.DrawFn) -> tuple[str, list[str], int]:
    """A list CSV of valid one-line rows (notes with quotes, commas, blanks) and the number
    of one line whose quote never closes on that line."""
    digests = draw(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=25))
    values = [hashlib.md5(d).hexdigest() for d in digests]
    notes = st.text(alphabet='ab ,"|x', max_size=8)
    lines = ["value,type,note"]
    for value in values:
        note = draw(notes)
        quoted = '"' + note.replace('"', '""') + '"'
        must_quote = '"' in note or "," in note
        lines.append(f"{value},md5,{quoted if must_quote or draw(st.booleans()) else note}")
    bad_index = draw(st.integers(1, len(values)))
    fields = lines[bad_index].split(",", 2)
    field = draw(st.integers(0, 2))
    fields[field] = '"' + fields[field].replace('"', "")
    lines[bad_index] = ",".join(fields)
    del values[bad_index - 1]
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending])), values, bad_index + 1


@settings(max_examples=300)
@given(csv_with_one_bad_line())
def test_csv_one_corrupted_line_loses_no_other_row(case: tuple[str, list[str], int]) -> None:
    content, values, bad_line = case
    items = read("csv", content)
    assert [r.value for r in records(items)] == values
    assert [location for location, _ in problems(items)] == [f"f:{bad_line}"]


def test_csv_without_a_value_column_fails_at_the_header() -> None:
    assert problems(read("csv", "a,b\n1,2\n")) == [
        ("f:1", "no value column: map one (value=COLUMN) (the header has: a, b)")
    ]
    options = ParseOptions(column_map={"value": ("digest",)})
    assert problems(read("csv", "a,b\n", options)) == [
        ("f:1", "value is mapped to column 'digest', which does not exist (the header has: a, b)")
    ]
    assert problems(read("csv", "")) == [("f:1", "empty file: expected a header row")]


def test_csv_line_that_is_not_utf8_is_reported() -> None:
    items = read("csv", b"value\n" + MD5.encode() + b"\n\xff\xff\n" + SHA1.encode() + b"\n")
    assert [r.value for r in records(items)] == [MD5, SHA1]
    assert problems(items) == [("f:3", "not valid UTF-8 text")]


def test_tsv_reads_tabs() -> None:
    items = read("tsv", f"type\tvalue\tlabels\nmd5\t{MD5}\ta|b\n")
    assert records(items) == [Record("md5", MD5, MD5, frozenset({"a", "b"}))]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("value", "expected FIELD=COLUMN"),
        ("colour=x", "field must be one of value, type, labels, note, disabled_until"),
        ("value=a,value=b", "'value' is mapped twice"),
    ],
)
def test_bad_column_maps_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_column_map([spec])
    assert caught.value.field == "column_map"  # the library names its parameter, not a flag


# --- JSON lines ----------------------------------------------------------------------------


def test_jsonl_records_and_problems() -> None:
    items = read(
        "jsonl",
        "\n".join(
            [
                json.dumps({"type": "md5", "value": MD5, "labels": ["a", "b"], "note": "n"}),
                json.dumps({"signal_type": "pdq", "hash": PDQ, "labels": "c|d"}),
                '{"type": "md5", "value": ',
                "[1, 2]",
                json.dumps({"type": "md5", "value": 5}),
                json.dumps({"type": "md5"}),
                json.dumps({"value": MD5, "labels": [1]}),
                json.dumps({"value": MD5, "disabled_until": "tomorrow"}),
                "",
            ]
        ),
    )
    assert [(r.signal_type, r.labels) for r in records(items)] == [
        ("md5", {"a", "b"}),
        ("pdq", {"c", "d"}),
    ]
    assert problems(items) == [
        ("f:3", "bad JSON: Expecting value at column 25"),
        ("f:4", "expected a JSON object, got list"),
        ("f:5", "value must be a string, got int"),
        ("f:6", "no value: expected one of the keys value, hash, signal, signal_value"),
        ("f:7", "labels must be a list of strings or a '|'-separated string"),
        ("f:8", "disabled_until 'tomorrow' is not an ISO-8601 timestamp"),
    ]


# --- vPDQ hash files -----------------------------------------------------------------------


def test_vpdq_file_is_one_entry_of_all_its_frames() -> None:
    folder = conformance_dir("vpdq", "sample-hashes")
    path = folder / "doorknob-hd-no-bar.txt"
    lines = path.read_text().splitlines()
    items = read("vpdq", path.read_bytes(), ParseOptions(extra_labels=frozenset({"demo"})))
    assert problems(items) == []
    (record,) = records(items)
    features = json.loads(record.value)
    assert len(features) == len(lines)
    frame, quality, pdq_hex, timestamp = lines[0].split(",")
    assert features[0] == f"{pdq_hex},{int(quality)},{float(timestamp):.3f}"
    assert record.key == hashlib.sha256(record.value.encode()).hexdigest()
    assert record.labels == {"demo"}


def test_bad_vpdq_frame_lines_stop_the_video_unless_skipped() -> None:
    content = f"0,100,{PDQ},0.000\n1,100,{PDQ[:10]},0.033\n2,100\n3,100,{PDQ},0.100\n"
    strict = read("vpdq", content)
    assert records(strict) == []
    assert problems(strict) == [
        ("f:2", "pdq value must be 64 hex characters, got 10"),
        ("f:3", "expected frame,quality,pdq_hex,timestamp, got 2 fields"),
    ]
    lenient = read("vpdq", content, skip_invalid=True)
    (record,) = records(lenient)
    assert json.loads(record.value) == [f"{PDQ},100,0.000", f"{PDQ},100,0.100"]
    assert problems(read("vpdq", "")) == [
        ("f:1", "no frame hashes: a vPDQ file needs at least one line")
    ]
    assert problems(read("vpdq", f"x,100,{PDQ},0\n"))[0][1].startswith("frame number 'x'")


# --- Project VIC / VICS --------------------------------------------------------------------


def vics(items: list[dict[str, object]], key: str = "@odata.context") -> str:
    return json.dumps({key: projectvic.VICS_CONTEXT, "value": items}, indent=1)


def test_projectvic_media_become_one_entry_per_hash_with_labels() -> None:
    items = read(
        "projectvic",
        vics(
            [
                {
                    "MediaID": 7,
                    "Category": 1,
                    "MD5": MD5.upper(),
                    "SHA1": SHA1.upper(),
                    "Series": "S1",
                    "Tags": "a, b|c",
                    "VictimIdentified": "true",
                    "OffenderIdentified": False,
                    "IsDistributed": True,
                    "Comments": "note here",
                    "PhotoDNA": "ignored",
                },
                {
                    "MediaID": 8,
                    "Category": None,
                    "AlternativeHashes": [
                        {"HashName": "SHA-256", "HashValue": SHA256},
                        {"HashName": "PhotoDNA", "HashValue": "x"},
                    ],
                },
            ]
        ),
    )
    assert problems(items) == []
    md5, sha1, sha256 = records(items)
    assert (md5.signal_type, md5.value, sha1.signal_type, sha1.value) == ("md5", MD5, "sha1", SHA1)
    assert (
        md5.labels
        == sha1.labels
        == {
            "vics:category:1",
            "vics:media-id:7",
            "vics:series:S1",
            "vics:tag:a",
            "vics:tag:b",
            "vics:tag:c",
            "vics:victim-identified",
            "vics:distributed",
        }
    )
    assert md5.note == "note here"
    assert (sha256.signal_type, sha256.labels) == ("sha256", {"vics:media-id:8"})


def test_projectvic_1x_case_wrapper_is_read() -> None:
    content = json.dumps(
        {
            "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
            "value": [{"CaseNumber": "x", "Media": [{"MD5": MD5, "Category": "2"}]}],
        }
    )
    (record,) = read("projectvic", content)
    assert isinstance(record, Record)
    assert record.labels == {"vics:category:2"}


def test_projectvic_problems_name_the_item_and_line() -> None:
    content = vics([{"MD5": MD5}, {"PhotoDNA": "x"}, {"MD5": MD5, "Category": "A"}, 5])
    items = read("projectvic", content)
    assert len(records(items)) == 1
    assert problems(items) == [
        ("f:7 (value[1])", "no MD5, SHA1 or SHA256 (PhotoDNA is not stored)"),
        ("f:10 (value[2])", "Category 'A' is not a non-negative integer"),
        ("f:14 (value[3])", "a media item must be a JSON object, got int"),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1]", ("f:1", "expected a JSON object (a Project VIC / VICS media list), found '['")),
        ('{"a": 1}', ("f:1", 'no "value" array: not a Project VIC / VICS media list')),
        ('{"value": [{"MD5": "' + MD5 + '"},\n {"MD5": }]}', ("f:2", "bad JSON: Expecting value")),
        ('{"value": [] } x', ("f:1", "unexpected data after the top-level object")),
        ('{"value": [] ', ("f:1", "expected ',' or '}', found the end of the file")),
        ('{"value": {}}', ("f:1", "expected '[' starting the value array, found '{'")),
    ],
)
def test_broken_projectvic_json_is_one_problem_with_a_line(
    content: str, expected: tuple[str, str]
) -> None:
    found = problems(read("projectvic", content))
    assert len(found) == 1
    assert found[0][0] == expected[0]
    assert found[0][1].startswith(expected[1])


def test_projectvic_reads_the_same_across_any_chunk_boundary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    media = [
        {"MediaID": i, "MD5": f"{i:032x}", "Series": 'é ✓ ]}",', "Category": i % 3}
        for i in range(40)
    ]
    content = vics(media) + "\n"
    whole = read("projectvic", content)
    for chunk in (1, 2, 7, 64):
        monkeypatch.setattr(projectvic, "_CHUNK", chunk)
        assert read("projectvic", content) == whole
    assert len(records(whole)) == 40 and problems(whole) == []


def test_an_oversized_projectvic_item_is_a_clear_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projectvic, "_MAX_ITEM_CHARS", 100)
    monkeypatch.setattr(projectvic, "_CHUNK", 16)
    content = vics([{"MD5": MD5}, {"MD5": MD5, "Comments": "x" * 300}])
    items = read("projectvic", content)
    assert len(records(items)) == 1
    ((location, reason),) = problems(items)
    assert location == "f:7"  # where the second item starts
    assert reason.startswith("one JSON value here is larger than 0 M characters")


def test_empty_projectvic_value_array_is_fine() -> None:
    assert read("projectvic", vics([])) == []
    assert read("projectvic", "{}") == [
        Problem("f:1", 'no "value" array: not a Project VIC / VICS media list')
    ]
    bad = problems(read("projectvic", b'{"value": ["\xff"]}'))
    assert bad[0][1].startswith("not valid UTF-8 text")


# --- writers and round trips ---------------------------------------------------------------

# Characters that stress CSV/TSV/JSON quoting, plus non-ASCII.
TRICKY = list("abcXYZ 09:é✓,;\"'\t\n\\=+-@")
LABEL = (
    st.text(alphabet=[c for c in TRICKY if c not in "\t\n"], min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
NOTE = st.text(alphabet=TRICKY, min_size=1, max_size=20).map(str.strip).filter(bool)


@st.composite
def entries(draw: st.DrawFn) -> list[Entry]:
    found = []
    seen = set()
    for number in range(draw(st.integers(min_value=0, max_value=6))):
        kind = draw(st.sampled_from(["pdq", "md5", "sha1", "sha256", "vpdq"]))
        if kind == "vpdq":
            value = json.dumps([f"{PDQ},{number},1.000"], separators=(",", ":"))
        else:
            size = {"pdq": 64, "md5": 32, "sha1": 40, "sha256": 64}[kind]
            value = draw(st.binary(min_size=size // 2, max_size=size // 2)).hex()
        if (kind, value) in seen:
            continue
        seen.add((kind, value))
        note = draw(st.one_of(st.none(), NOTE))
        when = draw(st.one_of(st.none(), st.just(datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))))
        labels = frozenset(draw(st.lists(LABEL, max_size=3)))
        found.append(Entry(number + 1, "L", kind, value, labels, note, when, None))
    return found


def as_records(items: list[Entry]) -> list[tuple[object, ...]]:
    return [(e.signal_type, e.value, e.labels, e.note, e.disabled_until) for e in items]


@settings(max_examples=60)
@given(entries(), st.sampled_from(["csv", "tsv", "jsonl"]))
def test_export_then_import_gives_the_same_records(items: list[Entry], fmt: str) -> None:
    out = io.StringIO()
    assert write_entries(fmt, items, out) == (len(items), 0)
    back = read(fmt, out.getvalue())
    assert problems(back) == []
    assert [
        (r.signal_type, r.value, r.labels, r.note, r.disabled_until) for r in records(back)
    ] == (as_records(items))


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_export_guards_formula_cells_and_import_reads_them_back(fmt: str) -> None:
    items = [Entry(1, "L", "md5", MD5, frozenset({"=1+2"}), "@SUM(A1)", None, None)]
    out = io.StringIO()
    write_entries(fmt, items, out)
    row = out.getvalue().splitlines()[1]
    assert "\t'=1+2" in row if fmt == "tsv" else ",'=1+2" in row
    assert row.split("," if fmt == "csv" else "\t")[4] == "'@SUM(A1)"
    [back] = records(read(fmt, out.getvalue()))
    assert (back.labels, back.note) == ({"=1+2"}, "@SUM(A1)")


def test_lines_export_is_typed_and_reads_back() -> None:
    items = [Entry(1, "L", "sha256", SHA256, frozenset(), None, None, None)]
    out = io.StringIO()
    write_entries("lines", items, out)
    assert out.getvalue() == f"sha256 {SHA256}\n"
    assert [(r.signal_type, r.value) for r in records(read("lines", out.getvalue()))] == [
        ("sha256", SHA256)
    ]


def test_projectvic_export_regroups_media_and_reads_back() -> None:
    labels = frozenset(
        {
            "vics:media-id:7",
            "vics:category:1",
            "vics:series:S",
            "vics:tag:t",
            "vics:victim-identified",
            "national:A",
        }
    )
    items = [
        Entry(1, "L", "md5", MD5, labels, "n", None, None),
        Entry(2, "L", "sha1", SHA1, labels, None, None, None),
        Entry(3, "L", "pdq", PDQ, frozenset(), None, None, None),
        Entry(4, "L", "md5", "0" * 32, frozenset(), None, None, None),
    ]
    out = io.StringIO()
    assert write_entries("projectvic", items, out) == (3, 1)
    document = json.loads(out.getvalue())
    assert document["@odata.context"] == projectvic.VICS_CONTEXT
    first, second = document["value"]
    assert first == {
        "MediaID": 7,
        "Category": 1,
        "Series": "S",
        "Tags": "national:A, t",
        "VictimIdentified": "true",
        "MD5": MD5.upper(),
        "SHA1": SHA1.upper(),
        "Comments": "n",
    }
    assert second == {"MediaID": 4, "Category": None, "MD5": "0" * 32}
    back = records(read("projectvic", out.getvalue()))
    assert [(r.signal_type, r.value) for r in back] == [
        ("md5", MD5),
        ("sha1", SHA1),
        ("md5", "0" * 32),
    ]
    assert "vics:tag:national:A" in back[0].labels


def test_unknown_formats_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        detect_format("a.xml", "xml")
    with pytest.raises(UsageError, match="unknown export format 'vpdq'"):
        write_entries("vpdq", [], io.StringIO())
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        read_records("xml", HashingReader(io.BytesIO(b"")), "f", ParseOptions(), False)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", "csv"),
        ("a.TSV", "tsv"),
        ("a.ndjson", "jsonl"),
        ("vic.json", "projectvic"),
        ("v.vpdq", "vpdq"),
        ("hashes.txt", "lines"),
        ("-", "lines"),
    ],
)
def test_format_follows_the_extension(name: str, fmt: str) -> None:
    assert detect_format(name, None) == fmt


def test_hashing_reader_digests_the_whole_input_even_if_parsing_stops(tmp_path: Path) -> None:
    data = b"[1]" + b"x" * 3_000_000
    source = HashingReader(io.BytesIO(data))
    assert len(read_records("projectvic", source, "f", ParseOptions(), False).__next__().reason) > 0
    assert source.hexdigest() == hashlib.sha256(data).hexdigest()
