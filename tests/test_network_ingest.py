from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.cli import main
from safelight.errors import InputError, NotFoundError, UsageError, ValidationError
from safelight.lists.store import HashListStore
from safelight.network.columns import ColumnMapping
from safelight.network.known import FileDigests, KnownMatch
from safelight.network.list_files import ListFileMaterial, read_list_entries
from safelight.network.pipeline import case_known, ingest
from safelight.network.readers import NeedsLineScan, iter_batches, scan_csv_lines
from safelight.network.sightings import get_case, part_paths, read_part, registered
from safelight.store import Database

SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

GOOD_AND_BAD = f"""time,ip,port,guid,software,hash,filename,size
2024-01-01T10:00:00Z,192.0.2.1,6881,abc,uTorrent,{MD5},a.jpg,100
2024-01-01 12:00:00+02:00,::ffff:198.51.100.7,,abc,,{SHA1},,
2024-01-01T10:00:00,192.0.2.300,99999,,,zz,,-1
1704103200,2001:db8::1,1,,,{SHA256},,
bad,row
2024-02-30T10:00:00Z,2001:db8::1,1,,,{SHA256},,
yesterday,192.0.2.9,1,,,{SHA256},,
2024-01-02T10:00:00Z,192.0.2.9,1,,,,,
"""


def _load(db: Database, case: str, home: Path) -> pd.DataFrame:
    paths = part_paths(db, get_case(db, case, home))
    return pd.concat([read_part(p).to_pandas() for p in paths], ignore_index=True)


def test_bad_rows_are_named_by_line_and_good_rows_kept(db: Database, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(GOOD_AND_BAD)
    _, [summary] = ingest(db, "c", [log], home=tmp_path / "home")
    assert (summary.rows_good, summary.rows_bad) == (3, 5)
    reasons = dict(summary.problems)
    assert "has no time zone" in reasons[4]
    assert "'192.0.2.300' is not an IPv4 or IPv6 address" in reasons[4]
    assert "port: '99999' is not 0-65535" in reasons[4]
    assert "digest: 'zz'" in reasons[4]
    assert reasons[6] == "expected 8 fields, found 2"
    assert "'2024-02-30T10:00:00Z' is not an ISO 8601 date-time" in reasons[7]
    assert "'yesterday' is not an ISO 8601 date-time or epoch" in reasons[8]
    assert reasons[9] == "no valid file digest or PDQ in the row"
    rejects = pd.read_csv(summary.rejects_path)
    assert rejects["line"].tolist() == [4, 6, 7, 8, 9]
    rows = _load(db, "c", tmp_path / "home").sort_values("line")
    assert rows["line"].tolist() == [2, 3, 5]
    # Zones are honoured and IPv4-mapped IPv6 becomes IPv4.
    assert rows["ts"].tolist() == [1704103200_000000] * 3
    assert rows["ip"].tolist() == ["192.0.2.1", "198.51.100.7", "2001:db8::1"]
    assert rows["file_key"].tolist() == [f"md5:{MD5}", f"sha1:{SHA1}", f"sha256:{SHA256}"]
    assert rows["port"].tolist() == [6881, -1, 1]


def test_unterminated_quote_in_a_log_names_its_line_and_keeps_the_rest(
    db: Database, tmp_path: Path
) -> None:
    log = tmp_path / "log.csv"
    rows = [f"2024-01-01T10:00:00Z,192.0.2.{n},{MD5},f{n}.jpg" for n in range(2, 9)]
    rows[2] = f'2024-01-01T10:00:00Z,192.0.2.4,{MD5},"never closed.jpg'  # line 4
    rows[4] = ""  # line 6: blank
    log.write_text("time,ip,hash,filename\n" + "\n".join(rows) + "\n")
    _, [summary] = ingest(db, "c", [log], home=tmp_path / "home")
    assert (summary.rows_good, summary.rows_bad) == (5, 1)
    [(line, reason)] = summary.problems
    assert line == 4
    assert reason.startswith("bad CSV: ")
    rows_in = _load(db, "c", tmp_path / "home").sort_values("line")
    assert rows_in["line"].tolist() == [2, 3, 5, 7, 8]
    assert rows_in["ip"].tolist() == [f"192.0.2.{n}" for n in (2, 3, 5, 7, 8)]


def _read_log(path: Path, columns: list[str]) -> tuple[list[int], list[str | None], list[int]]:
    """(lines, values of the first column, reject lines) as the ingest reads them."""
    try:
        batches = list(iter_batches(path, columns))
    except NeedsLineScan:
        batches = list(iter_batches(path, columns, line_scan=scan_csv_lines(path)))
    lines = [int(n) for b in batches for n in b.lines]
    values = [v for b in batches for v in b.columns[columns[0]].to_pylist()]
    return lines, values, [line for b in batches for line, _ in b.rejects]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(alphabet="ab ,x", max_size=6), min_size=1, max_size=20),
    st.data(),
)
def test_one_corrupted_log_line_loses_no_other_row(names: list[str], data: st.DataObject) -> None:
    lines = ["name,ip"]
    for n, name in enumerate(names):
        lines.append(
            f'"{name}",192.0.2.{n}'
            if data.draw(st.booleans()) or "," in name
            else f"{name},192.0.2.{n}"
        )
    bad = data.draw(st.integers(1, len(names)))
    lines[bad] = '"' + lines[bad].replace('"', "")
    ending = data.draw(st.sampled_from(["\n", "\r\n"]))
    encoded = [line.encode() for line in lines]
    if data.draw(st.booleans()):  # or a short row that is not UTF-8 (fuzzing found it)
        encoded[bad] = b"\xcb\xcb" + encoded[bad][:2].replace(b",", b"")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.csv"
        path.write_bytes(ending.encode().join(encoded) + ending.encode())
        got_lines, values, rejects = _read_log(path, ["ip", "name"])
    kept = [n for n in range(len(names)) if n != bad - 1]
    assert got_lines == [n + 2 for n in kept]
    assert values == [f"192.0.2.{n}" for n in kept]
    assert rejects == [bad + 1]


