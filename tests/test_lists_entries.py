"""Listing and searching a list's entries: ``HashListStore.find_entries`` and
``safelight lists entries``, held to a plain-Python filter over every entry."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safelight.cli import main
from safelight.errors import UsageError
from safelight.lists import Entry, HashListStore
from safelight.store import Database

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LABELS = ("a", "b", "c")


def _entries(tmp_path: Path) -> list[dict[str, object]]:
    """30 md5 and sha1 entries with mixed labels and disable times around NOW."""
    records: list[dict[str, object]] = []
    for i in range(30):
        kind = "md5" if i % 3 else "sha1"
        width = 32 if kind == "md5" else 40
        record: dict[str, object] = {
            "type": kind,
            "value": f"{i % 4:x}{i:0{width - 1}x}",
            "labels": [LABELS[j] for j in range(3) if (i >> j) & 1],
        }
        if i % 5 == 1:
            record["disabled_until"] = (NOW + timedelta(days=i)).isoformat()
        if i % 5 == 2:
            record["disabled_until"] = (NOW - timedelta(days=i)).isoformat()  # lapsed
        records.append(record)
    return records


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> HashListStore:
    tmp_path = tmp_path_factory.mktemp("entries")
    db = Database.open(f"sqlite:///{tmp_path / 'store.db'}")
    store = HashListStore(db, clock=lambda: NOW)
    store.create("L")
    store.create("OTHER")
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _entries(tmp_path)))
    store.import_file("L", path)
    store.import_file("OTHER", path)  # never shown when asking for L
    return store


def oracle(
    every: list[Entry],
    label: str | None,
    kind: str | None,
    prefix: str | None,
    disabled: bool | None,
    after: int | None,
) -> list[Entry]:
    """The obvious filter, in Python, over every entry of the list."""
    return [
        e
        for e in sorted(every, key=lambda e: e.id)
        if (label is None or label in e.labels)
        and (kind is None or e.signal_type == kind)
        and (prefix is None or e.value.startswith(prefix.lower()))
        and (disabled is None or e.is_enabled(NOW) is not disabled)
        and (after is None or e.id > after)
    ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    label=st.sampled_from([None, *LABELS]),
    kind=st.sampled_from([None, "md5", "sha1"]),
    prefix=st.sampled_from([None, "0", "1", "3", "2A", "0000", "ff"]),
    disabled=st.sampled_from([None, True, False]),
    after=st.sampled_from([None, 0, 5, 17]),
    limit=st.sampled_from([None, 0, 1, 4, 50]),
)
def test_find_entries_matches_the_plain_filter(
    filled: HashListStore,
    label: str | None,
    kind: str | None,
    prefix: str | None,
    disabled: bool | None,
    after: int | None,
    limit: int | None,
) -> None:
    every = filled.find_entries("L")
    assert len(every) == 30
    base = every[0].id - 1  # ids of L start after this
    after_id = None if after is None else base + after
    expected = oracle(every, label, kind, prefix, disabled, after_id)
    found = filled.find_entries(
        "L",
        label=label,
        signal_type=kind,
        prefix=prefix,
        disabled=disabled,
        after_id=after_id,
        limit=limit,
    )
    assert found == expected[:limit]
    assert any(e.is_enabled(NOW) for e in every) and not all(e.is_enabled(NOW) for e in every)


def test_a_prefix_that_is_not_hex_is_refused(filled: HashListStore) -> None:
    for bad in ("", "0%", "g1", "_"):
        with pytest.raises(UsageError, match="expected hex digits"):
            filled.find_entries("L", prefix=bad)
    with pytest.raises(UsageError, match="limit must be 0 or more"):
        filled.find_entries("L", limit=-1)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="safelight")


def test_cli_lists_entries_in_every_format_and_pages(safelight_env: Path, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    records = _entries(tmp_path)[:6]
    records[1]["disabled_until"] = "2099-01-01T00:00:00Z"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    run("lists", "create", "L")
    assert run("lists", "import", "L", str(path)).exit_code == 0
    listed = json.loads(run("lists", "entries", "L", "--format", "json").stdout)
    ids = [next(e["id"] for e in listed if e["value"] == r["value"]) for r in records]
    assert sorted(ids) == [e["id"] for e in listed]  # id order
    assert run("lists", "disable", "L", "--entry", str(ids[3])).exit_code == 0  # for good
    table = run("lists", "entries", "L", "--limit", "3")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "VALUE", "LABELS", "STATE"]
    first = sorted(ids)[:3]
    assert [int(line.split()[0]) for line in lines[1:]] == first
    assert table.stderr == f"more entries: --after-id {first[-1]}\n"
    everything = run("lists", "entries", "L").stdout.splitlines()
    state = {int(line.split()[0]): line for line in everything[1:]}
    assert state[ids[1]].endswith("disabled until 2099-01-01T00:00:00+00:00")
    assert state[ids[3]].endswith("  disabled") and state[ids[2]].endswith("  enabled")
    page = run("lists", "entries", "L", "--after-id", str(first[-1]), "--format", "jsonl")
    assert [json.loads(line)["id"] for line in page.stdout.splitlines()] == sorted(ids)[3:]
    assert page.stderr == ""
    disabled = json.loads(run("lists", "entries", "L", "--disabled", "--format", "json").stdout)
    assert [e["id"] for e in disabled] == sorted([ids[1], ids[3]])
    enabled = run("lists", "entries", "L", "--enabled", "--type", "md5", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(enabled.stdout)))
    assert [int(r["id"]) for r in rows] == sorted([ids[2], ids[4], ids[5]])
    assert next(r for r in rows if int(r["id"]) == ids[5])["labels"] == "a|c"
    value = str(records[4]["value"])
    searched = run("lists", "entries", "L", "--search", value.upper(), "--format", "json")
    assert [e["value"] for e in json.loads(searched.stdout)] == [value]
    ones = json.loads(run("lists", "entries", "L", "--search", "1", "--format", "json").stdout)
    assert [e["id"] for e in ones] == sorted([ids[1], ids[5]])  # values "1..."
    assert run("lists", "entries", "L", "--label", "zzz").stdout == "no entries\n"
    bad = run("lists", "entries", "L", "--search", "xyz")
    assert bad.exit_code == 2 and "search prefix 'xyz': expected hex digits" in bad.output
    assert run("lists", "entries", "l").exit_code == 3
