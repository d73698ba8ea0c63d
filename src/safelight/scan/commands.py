"""``safelight scan`` and ``safelight scans ls|show``: parse, call the runner, format."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from safelight.cli_options import (
    follow_links_option,
    format_option,
    hash_mode_options,
    jobs_option,
    json_alias,
    lists_option,
    out_option,
    quiet_option,
)
from safelight.constants import (
    SCAN_BATCH_ITEMS,
    SCAN_MAX_ARCHIVE_BYTES,
    SCAN_MAX_ARCHIVE_DEPTH,
    SCAN_MAX_ARCHIVE_MEMBERS,
    SCAN_MAX_COMPRESSION_RATIO,
    SCAN_MAX_MEMBER_BYTES,
)
from safelight.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, UsageError
from safelight.scan.archives import ArchiveLimits
from safelight.scan.runs import RunStore
from safelight.signals.options import Mode

if TYPE_CHECKING:
    from safelight.scan.progress import Progress
from safelight.store import Database
from safelight.timestamps import utc_timestamp


def _progress(quiet: bool) -> Progress:
    # Imported here so that `safelight --help` and other commands do not load the hashing
    # pipeline (Pillow, numba) that the scan runner pulls in.
    from safelight.scan.progress import LiveProgress, LogProgress, NullProgress

    if quiet:
        return NullProgress()
    if sys.stderr.isatty():
        return LiveProgress()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    return LogProgress()


def format_summary(summary: dict[str, Any]) -> str:
    lists = summary.get("lists")
    lines = [
        f"scan run {summary['run']}: {summary['status']}",
        *([f"  lists   {', '.join(lists) or 'none (hashed only)'}"] if lists is not None else []),
        f"  items   {summary['items']} ({summary['bytes']} bytes)"
        + (
            f", {summary['skipped_already_recorded']} recorded before resuming"
            if summary.get("skipped_already_recorded")
            else ""
        ),
        f"  matched {summary['matched_items']} items ({summary['matches']} matches)",
    ]
    for name, count in summary["matches_per_list"].items():
        lines.append(f"    list  {name}: {count}")
    for label, count in summary["matches_per_label"].items():
        lines.append(f"    label {label}: {count}")
    lines.append(f"  errors  {summary['errors']}")
    for code, count in summary["errors_per_code"].items():
        lines.append(f"    {code}: {count}")
    if "items_per_second" in summary:
        lines.append(
            f"  speed   {summary['items_per_second']} items/s, "
            f"{summary['bytes_per_second'] / 1e6:.1f} MB/s over {summary['seconds']} s"
        )
    return "\n".join(lines)


@click.command("scan")
@click.argument("sources", nargs=-1)
@lists_option()
@click.option("--no-match", is_flag=True, help="Hash only: match against no list.")
@jobs_option()
@click.option(
    "--cluster", default=None, help="Dask scheduler address (tcp://host:8786) or 'local'."
)
@out_option(help="Write one JSON line per item (JSONL) to this file.")
@click.option(
    "--resume", type=click.IntRange(min=1), default=None, help="Finish an interrupted run."
)
@quiet_option
@format_option("table", "json", default="table", help="Output format of the summary.")
@json_alias
@hash_mode_options
@click.option(
    "--batch-items",
    type=click.IntRange(min=1),
    default=SCAN_BATCH_ITEMS,
    show_default=True,
    help="Items per work batch and store transaction (a parallel run ends on smaller ones).",
)
@click.option(
    "--max-ratio",
    type=click.FloatRange(min=1.0),
    default=SCAN_MAX_COMPRESSION_RATIO,
    show_default=True,
    help="Largest compression ratio of an archive member.",
)
@click.option(
    "--max-member-bytes",
    type=click.IntRange(min=1),
    default=SCAN_MAX_MEMBER_BYTES,
    show_default=True,
    help="Largest archive member or file read whole.",
)
@click.option(
    "--max-archive-bytes",
    type=click.IntRange(min=1),
    default=SCAN_MAX_ARCHIVE_BYTES,
    show_default=True,
    help="Largest total an archive may expand to.",
)
@click.option(
    "--max-depth",
    type=click.IntRange(min=0),
    default=SCAN_MAX_ARCHIVE_DEPTH,
    show_default=True,
    help="Archive levels opened: 0 opens none (hashed as files), 1 only top-level ones.",
)
@follow_links_option
@click.option(
    "--max-members",
    type=click.IntRange(min=1),
    default=SCAN_MAX_ARCHIVE_MEMBERS,
    show_default=True,
    help="Most members read from one archive.",
)
def scan_command(
    sources: tuple[str, ...],
    lists: tuple[str, ...],
    no_match: bool,
    jobs: int,
    cluster: str | None,
    out: Path | None,
    resume: int | None,
    quiet: bool,
    output_format: str,
    max_ratio: float,
    max_member_bytes: int,
    max_archive_bytes: int,
    max_depth: int,
    max_members: int,
    follow_links: bool,
    batch_items: int,
    mode: Mode,
) -> None:
    """Scan folders, archives, @manifests and URIs (s3://...) against hash lists.

    Exit status: 0 all items hashed, 1 some items failed (recorded per item), 2 usage
    error, 3 unknown list or run, 4 resuming a finished run, 130 interrupted (Ctrl-C;
    the run is resumable).
    """
    if no_match and lists:
        raise UsageError("--no-match and --list exclude each other: choose one")
    if resume is None and not sources:
        raise UsageError("give at least one SOURCE to scan (or --resume RUN_ID)")
    if resume is not None and (lists or no_match):
        raise UsageError(
            f"scan run {resume} keeps the lists it started with: give no --list or --no-match"
        )
    from safelight.scan.runner import ScanInterrupted, ScanOptions, run_scan

    limits = ArchiveLimits(max_ratio, max_member_bytes, max_archive_bytes, max_depth, max_members)
    options = ScanOptions(
        sources=list(sources),
        lists=[] if no_match else list(lists) or None,
        jobs=jobs,
        cluster=cluster,
        out=out,
        limits=limits,
        batch_items=batch_items,
        mode=mode,
        follow_links=follow_links,
    )
    try:
        with Database.open() as db:
            summary = run_scan(db, options, resume=resume, progress=_progress(quiet))
    except ScanInterrupted as stop:
        _interrupted(stop.summary.to_dict(), output_format)
    except KeyboardInterrupt:
        click.echo("interrupted before the scan run started; nothing was recorded", err=True)
        sys.exit(EXIT_INTERRUPTED)
    report = summary.to_dict()
    _echo_summary(report, output_format)
    sys.exit(EXIT_SOME_FAILED if summary.total.errors else EXIT_OK)


def _echo_summary(report: dict[str, Any], output_format: str) -> None:
    click.echo(json.dumps(report, indent=2) if output_format == "json" else format_summary(report))


def _interrupted(report: dict[str, Any], output_format: str) -> NoReturn:
    _echo_summary(report, output_format)
    # The run keeps its sources, lists, limits and --out file: this is the whole command.
    click.echo(f"interrupted: finish it with `safelight scan --resume {report['run']}`", err=True)
    sys.exit(EXIT_INTERRUPTED)


@click.group("scans")
def scans_group() -> None:
    """Scan runs recorded in the store."""


@scans_group.command("ls")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@format_option("table", "json", default="table")
@json_alias
def scans_ls(limit: int, output_format: str) -> None:
    """The most recent scan runs."""
    with Database.open() as db:
        runs = RunStore(db).list_runs(limit)
    if output_format == "json":
        click.echo(json.dumps([run.to_dict() for run in runs], indent=2))
        return
    click.echo(
        f"{'id':>5}  {'status':<11}  {'started':<25}  {'items':>8}  {'matched':>7}  "
        f"{'errors':>6}  sources"
    )
    for run in runs:
        click.echo(
            f"{run.id:>5}  {run.status:<11}  {utc_timestamp(run.started_at):<25}  {run.items:>8}  "
            f"{run.matched_items:>7}  {run.errors:>6}  {' '.join(run.sources)}"
        )


@scans_group.command("show")
@click.argument("run_id", type=int)
@format_option("table", "json", default="table")
@json_alias
@click.option("--matches", "show_matches", is_flag=True, help="Also list every matched item.")
def scans_show(run_id: int, output_format: str, show_matches: bool) -> None:
    """One run: its sources, lists and summary (computed from its recorded items)."""
    with Database.open() as db:
        store = RunStore(db)
        run = store.get(run_id)
        tally = store.tally(run_id)
        matched = (
            [r.to_dict() for r in store.iter_results(run_id, matched_only=True)]
            if show_matches
            else []
        )
    report = {**run.to_dict(), **tally.to_dict(), "run": run.id}
    if show_matches:
        report["matched"] = matched
    if output_format == "json":
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(format_summary(report))
    click.echo(f"  sources {' '.join(run.sources)}")
    finished = utc_timestamp(run.finished_at) if run.finished_at else "-"
    click.echo(f"  started {utc_timestamp(run.started_at)}  finished {finished}")
    for item in matched:
        hits = ", ".join(
            f"{m['list']}#{m['entry_id']} {m['signal_type']} d={m['distance']}"
            for m in item["matches"]
        )
        click.echo(f"  match   {item['path']}: {hits}")


__all__ = ["scan_command", "scans_group"]
