"""End to end on simulated logs with a known answer: counts, planted groups, leads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from safelight.cli import main
from safelight.errors import UsageError
from safelight.network.pipeline import AnalysisRun, analyze_case, ingest, run_demo_network
from safelight.network.simulate import adjusted_rand_index
from safelight.store import Database
from safelight.workers import processes


def dense_ari(a: np.ndarray, b: np.ndarray) -> float:
    """The oracle: Hubert & Arabie (1985) ARI from the dense contingency table."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    index = pairs(table)
    rows, cols, total = pairs(table.sum(1)), pairs(table.sum(0)), pairs(np.array([len(a)]))
    expected = rows * cols / total
    return (index - expected) / ((rows + cols) / 2 - expected)


def test_ari_oracle() -> None:
    for ari in (dense_ari, adjusted_rand_index):
        assert ari(np.array([0, 0, 1, 1]), np.array([5, 5, 7, 7])) == 1.0
        assert ari(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) < 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7)), min_size=2, max_size=60))
def test_sparse_ari_agrees_with_the_dense_oracle(labels: list[tuple[int, int]]) -> None:
    a = np.array([x for x, _ in labels])
    b = np.array([y for _, y in labels])
    try:
        dense = dense_ari(a, b)
    except ZeroDivisionError:  # both labellings trivial (one group, or all apart): undefined
        with pytest.raises(ZeroDivisionError):
            adjusted_rand_index(a, b)
        return
    assert abs(adjusted_rand_index(a, b) - dense) < 1e-12


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sim")
    runner = CliRunner()
    sim = root / "sim" / "sightings.csv"
    result = runner.invoke(
        main,
        [
            "network",
            "simulate",
            "--connections",
            "900",
            "--countries",
            "14",
            "--groups",
            "9",
            "--files",
            "700",
            "--seed",
            "11",
            "--out",
            str(sim),
        ],
    )
    assert result.exit_code == 0, result.output
    home = root / "home"
    db = Database.open(f"sqlite:///{home / 'store.db'}")
    ingest(db, "sim", [sim], list_files=[sim.parent / "known.csv"], home=home)
    run = analyze_case(db, "sim", root / "out", geo_paths=[sim.parent / "geo.mmdb"], home=home)
    truth = json.loads((sim.parent / "truth.json").read_text())
    planted = pd.read_csv(sim.parent / "truth_connections.csv")
    yield {"db": db, "home": home, "run": run, "truth": truth, "planted": planted, "root": root}
    db.dispose()


def test_exact_counts_of_connections_and_countries(simulated: dict[str, Any]) -> None:
    run: AnalysisRun = simulated["run"]
    truth = simulated["truth"]
    h = run.report["headline"]
    assert h["connections_total"] == truth["connections"]
    assert h["connections"] == truth["connections_with_known"]
    assert h["countries"] == truth["countries"]
    assert h["countries_unknown_connections"] == 0
    assert h["known_files"] == truth["known_files_sighted"]
    assert h["sightings"] == truth["distinct_good_rows"]
    assert h["groups"] == truth["groups"]
    countries = run.analysis.tables["countries"]
    planted = simulated["planted"]
    expected = planted.groupby("country").size().sort_index()
    got = countries.set_index("country")["connections_total"].sort_index()
    assert got.to_dict() == expected.to_dict()


def test_timestamps_are_utc_with_an_explicit_offset(simulated: dict[str, Any]) -> None:
    # One rule for every timestamp Safelight writes (docs/scan.md): ISO 8601, +00:00.
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
    report = simulated["run"].report
    headline = report["headline"]
    for value in (report["generated_at"], headline["first_seen"], headline["last_seen"]):
        assert stamp.match(value), value
    leads = simulated["run"].analysis.tables["leads"]
    assert leads["first_seen"].map(lambda v: bool(stamp.match(v))).all()


def test_planted_groups_are_recovered(simulated: dict[str, Any]) -> None:
    leads = simulated["run"].analysis.tables["leads"].set_index("connection")
    planted = simulated["planted"].set_index("ip")
    common = leads.index.intersection(planted.index)
    assert len(common) == simulated["truth"]["connections_with_known"]
    ari = adjusted_rand_index(
        planted.loc[common, "group"].to_numpy(), leads.loc[common, "group"].to_numpy()
    )
    assert ari >= 0.9, ari


