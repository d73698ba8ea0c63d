"""HashListStore on a real store (SQLite, or PostgreSQL with SAFELIGHT_DATABASE_URL)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from safelight.errors import ConflictError, InputError, NotFoundError, UsageError, ValidationError
from safelight.lists import FOREVER, HashListStore, ParseOptions, Problem
from safelight.lists import importer as importer_module
from safelight.store import Database
from safelight.store.lists_tables import hash_entries, hash_entry_labels, hash_list_imports
from safelight.store.schema import metadata

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_LINE = f"pdq {PDQ}"
ANY_TEXT = mock.ANY  # 64 hex is PDQ or SHA-256: lines declare it
MD5 = "749476eb0cd128289f0dec3e062da83c"
SHA1 = "2b037f69c566dfdb3a5a79e5360d085959bdde4c"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db: Database, clock: Clock) -> HashListStore:
    return HashListStore(db, clock=clock)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    return write(path, [json.dumps(r) for r in records])


def count(db: Database, table: object) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_migration_matches_the_table_definitions(db: Database) -> None:
    db.migrate()
    with db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_create_get_list_and_errors(store: HashListStore) -> None:
    created = store.create("NCMEC", description="d", source="NCMEC", terms_of_use="t")
    assert (created.pdq_threshold, created.enabled, created.generation) == (31, True, 0)
    assert store.get("NCMEC") == created
    store.create("A_LIST", pdq_threshold=0, enabled=False)
    assert [hl.name for hl in store.list()] == ["A_LIST", "NCMEC"]
    with pytest.raises(ConflictError, match="list 'NCMEC' already exists"):
        store.create("NCMEC")
    with pytest.raises(UsageError, match="UPPER_WITH_UNDERSCORE"):
        store.create("ncmec")
    with pytest.raises(UsageError, match="pdq threshold 64 is outside 0-63"):
        store.create("X", pdq_threshold=64)
    with pytest.raises(NotFoundError, match="list 'NOPE' does not exist"):
        store.get("NOPE")


def test_a_create_race_lost_at_the_unique_index_is_a_conflict(
    store: HashListStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create("RACE")
    monkeypatch.setattr(store, "_find", lambda conn, name: None)  # the other create not seen yet
    with pytest.raises(ConflictError, match="list 'RACE' already exists"):
        store.create("RACE")


def test_import_is_idempotent_keeps_ids_and_merges_labels(
    store: HashListStore, db: Database, tmp_path: Path
) -> None:
    store.create("L")
    path = write(tmp_path / "h.txt", [PDQ_LINE, f"md5 {MD5.upper()}", f"video_md5 {MD5}", SHA1])
    first = store.import_file(
        "L", path, options=ParseOptions(extra_labels=frozenset({"a"})), by="ana"
    )
    assert (first.records, first.added, first.already_present, first.invalid) == (4, 3, 1, 0)
    assert first.labels_added == 3
    assert first.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    ids = {e.value: e.id for e in store.find_entries("L")}
    second = store.import_file("L", path, options=ParseOptions(extra_labels=frozenset({"b"})))
    assert (second.added, second.already_present, second.labels_added) == (0, 4, 3)
    entries = store.find_entries("L")
    assert {e.value: e.id for e in entries} == ids
    assert all(e.labels == {"a", "b"} for e in entries)
    assert count(db, hash_entries) == 3
    assert store.get("L").generation == 2
    summary = store.summary("L")
    assert [(i.imported_by, i.records, i.added) for i in summary.imports][1] == ("ana", 4, 3)
    assert summary.imports[0].sha256 == first.sha256
    assert summary.imports[0].source_path == str(path.resolve())
    provenance = store.import_info(entries[0].import_id or 0)
    assert (provenance.imported_by, provenance.sha256) == ("ana", first.sha256)
    with pytest.raises(NotFoundError, match="no import with id 0"):
        store.import_info(0)


def test_one_bad_line_imports_nothing_and_lists_every_problem(
    store: HashListStore, db: Database, tmp_path: Path
) -> None:
    store.create("L")
    path = write(tmp_path / "bad.txt", [PDQ_LINE, "xyz", MD5, f"md5 {MD5}0"])
    with pytest.raises(ValidationError) as info:
        store.import_file("L", path)
    assert info.value.message.startswith(
        f"2 invalid records in {path.resolve()}; nothing was imported"
    )
    assert info.value.problems == [
        (
            f"{path}:2",
            "cannot tell the signal type of a 3-character value "
            "(32 = md5, 40 = sha1, 64 = pdq/sha256)",
        ),
        (f"{path}:4", "md5 value must be 32 hex characters, got 33"),
    ]
    assert count(db, hash_entries) == 0 and count(db, hash_list_imports) == 0
    assert store.get("L").generation == 0
    # The failed import left no staging tables behind on this connection.
    assert store.import_file("L", write(tmp_path / "ok.txt", [PDQ_LINE])).added == 1


def test_skip_invalid_imports_the_rest_and_reports_all(
    store: HashListStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create("L")
    monkeypatch.setattr(importer_module, "LIST_MAX_REPORTED_PROBLEMS", 2)
    path = write(tmp_path / "bad.txt", ["a", PDQ_LINE, "b", "c", MD5])
    seen: list[Problem] = []
    report = store.import_file("L", path, skip_invalid=True, on_problem=seen.append)
    assert (report.records, report.added, report.invalid) == (2, 2, 3)
    assert [p.location for p in report.problems] == [f"{path}:1", f"{path}:3"]
    assert [p.location for p in seen] == [f"{path}:1", f"{path}:3", f"{path}:4"]
    with pytest.raises(ValidationError) as info:
        store.import_file("L", path)
    assert info.value.problems[-1] == ("...", "1 more invalid records not listed")


def test_notes_and_disable_times_last_one_wins(store: HashListStore, tmp_path: Path) -> None:
    store.create("L")
    later = "2030-01-01T00:00:00+00:00"
    store.import_file(
        "L",
        jsonl(
            tmp_path / "a.jsonl",
            [
                {"type": "md5", "value": MD5, "note": "first", "labels": ["x"]},
                {"type": "md5", "value": MD5, "note": "second", "disabled_until": later},
                {"type": "sha1", "value": SHA1, "note": "only"},
            ],
        ),
    )
    by_value = {e.value: e for e in store.find_entries("L")}
    assert by_value[MD5].note == "second"
    assert by_value[MD5].disabled_until == datetime(2030, 1, 1, tzinfo=UTC)
    assert by_value[MD5].labels == {"x"}
    # A file without notes keeps them; one with a note replaces it.
    store.import_file("L", write(tmp_path / "b.txt", [MD5, SHA1]))
    store.import_file("L", jsonl(tmp_path / "c.jsonl", [{"value": SHA1, "note": "new"}]))
    by_value = {e.value: e for e in store.find_entries("L")}
    assert (by_value[MD5].note, by_value[SHA1].note) == ("second", "new")


def test_enable_and_disable_lists_and_entries(
    store: HashListStore, clock: Clock, tmp_path: Path
) -> None:
    store.create("L")
    store.import_file("L", write(tmp_path / "h.txt", [f"md5 {MD5}", f"md5 {'0' * 32}"]))
    ids = {e.value: e.id for e in store.find_entries("L")}

    def enabled() -> list[str]:
        # Ids within one import follow (type, value) order: "000..." comes first.
        return [entry.value for entry in store.iter_entries(["L"], "md5")]

    assert enabled() == ["0" * 32, MD5]
    assert store.set_enabled("L", False).enabled is False
    assert enabled() == []
    everything = store.iter_entries(["L"], "md5", only_enabled=False)
    assert [e.value for e in everything] == ["0" * 32, MD5]
    store.set_enabled("L", True)
    soon = clock.now + timedelta(days=1)
    hl = store.set_enabled("L", False, entry_ids=[ids[MD5]], until=soon)
    assert hl.generation == 4
    assert enabled() == ["0" * 32]
    assert store.summary("L").disabled_entries == 1
    clock.now = soon  # disabled while now < disabled_until
    assert enabled() == ["0" * 32, MD5]
    store.set_enabled("L", False, entry_ids=[ids[MD5]])
    assert store.find_entries("L", value=MD5)[0].disabled_until == FOREVER
    store.set_enabled("L", True, entry_ids=[ids[MD5]])
    assert enabled() == ["0" * 32, MD5]
    with pytest.raises(NotFoundError, match="list 'L' has no entries with ids 999999"):
        store.set_enabled("L", False, entry_ids=[999999])
    with pytest.raises(UsageError, match="only applies when disabling"):
        store.set_enabled("L", True, entry_ids=[ids[MD5]], until=soon)
    with pytest.raises(UsageError, match="applies to entries"):
        store.set_enabled("L", False, until=soon)


def test_iter_entries_and_entries_by_ids_for_indexes_and_matches(
    store: HashListStore, tmp_path: Path
) -> None:
    store.create("A")
    store.create("B")
    store.import_file(
        "A",
        write(tmp_path / "a.txt", [PDQ_LINE]),
        options=ParseOptions(extra_labels=frozenset({"cat A"})),
    )
    store.import_file("B", write(tmp_path / "b.txt", [PDQ_LINE, f"md5 {MD5}"]))
    both = list(store.iter_entries(None, "pdq"))
    assert [(e.value, e.labels) for e in both] == [(PDQ, {"cat A"}), (PDQ, frozenset())]
    assert [e.value for e in store.iter_entries(["B"], "video_md5")] == [MD5]
    found = store.entries_by_ids([both[0].id, both[1].id, 10**12])
    assert {(e.list_name, e.value) for e in found.values()} == {("A", PDQ), ("B", PDQ)}
    assert found[both[0].id].labels == {"cat A"}
    assert store.generations() == {"A": 1, "B": 1}
    assert store.generations(["B"]) == {"B": 1}
    with pytest.raises(NotFoundError, match="list 'C' does not exist"):
        store.generations(["C"])
    with pytest.raises(NotFoundError):
        list(store.iter_entries(["C"], "pdq"))
    with pytest.raises(UsageError, match="unknown signal type 'tmk'"):
        list(store.iter_entries(None, "tmk"))


def test_entries_by_ids_in_many_chunks(store: HashListStore, tmp_path: Path) -> None:
    store.create("L")
    store.import_file("L", write(tmp_path / "h.txt", [f"md5 {i:032x}" for i in range(1200)]))
    ids = [e.id for e in store.iter_entries(["L"], "md5")]
    assert len(store.entries_by_ids(ids)) == 1200


def test_find_entries_by_label_type_value_and_summary_counts(
    store: HashListStore, tmp_path: Path
) -> None:
    store.create("L")
    store.import_file(
        "L",
        jsonl(
            tmp_path / "a.jsonl",
            [
                {"type": "md5", "value": MD5, "labels": ["cat A", "INTERPOL baseline"]},
                {"type": "sha1", "value": SHA1, "labels": ["cat B"]},
                {"type": "pdq", "value": PDQ, "labels": ["cat A"]},
            ],
        ),
    )
    assert [e.value for e in store.find_entries("L", label="cat A")] == [MD5, PDQ]
    assert [e.value for e in store.find_entries("L", label="cat A", signal_type="pdq")] == [PDQ]
    assert [e.signal_type for e in store.find_entries("L", value=SHA1.upper())] == ["sha1"]
    assert len(store.find_entries("L", limit=2)) == 2
    summary = store.summary("L")
    assert summary.by_type == {"md5": 1, "pdq": 1, "sha1": 1}
    assert summary.by_label == {"INTERPOL baseline": 1, "cat A": 2, "cat B": 1}
    assert (summary.entries, summary.disabled_entries) == (3, 0)
    assert store.entry_counts() == {"L": 3}


def test_file_labels_and_record_labels_are_united(store: HashListStore, tmp_path: Path) -> None:
    store.create("L")
    path = jsonl(
        tmp_path / "a.jsonl",
        [
            {"type": "md5", "value": MD5, "labels": ["own", "file"]},
            {"type": "sha1", "value": SHA1},
            {"type": "md5", "value": MD5, "labels": ["later"]},
        ],
    )
    report = store.import_file("L", path, options=ParseOptions(extra_labels=frozenset({"file"})))
    assert report.labels_added == 4
    labels = {e.value: e.labels for e in store.find_entries("L")}
    assert labels == {MD5: {"own", "file", "later"}, SHA1: {"file"}}


def test_vpdq_entries_keep_their_features(store: HashListStore, tmp_path: Path) -> None:
    store.create("V")
    features = [f"{PDQ},100,0.000", f"{'0' * 64},40,1.000"]
    path = jsonl(tmp_path / "v.jsonl", [{"type": "vpdq", "value": json.dumps(features)}])
    assert store.import_file("V", path).added == 1
    assert store.import_file("V", path).added == 0
    (entry,) = store.iter_entries(["V"], "vpdq")
    assert json.loads(entry.value) == features
    assert store.find_entries("V", value=entry.value)[0].id == entry.id


def test_delete_removes_everything_of_the_list(
    store: HashListStore, db: Database, tmp_path: Path
) -> None:
    store.create("A")
    store.create("B")
    labelled = ParseOptions(extra_labels=frozenset({"x"}))
    store.import_file("A", write(tmp_path / "a.txt", [PDQ_LINE, MD5]), options=labelled)
    store.import_file("B", write(tmp_path / "b.txt", [PDQ_LINE]), options=labelled)
    assert store.delete("A") == 2
    assert [hl.name for hl in store.list()] == ["B"]
    assert (
        count(db, hash_entries),
        count(db, hash_entry_labels),
        count(db, hash_list_imports),
    ) == (1, 1, 1)
    with pytest.raises(NotFoundError):
        store.delete("A")


def test_export_and_reimport_into_another_list_is_lossless(
    store: HashListStore, tmp_path: Path
) -> None:
    store.create("SRC")
    store.import_file(
        "SRC",
        jsonl(
            tmp_path / "a.jsonl",
            [
                {"type": "md5", "value": MD5, "labels": ["a", "b,c"], "note": "x\ny"},
                {"type": "pdq", "value": PDQ, "disabled_until": "2031-02-03T04:05:06Z"},
                {"type": "vpdq", "value": json.dumps([f"{PDQ},100,0.000"])},
            ],
        ),
    )
    for fmt in ("jsonl", "csv", "tsv"):
        out = io.StringIO()
        assert store.export("SRC", out, fmt=fmt) == (3, 0)
        copy = tmp_path / f"copy.{fmt}"
        copy.write_text(out.getvalue(), encoding="utf-8")
        store.create(f"COPY_{fmt.upper()}")
        store.import_file(f"COPY_{fmt.upper()}", copy)

        def shape(name: str) -> list[tuple[object, ...]]:
            return [
                (e.signal_type, e.value, e.labels, e.note, e.disabled_until)
                for e in store.find_entries(name)
            ]

        assert sorted(shape(f"COPY_{fmt.upper()}"), key=str) == sorted(shape("SRC"), key=str)
    out = io.StringIO()
    assert store.export("SRC", out, fmt="lines", signal_type="md5") == (1, 0)
    assert out.getvalue() == f"md5 {MD5}\n"
    out = io.StringIO()
    assert store.export("SRC", out, fmt="lines", label="a") == (1, 0)
    out = io.StringIO()
    assert store.export("SRC", out, fmt="lines", only_enabled=True) == (2, 0)


def test_unreadable_input_is_an_input_error(store: HashListStore, tmp_path: Path) -> None:
    store.create("L")
    with pytest.raises(InputError, match=f"cannot read {tmp_path / 'missing.txt'}: No such file"):
        store.import_file("L", tmp_path / "missing.txt")
    with pytest.raises(NotFoundError):
        store.import_file("NOPE", write(tmp_path / "h.txt", [PDQ_LINE]))
    with pytest.raises(UsageError, match="unknown signal type 'x'"):
        store.import_file("L", tmp_path / "h.txt", options=ParseOptions(default_type="x"))


def test_import_from_stdin(store: HashListStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.create("L")

    class Stdin:
        buffer = io.BytesIO(f"pdq {PDQ}\n".encode())

    monkeypatch.setattr("sys.stdin", Stdin)
    report = store.import_file("L", "-")
    assert (report.source_path, report.added) == ("<stdin>", 1)


@pytest.fixture
def big_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "big.txt"
    with path.open("w") as out:
        for i in range(12_000):
            out.write(f"pdq {hashlib.sha256(str(i).encode()).hexdigest()}\n")
    yield path


def test_a_list_default_type_types_its_bare_values(store: HashListStore, tmp_path: Path) -> None:
    """A file of bare SHA-256 digests, one per line, into a list that declares sha256."""
    sha256 = hashlib.sha256(b"x").hexdigest()
    path = write(tmp_path / "sha.txt", [sha256, f"pdq {PDQ}", f"md5 {MD5}"])
    with pytest.raises(ValidationError) as caught:
        store.import_file(store.create("UNTYPED").name, path)
    assert caught.value.codes == {"untyped_value"}
    assert caught.value.problems == [(f"{path}:1", ANY_TEXT)]
    assert "could be pdq or sha256" in caught.value.problems[0][1]
    assert store.entry_counts().get("UNTYPED", 0) == 0  # nothing imported
    created = store.create("KNOWN_SHA", default_signal_type="video_sha256")
    assert created.default_signal_type == "sha256"
    store.import_file("KNOWN_SHA", path)
    found = {(e.signal_type, e.value) for e in store.find_entries("KNOWN_SHA")}
    assert found == {("sha256", sha256), ("pdq", PDQ), ("md5", MD5)}
    with pytest.raises(UsageError, match="unknown signal type 'sha3'"):
        store.create("BAD_TYPE", default_signal_type="sha3")


def test_import_spanning_many_batches(store: HashListStore, big_file: Path) -> None:
    store.create("BIG")
    report = store.import_file("BIG", big_file, options=ParseOptions(extra_labels=frozenset({"l"})))
    assert (report.added, report.labels_added) == (12_000, 12_000)
    ids = [e.id for e in store.iter_entries(["BIG"], "pdq")]
    assert len(ids) == len(set(ids)) == 12_000
    assert store.import_file("BIG", big_file).added == 0


# --- the set-based merge against an obvious model ------------------------------------------

UNIVERSE = [("md5", f"{i:032x}") for i in range(3)] + [("sha1", f"{i:040x}") for i in range(2)]
TIMES = [None, "2030-01-01T00:00:00+00:00", "2031-01-01T00:00:00+00:00"]
RECORD = st.fixed_dictionaries(
    {
        "key": st.sampled_from(UNIVERSE),
        "labels": st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
        "note": st.sampled_from([None, "n1", "n2"]),
        "disabled_until": st.sampled_from(TIMES),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.lists(RECORD, max_size=6), min_size=1, max_size=3))
def test_imports_agree_with_a_dictionary_model(
    store: HashListStore, tmp_path: Path, files: list[list[dict[str, object]]]
) -> None:
    name = f"M{abs(hash(json.dumps(files, sort_keys=True))) % 10**12}"
    if name in {hl.name for hl in store.list()}:
        store.delete(name)
    store.create(name)
    model: dict[tuple[str, str], dict[str, object]] = {}
    ids: dict[tuple[str, str], int] = {}
    for number, records in enumerate(files):
        lines = []
        for record in records:
            kind, value = record["key"]  # type: ignore[misc]
            line = {"type": kind, "value": value, "labels": record["labels"]}
            for field in ("note", "disabled_until"):
                if record[field] is not None:
                    line[field] = record[field]
            lines.append(line)
            state = model.setdefault((kind, value), {"labels": set(), "note": None, "du": None})
            state["labels"] |= set(record["labels"])  # type: ignore[operator]
            if record["note"] is not None:
                state["note"] = record["note"]
            if record["disabled_until"] is not None:
                state["du"] = datetime.fromisoformat(record["disabled_until"])  # type: ignore[arg-type]
        report = store.import_file(name, jsonl(tmp_path / f"{name}-{number}.jsonl", lines))
        assert report.records == len(records)
        stored = {(e.signal_type, e.value): e for e in store.find_entries(name)}
        assert set(stored) == set(model)
        for key, state in model.items():
            entry = stored[key]
            assert (entry.labels, entry.note, entry.disabled_until) == (
                state["labels"],
                state["note"],
                state["du"],
            )
            assert ids.setdefault(key, entry.id) == entry.id  # ids never change


@pytest.mark.parametrize("ago", [timedelta(0), timedelta(seconds=1), timedelta(days=400)])
def test_disabling_until_a_time_not_in_the_future_is_refused(
    store: HashListStore, clock: Clock, tmp_path: Path, ago: timedelta
) -> None:
    from safelight.lists.store import PastTimeError

    store.create("L")
    store.import_file("L", write(tmp_path / "h.txt", [f"md5 {MD5}"]))
    entry = store.find_entries("L")[0]
    with pytest.raises(PastTimeError) as raised:
        store.set_enabled("L", False, entry_ids=[entry.id], until=clock.now - ago)
    assert (raised.value.until, raised.value.now) == (clock.now - ago, clock.now)
    assert isinstance(raised.value, UsageError)
    assert store.find_entries("L")[0].disabled_until is None
    assert store.get("L").generation == 1  # nothing changed


def test_a_missing_list_has_one_message_with_the_closest_name(store: HashListStore) -> None:
    from safelight.lists import ListNotFoundError
    from safelight.match import Matcher

    store.create("MY_LIST")
    store.create("NCMEC")
    with pytest.raises(ListNotFoundError) as by_get:
        store.get("my_list")
    assert by_get.value.message == "list 'my_list' does not exist (did you mean 'MY_LIST'?)"
    assert (by_get.value.names, by_get.value.suggestions) == (["my_list"], {"my_list": "MY_LIST"})
    with pytest.raises(ListNotFoundError) as by_matcher:
        Matcher(store, ["my_list"])
    assert by_matcher.value.message == by_get.value.message
    with pytest.raises(
        ListNotFoundError, match=r"^list 'NCMC' does not exist \(did you mean 'NCMEC'\?\)$"
    ):
        store.generations(["NCMC"])
    with pytest.raises(
        ListNotFoundError,
        match=r"^lists 'ZZZ', 'ncmec' do not exist \(did you mean 'NCMEC' for 'ncmec'\?\)$",
    ):
        store.require(["ZZZ", "ncmec", "NCMEC"])
    with pytest.raises(ListNotFoundError, match=r"^list 'ZZZ' does not exist$"):
        store.summary("ZZZ")


def test_naming_a_disabled_list_to_match_is_an_error(store: HashListStore) -> None:
    from safelight.lists import ListDisabledError
    from safelight.match import Matcher

    store.create("ON")
    store.create("OFF", enabled=False)
    with pytest.raises(ListDisabledError) as raised:
        Matcher(store, ["ON", "OFF"])
    assert raised.value.names == ["OFF"] and isinstance(raised.value, UsageError)
    assert raised.value.message == "list 'OFF' is disabled and matches nothing until enabled"
    assert list(Matcher(store).lists) == ["ON"]  # unnamed: every enabled list, quietly
    store.set_enabled("OFF", True)
    assert list(Matcher(store, ["OFF"]).lists) == ["OFF"]
