"""``safelight network``: ingest sighting logs, analyze a case, simulate logs with a truth."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from safelight.cli_options import format_option, jobs_option, json_alias, lists_option, out_option
from safelight.constants import NETWORK_LOUVAIN_RESOLUTION
from safelight.errors import EXIT_OK, EXIT_SOME_FAILED, ConflictError, OutputExistsError
from safelight.store import Database

existing = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("network")
def network() -> None:
    """Distribution networks: from sighting logs to groups, countries and leads."""


@network.command("ingest")
@click.argument("files", nargs=-1, required=True, type=existing)
@click.option("--case", "case_name", required=True, help="Case to add the sightings to.")
@lists_option()
@click.option(
    "--list-file", "list_files", multiple=True, type=existing, help="Hash-list CSV to match."
)
@click.option("--mapping", type=existing, help="TOML file naming the log's columns.")
@click.option("--cluster", help="Parse on Dask: 'local' or tcp://scheduler:8786.")
@jobs_option("Worker processes on this machine (above 1: local processes; see --cluster)")
@format_option("table", "json", default="table", help="Output format of the summary.")
@json_alias
def ingest_command(
    files: tuple[Path, ...],
    case_name: str,
    lists: tuple[str, ...],
    list_files: tuple[Path, ...],
    mapping: Path | None,
    cluster: str | None,
    jobs: int,
    output_format: str,
) -> None:
    """Ingest sighting logs (CSV, JSON lines, Parquet) into a case.

    Bad rows are reported by file, line and reason (all of them in the rejects file); good
    rows are kept. Ingesting the same file again changes nothing.
    """
    from safelight.network.pipeline import ingest

    with Database.open() as db:
        _, summaries = ingest(
            db,
            case_name,
            list(files),
            lists=lists,
            list_files=list_files,
            mapping=mapping,
            cluster=cluster,
            jobs=jobs,
        )
    if output_format == "json":
        click.echo(json.dumps([s.to_dict() for s in summaries], indent=2))
    else:
        for s in summaries:
            if s.status != "ingested":
                click.echo(f"{s.source}: {s.status}, nothing added")
                continue
            click.echo(
                f"{s.source}: {s.rows_good:,} rows kept, {s.rows_bad:,} bad, "
                f"{s.rows_duplicate:,} duplicate; files: {s.known_files:,} known, "
                f"{s.unknown_files:,} unknown ({s.known_sightings:,} known sightings)"
            )
            for line, reason in s.problems:
                click.echo(f"  {s.source}:{line}: {reason}", err=True)
            if s.rows_bad > len(s.problems):
                click.echo(f"  ... all {s.rows_bad:,} bad rows in {s.rejects_path}", err=True)
    sys.exit(EXIT_SOME_FAILED if any(s.rows_bad for s in summaries) else EXIT_OK)


@network.command("cases")
@format_option("table", "json", default="table")
def cases_command(output_format: str) -> None:
    """One line per case: name, ingests, rows kept and rejected, lists, last ingest."""
    from safelight.network.sightings import list_cases

    with Database.open() as db:
        cases = list_cases(db)
    records = [case.to_dict() for case in cases]
    if output_format == "json":
        click.echo(json.dumps(records, indent=2))
        return
    if not records:
        click.echo(
            "no cases (ingest logs into one with: safelight network ingest FILE --case NAME)"
        )
        return
    rows = [["NAME", "INGESTS", "ROWS", "BAD", "LAST INGEST", "LISTS"]]
    for case, record in zip(cases, records, strict=True):
        rows.append(
            [
                case.name,
                str(case.ingests),
                f"{case.rows_good:,}",
                f"{case.rows_bad:,}",
                str(record["last_ingest_at"] or "-"),
                ", ".join(case.lists) or "every enabled list",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@network.command("analyze")
@click.option("--case", "case_name", required=True, help="The case to analyze.")
@out_option(
    folder=True,
    required=True,
    help="Folder of the report (report.html, report.json, one CSV per table, referrals); "
    "replaced whole, so new, empty or an earlier report.",
)
@click.option(
    "--entity",
    type=click.Choice(["ip", "ip-port", "peer"]),
    default="ip",
    show_default=True,
    help="What a connection is: an IP, IP and port, or a peer id merged across IPs.",
)
@click.option(
    "--geo", "geo_paths", multiple=True, type=existing, help="MaxMind .mmdb (country, ASN)."
)
@click.option("--cluster", help="Aggregate on Dask: 'local' or tcp://scheduler:8786.")
@jobs_option("Worker processes on this machine (above 1: local processes; see --cluster)")
@click.option(
    "--resolution",
    type=float,
    default=NETWORK_LOUVAIN_RESOLUTION,
    show_default=True,
    help="Louvain resolution: 1 is modularity; higher finds more, smaller groups.",
)
def analyze_command(
    case_name: str,
    out: Path,
    entity: str,
    geo_paths: tuple[Path, ...],
    cluster: str | None,
    jobs: int,
    resolution: float,
) -> None:
    """Groups, countries, leads and candidate files of a case, as JSON, CSV and HTML."""
    from safelight.network.geo import NoGeo
    from safelight.network.pipeline import analyze_case

    with Database.open() as db:
        run = analyze_case(
            db,
            case_name,
            out,
            mode=entity,
            geo_paths=list(geo_paths),
            cluster=cluster,
            jobs=jobs,
            resolution=resolution,
        )
    h = run.report["headline"]
    click.echo(
        f"{h['connections']:,} connections in {h['countries']:,} countries exchanging known "
        f"files in {h['groups']:,} groups; {h['known_files']:,} known files, "
        f"{h['unknown_candidate_files']:,} unknown candidate files; "
        f"{h['first_seen']} to {h['last_seen']}"
    )
    for note in run.report["notes"]:
        click.echo(f"note: {note}", err=True)
    if run.report["sources"]["geolocation"].get("name") == NoGeo.source.name:
        click.echo("hint: --geo FILE.mmdb (MaxMind) gives countries and networks", err=True)
    click.echo(f"report: {out / 'report.html'} (contains IP addresses: handle as sensitive)")


@network.command("simulate")
@click.option("--connections", type=int, required=True)
@click.option("--countries", type=int, required=True)
@click.option("--groups", type=int, required=True)
@click.option("--files", type=int, required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--sightings", type=int, help="Total good sightings (default 10 per connection).")
@out_option(
    required=True,
    help="The sightings file (.csv or .parquet); four companion files go beside it.",
)
@click.option("--force", is_flag=True, help="Overwrite files an earlier simulation wrote.")
def simulate_command(
    connections: int,
    countries: int,
    groups: int,
    files: int,
    seed: int,
    sightings: int | None,
    out: Path,
    force: bool,
) -> None:
    """Synthetic sighting logs with a truth file, known list and geolocation database.

    Writes OUT and, beside it, truth.json, truth_connections.csv, known.csv and geo.mmdb;
    names every file written. Existing files are kept unless --force is given.
    """
    from safelight.network.simulate import simulate, simulation_files

    try:
        truth = simulate(
            out,
            connections=connections,
            countries=countries,
            groups=groups,
            files=files,
            seed=seed,
            sightings=sightings,
            overwrite=force,
        )
    except OutputExistsError as exc:
        raise ConflictError(f"{exc.message} (--force overwrites them)") from None
    click.echo(
        f"{truth.good_rows:,} good rows, {truth.bad_rows:,} bad, "
        f"{truth.duplicate_rows:,} duplicated; {truth.connections:,} connections in "
        f"{truth.countries} countries, {truth.groups} planted groups"
    )
    for path in simulation_files(out):
        click.echo(f"wrote {path}")