def test_top_leads_contain_the_heavy_sharers(simulated: dict[str, Any]) -> None:
    leads = simulated["run"].analysis.tables["leads"]
    heavy = set(simulated["truth"]["heavy_sharers"])
    top = set(leads["connection"].head(len(heavy) * 2))
    assert len(heavy & top) >= 0.9 * len(heavy)
    assert leads["rank"].tolist() == list(range(1, len(leads) + 1))
    assert (np.diff(leads["known_files"].to_numpy()) <= 0).all()


def test_candidates_are_unknown_files_shared_by_known_holders(simulated: dict[str, Any]) -> None:
    tables = simulated["run"].analysis.tables
    candidates = tables["candidates"]
    known = set(tables["known_files"]["file_key"])
    assert len(candidates) > 0
    assert not set(candidates["file_key"]) & known
    assert (candidates["holders_with_known"] >= 2).all()
    assert simulated["run"].report["headline"]["unknown_candidate_files"] == len(candidates)


def test_removal_impact_is_monotone(simulated: dict[str, Any]) -> None:
    removal = simulated["run"].analysis.tables["removal"]
    available = removal["known_files_available"].to_numpy()
    assert len(removal) == 20 and (np.diff(available) <= 0).all()
    assert (
        available[0] + removal["files_lost"].iloc[0]
        == (simulated["run"].report["headline"]["known_files"])
    )


def test_outputs_and_referrals(simulated: dict[str, Any]) -> None:
    out = simulated["root"] / "out"
    report = json.loads((out / "report.json").read_text())
    assert report["schema"] == "safelight.network.report/1"
    assert "IP addresses" in report["notice"]
    for name in report["tables"].values():
        assert (out / name).is_file()
    assert report["sources"]["geolocation"]["name"].startswith("MaxMind DB: geo.mmdb")
    assert report["sources"]["known_material"] == "hash list files: known"
    leads = pd.read_csv(out / "leads.csv")
    by_country = leads.groupby("country").size()
    for country, count in by_country.items():
        referral = json.loads((out / "referrals" / str(country) / "leads.json").read_text())
        assert referral["country"] == country and len(referral["leads"]) == count
        assert len(pd.read_csv(out / "referrals" / str(country) / "leads.csv")) == count
    timeline = pd.read_csv(out / "timeline.csv")
    assert timeline["sightings"].sum() == report["headline"]["sightings"]


def test_peer_mode_merges_ips_of_one_peer(simulated: dict[str, Any]) -> None:
    run = analyze_case(
        simulated["db"], "sim", simulated["root"] / "peer", mode="peer", home=simulated["home"]
    )
    planted = simulated["planted"]
    with_known = set(simulated["run"].analysis.tables["leads"]["connection"])
    peers = planted[planted["ip"].isin(with_known)]["peer_id"].nunique()
    assert run.report["headline"]["connections"] == peers
    assert run.report["headline"]["connections_total"] == simulated["truth"]["peers"]
    # Without a configured database, countries are unknown rather than invented.
    assert run.report["headline"]["countries"] == 0


def test_dask_gives_the_same_ingest_and_report(tmp_path: Path, simulated: dict[str, Any]) -> None:
    """Parsing and aggregation on a Dask cluster (one started by --cluster local, then a
    running scheduler by address) give exactly the single-process results."""
    from distributed import LocalCluster

    sim = simulated["root"] / "sim"
    db = Database.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        _, [on_dask] = ingest(
            db,
            "d",
            [sim / "sightings.csv"],
            list_files=[sim / "known.csv"],
            cluster="local",
            home=tmp_path,
        )
        with LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        ) as cluster:
            run = analyze_case(
                db,
                "d",
                tmp_path / "dask",
                geo_paths=[sim / "geo.mmdb"],
                cluster=cluster.scheduler_address,
                home=tmp_path,
            )
    finally:
        db.dispose()
    assert on_dask.rows_good == simulated["truth"]["distinct_good_rows"]
    assert on_dask.rows_bad == simulated["truth"]["bad_rows"]
    single = dict(simulated["run"].report)
    distributed = dict(run.report)
    for report in (single, distributed):
        report.pop("generated_at")
        report.pop("case")
    assert distributed == single


def test_unreachable_scheduler_is_a_usage_error(tmp_path: Path, simulated: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="use 'local' or a scheduler"):
        analyze_case(simulated["db"], "sim", tmp_path, cluster="nowhere", home=simulated["home"])