def test_reingest_is_idempotent_and_overlaps_are_not_double_counted(
    db: Database, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    first = tmp_path / "a.csv"
    first.write_text(
        f"ts,ip,sha1\n2024-01-01T00:00:00Z,192.0.2.1,{SHA1}\n"
        f"2024-01-01T00:00:01Z,192.0.2.2,{SHA1}\n"
    )
    overlap = tmp_path / "b.csv"
    overlap.write_text(
        f"ts,ip,sha1\n2024-01-01T00:00:01Z,192.0.2.2,{SHA1}\n"
        f"2024-01-01T00:00:02Z,192.0.2.3,{SHA1}\n"
        f"2024-01-01T00:00:02Z,192.0.2.3,{SHA1}\n"
    )
    _, [a] = ingest(db, "c", [first], home=home)
    _, [again] = ingest(db, "c", [first], home=home)
    _, [b] = ingest(db, "c", [overlap], home=home)
    assert a.rows_good == 2 and again.status == "already ingested"
    assert (b.rows_good, b.rows_duplicate) == (1, 2)
    assert sorted(_load(db, "c", home)["ip"]) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert len(registered(db, get_case(db, "c", home))) == 2


def test_unregistered_part_left_by_a_crash_is_never_read(db: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = tmp_path / "a.csv"
    log.write_text(f"ts,ip,sha1\n2024-01-01T00:00:00Z,192.0.2.1,{SHA1}\n")
    _, _ = ingest(db, "c", [log], home=home)
    case = get_case(db, "c", home)
    # A kill between writing a part and registering it leaves a stray file behind.
    stray = case.parts_dir / "deadbeef.arrow"
    shutil.copy(part_paths(db, case)[0], stray)
    assert part_paths(db, case) == [case.parts_dir / registered(db, case)[0].part_name]
    assert len(_load(db, "c", home)) == 1


def test_mapping_file_jsonl_and_parquet(db: Database, tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\ntimestamp = "when"\nip = "who"\ndigest = "what"\n')
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text(
        json.dumps({"when": "2024-05-01T00:00:00+00:00", "who": "203.0.113.5", "what": SHA256})
        + "\nnot json\n[1]\n\n"
        + json.dumps({"when": "2024-05-01T00:00:00Z", "who": "203.0.113.6", "what": MD5})
        + "\n"
    )
    _, [s] = ingest(db, "c", [jsonl], mapping=mapping, home=tmp_path / "home")
    assert (s.rows_good, s.rows_bad) == (2, 2)
    assert [line for line, _ in s.problems] == [2, 3]
    table = pa.table(
        {
            "timestamp": pa.array([1_714_521_600_000_000, None], pa.timestamp("us", tz="UTC")),
            "ip": ["2001:db8::5", "2001:db8::6"],
            "sha256": [SHA256, SHA256],
            "port": pa.array([443, 80], pa.int64()),
        }
    )
    parquet = tmp_path / "log.parquet"
    pq.write_table(table, parquet)
    _, [p] = ingest(db, "c", [parquet], home=tmp_path / "home")
    assert (p.rows_good, p.rows_bad) == (1, 1)
    assert p.problems == [(2, "timestamp: missing")]
    rows = _load(db, "c", tmp_path / "home")
    assert set(rows["ip"]) == {"203.0.113.5", "203.0.113.6", "2001:db8::5"}
    assert rows.loc[rows["ip"] == "2001:db8::5", "ts"].item() == 1_714_521_600_000_000


def test_mapping_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text('[columns]\ncolour = "x"\n')
    with pytest.raises(InputError, match=r"\[columns\]\.colour: unknown field"):
        ColumnMapping.load(bad)
    bad.write_text("[columns\n")
    with pytest.raises(InputError, match="not valid TOML"):
        ColumnMapping.load(bad)
    mapping = ColumnMapping({"ip": "remote"})
    with pytest.raises(InputError, match="mapped column 'remote' for ip is not in the header"):
        mapping.resolve("log.csv", ["ts", "ip"])
    with pytest.raises(UsageError, match="no column for timestamp"):
        ColumnMapping().resolve("log.csv", ["ip", "md5"])
    with pytest.raises(UsageError, match="no file digest or PDQ column"):
        ColumnMapping().resolve("log.csv", ["ts", "ip"])


def test_list_file_reader_names_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "ncmec.csv"
    good.write_text(f"hash,label\n{MD5},a|b\n{SHA1},\n")
    assert read_list_entries(good) == [
        ("md5", MD5, frozenset({"a", "b"})),
        ("sha1", SHA1, frozenset()),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"hash,algorithm\n{MD5},sha1\nabc,\n{SHA256},\n")
    with pytest.raises(ValidationError) as info:
        read_list_entries(bad)
    # :4 is a bare 64-hex hash, PDQ or SHA-256: refused until its algorithm is given
    assert [loc for loc, _ in info.value.problems] == [f"{bad}:2", f"{bad}:3", f"{bad}:4"]


def test_store_lists_are_the_known_material(db: Database, tmp_path: Path) -> None:
    """Named lists come from HashListStore; no list named means every enabled list."""
    from safelight.lists import HashListStore, ListDisabledError, ParseOptions
    from safelight.network.pipeline import analyze_case

    store = HashListStore(db)
    store.create("NCMEC")
    (tmp_path / "a.txt").write_text(f"{MD5}\n")
    store.import_file(
        "NCMEC", tmp_path / "a.txt", options=ParseOptions(extra_labels=frozenset({"s1"}))
    )
    store.create("PAUSED", enabled=False)
    (tmp_path / "b.txt").write_text(f"{SHA1}\n")
    store.import_file("PAUSED", tmp_path / "b.txt")
    log = tmp_path / "log.csv"
    log.write_text(
        f"ts,ip,digest\n2024-01-01T00:00:00Z,192.0.2.1,{MD5}\n"
        f"2024-01-01T00:00:00Z,192.0.2.2,{MD5}\n2024-01-01T00:00:00Z,192.0.2.2,{SHA1}\n"
    )
    home = tmp_path / "home"
    _, [named] = ingest(db, "named", [log], lists=["NCMEC"], home=home)
    assert (named.known_files, named.unknown_files) == (1, 1)
    # A disabled list matches nothing: naming one is an error, not a silent "0 known".
    with pytest.raises(ListDisabledError, match="'PAUSED' is disabled"):
        ingest(db, "paused", [log], lists=["PAUSED"], home=home)
    with pytest.raises(NotFoundError):
        get_case(db, "paused", home)
    _, [default] = ingest(db, "default", [log], home=home)
    assert (default.known_files, default.known_sightings) == (1, 2)  # enabled lists only
    run = analyze_case(db, "default", tmp_path / "out", home=home)
    known = run.analysis.tables["known_files"]
    assert known[["file_key", "lists", "labels"]].values.tolist() == [[f"md5:{MD5}", "NCMEC", "s1"]]
    assert run.report["sources"]["known_material"] == "hash lists: NCMEC"
    with pytest.raises(NotFoundError):
        ingest(db, "missing", [log], lists=["nope"], home=home)
    with pytest.raises(NotFoundError, match="no network case named 'nope'"):
        get_case(db, "nope")


def test_unknown_case_and_unknown_lists(db: Database, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no network case named 'nope'"):
        get_case(db, "nope")
    log = tmp_path / "a.csv"
    log.write_text(f"ts,ip,sha1\n2024-01-01T00:00:00Z,192.0.2.1,{SHA1}\n")
    with pytest.raises(NotFoundError, match="list 'NCMEC' does not exist"):
        ingest(db, "c", [log], lists=["NCMEC"], home=tmp_path / "home")


def test_store_lists_decide_known_material(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFELIGHT_HOME", str(tmp_path / "home"))
    lists = HashListStore(db)
    lists.create("NCMEC")
    lists.create("OTHER")
    entries = tmp_path / "known.txt"
    entries.write_text(f"sha1 {SHA1}\n")
    lists.import_file("NCMEC", entries)
    log = tmp_path / "a.csv"
    log.write_text(f"ts,ip,sha1\n2024-01-01T00:00:00Z,192.0.2.1,{SHA1}\n")
    files = [FileDigests(key="f1", sha1=SHA1), FileDigests(key="f2", md5=MD5)]

    # Lists default to every enabled list in the store, through the same index as match.
    case, _ = ingest(db, "default", [log], home=tmp_path / "home")
    known = case_known(db, case)
    assert "NCMEC" in known.description
    assert known.lookup(files) == {"f1": KnownMatch(("NCMEC",), ())}

    # A chosen list that lacks the file knows nothing; a disabled list is not served.
    case, _ = ingest(db, "other", [log], lists=["OTHER"], home=tmp_path / "home")
    assert case_known(db, case).lookup(files) == {}
    lists.set_enabled("NCMEC", False)
    assert case_known(db, get_case(db, "default", tmp_path / "home")).lookup(files) == {}


def test_cli_ingest_reports_summary_and_bad_lines(safelight_env: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(GOOD_AND_BAD)
    known = tmp_path / "known.csv"
    known.write_text(f"hash\n{MD5}\n")
    runner = CliRunner()
    result = runner.invoke(
        main, ["network", "ingest", str(log), "--case", "c", "--list-file", str(known)]
    )
    assert result.exit_code == 1, result.output  # some rows failed
    assert "3 rows kept, 5 bad, 0 duplicate; files: 1 known, 2 unknown" in result.output
    assert f"{log}:6: expected 8 fields, found 2" in result.output
    again = runner.invoke(main, ["network", "ingest", str(log), "--case", "c", "--format", "json"])
    assert again.exit_code == 0
    assert json.loads(again.output)[0]["status"] == "already ingested"
    missing = runner.invoke(main, ["network", "analyze", "--case", "x", "--out", str(tmp_path)])
    assert missing.exit_code == 3
    assert "no network case named 'x'" in missing.output


def test_rows_committed_by_a_concurrent_ingest_are_dropped_at_commit(
    db: Database, tmp_path: Path
) -> None:
    """File B is parsed before file A commits; B's rows that A holds are dropped at commit."""
    from safelight.network.ingest import commit_parsed, content_sha256, parse_file
    from safelight.network.sightings import open_case

    home = tmp_path / "home"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(f"ts,ip,sha1\n2024-01-01T00:00:00Z,192.0.2.1,{SHA1}\n")
    b.write_text(f"ts,ip,sha1\n2024-01-01T00:00:00Z,192.0.2.1,{SHA1}\n"
                 f"2024-01-01T00:00:05Z,192.0.2.2,{SHA1}\n")  # fmt: skip
    case = open_case(db, "c", None, home)
    empty = np.zeros(0, dtype=np.uint64)
    mapping = ColumnMapping()
    parsed_a = parse_file(a, mapping, case.parts_dir, content_sha256(a), empty, [])
    parsed_b = parse_file(b, mapping, case.parts_dir, content_sha256(b), empty, [])
    assert commit_parsed(db, case, parsed_a).rows_good == 1
    summary = commit_parsed(db, case, parsed_b)
    assert (summary.rows_good, summary.rows_duplicate) == (1, 1)
    assert sorted(_load(db, "c", home)["ip"]) == ["192.0.2.1", "192.0.2.2"]
    again = parse_file(a, mapping, case.parts_dir, content_sha256(a), empty, [])
    assert commit_parsed(db, case, again).status == "already ingested"


def test_known_material_matches_digests_and_pdq_within_threshold() -> None:
    from safelight.network.known import FileDigests

    pdq = "f" * 64
    near = "0" * 7 + "f" * 57  # 7 hex digits = 28 bits away
    far = "0" * 8 + "f" * 56  # 32 bits away
    folder = Path(tempfile.mkdtemp())
    for name, line in (("a", f"md5 {MD5} x"), ("b", f"sha1 {SHA1}"), ("c", f"pdq {pdq} y")):
        kind, value, *labels = line.split()
        (folder / f"{name}.csv").write_text(
            f"hash,type,labels\n{value},{kind},{'|'.join(labels)}\n"
        )
    matcher = ListFileMaterial(sorted(folder.glob("*.csv")))
    found = matcher.lookup(
        [
            FileDigests("k1", md5=MD5, sha1=SHA1),
            FileDigests("k2", pdq=near),
            FileDigests("k3", pdq=far),
            FileDigests("k4", sha256=SHA256),
        ]
    )
    assert found["k1"].lists == ("a", "b") and found["k1"].labels == ("x",)
    assert found["k2"].lists == ("c",) and found["k2"].labels == ("y",)
    assert "k3" not in found and "k4" not in found


def test_file_stats_of_one_batch_equal_the_merged_batches() -> None:
    from safelight.network.ingest import _combine_stats, _file_stats

    rng = np.random.default_rng(3)
    n = 200
    keys = rng.integers(0, 30, n)
    table = pa.table(
        {
            "file_key": [f"k{k}" for k in keys],
            "md5": [MD5 if k % 3 == 0 and rng.random() < 0.5 else "" for k in keys],
            "sha1": [SHA1 if k % 2 == 0 else "" for k in keys],
            "sha256": [""] * n,
            "pdq": [""] * n,
            "ts": np.arange(n, dtype=np.int64),
        }
    )
    whole = _combine_stats([_file_stats(table)]).sort_by("file_key")
    split = _combine_stats([_file_stats(table.slice(0, 77)), _file_stats(table.slice(77))])
    assert whole.to_pylist() == split.sort_by("file_key").to_pylist()
    assert sum(whole.column("sightings").to_pylist()) == n


def test_a_failed_ingest_creates_no_case(db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    home = tmp_path / "home"
    with pytest.raises(UsageError, match="no column for timestamp, ip"):
        ingest(db, "new", [bad], home=home)
    with pytest.raises(NotFoundError):
        get_case(db, "new", home)
    assert not (home / "network").exists() or not any((home / "network").iterdir())


def test_a_field_that_is_not_utf8_costs_only_its_row(db: Database, tmp_path: Path) -> None:
    """pyarrow refuses a string column holding bytes that are not UTF-8; the whole log was
    then refused ("not a readable CSV file"). Now the lines are scanned: the row is named
    where the bad field makes it invalid, kept (bytes replaced) where the field is free text."""
    good = f"2024-01-01T10:00:00Z,192.0.2.1,{MD5},a.jpg"
    bad_ip = f"2024-01-01T10:00:00Z,192.0.2.\xcb,{MD5},b.jpg".encode("latin-1")
    bad_name = f"2024-01-01T10:00:00Z,192.0.2.3,{MD5},c\xcb.jpg".encode("latin-1")
    log = tmp_path / "log.csv"
    log.write_bytes(b"\n".join([b"time,ip,hash,filename", good.encode(), bad_ip, bad_name]) + b"\n")
    _, [summary] = ingest(db, "c", [log], home=tmp_path / "home")
    assert (summary.rows_good, summary.rows_bad) == (2, 1)
    [(line, reason)] = summary.problems
    assert line == 3 and reason.startswith("ip: ")
    rows = _load(db, "c", tmp_path / "home").sort_values("line")
    assert rows["line"].tolist() == [2, 4]