def test_demo_returns_the_headline(tmp_path: Path) -> None:
    headline = run_demo_network(tmp_path / "demo")
    assert headline["connections"] > 0 and headline["groups"] >= 2
    assert (tmp_path / "demo" / "report" / "report.html").is_file()


@pytest.mark.parametrize("jobs", [1, 2])
def test_overlapping_exports_give_the_same_picture(
    tmp_path: Path, simulated: dict[str, Any], jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two overlapping halves of the log, ingested separately, analyze like the whole; with
    two worker processes (two files, two parts: each map runs in the pool) too."""
    pools: list[int] = []
    new_pool = processes.new_pool

    def counted(workers: int, **kwargs: Any) -> Any:
        pools.append(workers)
        return new_pool(workers, **kwargs)

    monkeypatch.setattr(processes, "new_pool", counted)
    lines = (simulated["root"] / "sim" / "sightings.csv").read_text().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    cut = len(body) // 2
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(header + "".join(body[: cut + 200]))
    second.write_text(header + "".join(body[cut:]))
    db = Database.open(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        known = simulated["root"] / "sim" / "known.csv"
        _, [a, b] = ingest(
            db, "halves", [first, second], list_files=[known], home=tmp_path, jobs=jobs
        )
        run = analyze_case(
            db,
            "halves",
            tmp_path / "out",
            geo_paths=[simulated["root"] / "sim" / "geo.mmdb"],
            home=tmp_path,
            jobs=jobs,
        )
    finally:
        db.dispose()
    assert b.rows_duplicate >= 200
    assert pools == ([] if jobs == 1 else [2, 2])  # one pool for ingest, one for analysis
    whole = simulated["run"].report
    assert run.report["headline"] == whole["headline"]
    assert run.report["leads"] == whole["leads"]


def test_one_part_dictionaries_need_no_regrouping() -> None:
    from safelight.network.aggregate import (
        FILE_COLUMNS,
        EntityOptions,
        combine_dictionaries,
        first_per_file,
        group,
    )

    rng = np.random.default_rng(5)
    n = 300
    keys = rng.integers(0, 40, n)
    table = pa.table(
        {
            "file_key": [f"k{k:02d}" for k in keys],
            "md5": [f"{k:032x}" if rng.random() < 0.4 else "" for k in keys],
            "sha1": [f"{k:040x}" if rng.random() < 0.7 else "" for k in keys],
            "sha256": [""] * n,
            "pdq": [""] * n,
            "file_name": [f"f{k}-{rng.integers(0, 3)}" for k in keys],
            "size": rng.integers(1, 9, n),
        }
    )
    files = first_per_file(table)
    partial = {
        "files": files,
        "clients": pa.array(["c"]),
        "protocols": pa.array(["p"]),
        "ips": pa.array(["192.0.2.1"]),
        "conns": pa.array(["192.0.2.1"]),
    }
    got = combine_dictionaries([partial], EntityOptions()).files
    regrouped = group(files, ["file_key"], [(c, "max") for c in FILE_COLUMNS])
    regrouped = regrouped.rename_columns({f"{c}_max": c for c in FILE_COLUMNS})
    expected = regrouped.sort_by([("file_key", "ascending")]).to_pandas()
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected[got.columns].reset_index(drop=True)
    )


def test_resolution_splits_groups_and_is_reported(simulated: dict[str, Any]) -> None:
    base: AnalysisRun = simulated["run"]
    assert base.report["resolution"] == 1.0
    finer = analyze_case(
        simulated["db"], "sim", simulated["root"] / "out-finer", home=simulated["home"],
        resolution=50.0,
    )  # fmt: skip
    assert finer.report["resolution"] == 50.0
    assert "group resolution 50" in (simulated["root"] / "out-finer" / "report.html").read_text()
    assert finer.report["headline"]["groups"] > base.report["headline"]["groups"]
    # Only the grouping moves: the same connections and files.
    assert finer.report["headline"]["connections"] == base.report["headline"]["connections"]


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_bad_resolution_is_a_usage_error(simulated: dict[str, Any], value: str) -> None:
    result = CliRunner().invoke(
        main,
        ["network", "analyze", "--case", "sim", "--out", str(simulated["root"] / "x"),
         "--resolution", value],
        env={"SAFELIGHT_HOME": str(simulated["home"])},
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "resolution: expected a number above 0" in result.output
