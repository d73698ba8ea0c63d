"""``safelight lists ...``: create, inspect, import, export, enable/disable, remove lists."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from safelight import csvguard
from safelight.cli_options import deprecated, format_option, out_option, renamed_option
from safelight.constants import PDQ_MATCH_THRESHOLD, PDQ_MAX_LIST_THRESHOLD
from safelight.csvguard import guard_cell
from safelight.errors import EXIT_SOME_FAILED, UsageError, ValidationError
from safelight.lists.formats import EXPORT_FORMATS, IMPORT_FORMATS
from safelight.lists.models import Entry, HashList, ImportReport, ListSummary, Problem
from safelight.lists.records import ParseOptions, parse_column_map, parse_timestamp
from safelight.lists.store import FOREVER, HashListStore, PastTimeError
from safelight.lists.values import validate_label
from safelight.outputs import atomic_text, open_text
from safelight.store import Database

# click >= 8.5 types Choice by value; older clicks (>= 8.1 is supported) cannot subscript it.
if TYPE_CHECKING:
    _Choice = click.Choice[str]
else:
    _Choice = click.Choice

UNTYPED_HINT = (
    "declare the type of untyped values: --type TYPE for the whole file, 'TYPE HEX' per line, "
    "a type column (--map type=COLUMN), or a list default (safelight lists create {name} "
    "--type TYPE)"
)


@contextmanager
def _store() -> Iterator[HashListStore]:
    """The store of $SAFELIGHT_DATABASE_URL / $SAFELIGHT_HOME, closed after the command."""
    with Database.open() as db:
        yield HashListStore(db)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    if moment == FOREVER:
        return "forever"
    return moment.isoformat(timespec="seconds")


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _timestamp(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


class ReportFormat(_Choice):
    """``table`` or ``json``; also, for old scripts, an input format (``--format csv`` named
    the input before ``--input-format``), which the command takes with a warning."""

    def __init__(self) -> None:
        super().__init__(["table", "json"])

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in IMPORT_FORMATS:
            return value
        return super().convert(value, param, ctx)


@click.group("lists")
def lists_group() -> None:
    """Hash lists ("banks"): named sets of hashes with labels and provenance."""


@lists_group.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the list holds.")
@click.option("--source", default="", help="Who provides it (e.g. NCMEC, IWF, own reports).")
@click.option("--terms", "terms_of_use", default="", help="Terms of use of the list.")
@click.option(
    "--pdq-threshold",
    type=click.IntRange(0, PDQ_MAX_LIST_THRESHOLD),
    default=PDQ_MATCH_THRESHOLD,
    show_default=True,
    help="Largest PDQ Hamming distance that counts as a match for this list.",
)
@click.option("--disabled", is_flag=True, help="Create the list disabled (not matched).")
@click.option(
    "--type",
    "default_type",
    metavar="TYPE",
    help="Signal type of values later imported without one (e.g. sha256 for a list of digests).",
)
@click.option(
    "--allow",
    is_flag=True,
    help="An allow list: known false positives; its matches suppress block matches.",
)
@click.option(
    "--flood-threshold",
    type=click.IntRange(0),
    help="Pause an entry matching more distinct queries than this in the window (0: off; "
    "default 100).",
)
@click.option(
    "--flood-window",
    "flood_window",
    type=click.IntRange(1),
    metavar="SECONDS",
    help="Flood protection's window (default 3600).",
)
@format_option("table", "json", default="table")
def create_command(
    name: str,
    description: str,
    source: str,
    terms_of_use: str,
    pdq_threshold: int,
    disabled: bool,
    default_type: str | None,
    allow: bool,
    flood_threshold: int | None,
    flood_window: int | None,
    output_format: str,
) -> None:
    """Create list NAME (UPPER_WITH_UNDERSCORE, as HMA bank names)."""
    with _store() as store:
        created = store.create(
            name,
            description=description,
            source=source,
            terms_of_use=terms_of_use,
            pdq_threshold=pdq_threshold,
            enabled=not disabled,
            default_signal_type=default_type,
            allow=allow,
            flood_threshold=flood_threshold,
            flood_window_s=flood_window,
        )
    if output_format == "json":
        _echo_json(created.to_dict())
    else:
        click.echo(f"created {'allow ' if allow else ''}list {created.name}")


@lists_group.command("ls")
@format_option(
    "table", "json", "jsonl", default="table", help="Output format (jsonl: one object per list)."
)
def ls_command(output_format: str) -> None:
    """One line per list: name, enabled, entries, PDQ threshold, generation, source."""
    with _store() as store:
        lists = store.list()
        counts = store.entry_counts()
    records = [{**hl.to_dict(), "entries": counts.get(hl.name, 0)} for hl in lists]
    if output_format == "json":
        _echo_json(records)
    elif output_format == "jsonl":
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
    elif not lists:
        click.echo("no lists (create one with: safelight lists create NAME)")
    else:
        rows = [["NAME", "ENABLED", "ENTRIES", "PDQ", "GEN", "SOURCE"]]
        rows += [_ls_row(hl, counts.get(hl.name, 0)) for hl in lists]
        _table(rows)


def _ls_row(hl: HashList, entries: int) -> list[str]:
    return [
        hl.name,
        _yes_no(hl.enabled),
        str(entries),
        str(hl.pdq_threshold),
        str(hl.generation),
        hl.source,
    ]


@lists_group.command("show")
@click.argument("name")
@click.option("--imports", default=10, show_default=True, help="How many recent imports to list.")
@format_option("table", "json", default="table")
def show_command(name: str, imports: int, output_format: str) -> None:
    """Metadata of list NAME, its counts per signal type and label, its latest imports."""
    with _store() as store:
        summary = store.summary(name, imports=imports)
    if output_format == "json":
        _echo_json(summary.to_dict())
    else:
        _print_summary(summary)


def _print_summary(summary: ListSummary) -> None:
    hl = summary.hash_list
    _table(
        [
            ["name:", hl.name],
            ["description:", hl.description],
            ["source:", hl.source],
            ["terms of use:", hl.terms_of_use],
            ["enabled:", _yes_no(hl.enabled)],
            ["pdq threshold:", str(hl.pdq_threshold)],
            ["default type:", hl.default_signal_type or "- (typed by length)"],
            ["generation:", str(hl.generation)],
            ["created:", _when(hl.created_at)],
            ["updated:", _when(hl.updated_at)],
            ["entries:", f"{summary.entries} ({summary.disabled_entries} disabled now)"],
        ]
    )
    for title, counts in (("by signal type:", summary.by_type), ("by label:", summary.by_label)):
        click.echo(title)
        if counts:
            _table([["", key, str(count)] for key, count in counts.items()])
        else:
            click.echo("  (none)")
    click.echo("imports (latest first):")
    if not summary.imports:
        click.echo("  (none)")
    for info in summary.imports:
        click.echo(
            f"  #{info.id} {_when(info.imported_at)} by {info.imported_by}: {info.source_path} "
            f"({info.format}, sha256 {info.sha256}) records {info.records}, "
            f"added {info.added}, invalid {info.invalid}"
        )


ENTRY_CSV_COLUMNS = ["id", "list", "type", "value", "labels", "note", "disabled_until", "import_id"]


@lists_group.command("entries")
@click.argument("name")
@click.option("--label", metavar="LABEL", help="Only entries carrying this label.")
@click.option("--type", "signal_type", metavar="TYPE", help="Only entries of this signal type.")
@click.option("--search", metavar="HEX", help="Only values starting with these hex digits.")
@click.option(
    "--disabled/--enabled",
    "disabled",
    default=None,
    help="Only entries disabled now / enabled now (default: both).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many entries (0: all).",
)
@click.option("--after-id", type=int, metavar="ID", help="Only ids above this (next page).")
@format_option("table", "json", "jsonl", "csv", default="table")
def entries_command(
    name: str,
    label: str | None,
    signal_type: str | None,
    search: str | None,
    disabled: bool | None,
    limit: int,
    after_id: int | None,
    output_format: str,
) -> None:
    """List or search the entries of list NAME in id order (ids are what --entry takes)."""
    with _store() as store:
        found = store.find_entries(
            name,
            label=label,
            signal_type=signal_type,
            prefix=search,
            disabled=disabled,
            after_id=after_id,
            limit=limit + 1 if limit else None,
        )
        now = store.clock()
    more = bool(limit) and len(found) > limit
    shown = found[:limit] if limit else found
    if output_format == "json":
        _echo_json([entry.to_dict() for entry in shown])
    elif output_format == "jsonl":
        for entry in shown:
            click.echo(json.dumps(entry.to_dict(), ensure_ascii=False))
    elif output_format == "csv":
        _entries_csv(shown)
    elif not shown:
        click.echo("no entries")
    else:
        rows = [["ID", "TYPE", "VALUE", "LABELS", "STATE"]]
        rows += [_entry_row(entry, now) for entry in shown]
        _table(rows)
    if more:
        click.echo(f"more entries: --after-id {shown[-1].id}", err=True)


def _entries_csv(entries: list[Entry]) -> None:
    writer = csvguard.writer(sys.stdout, lineterminator="\n")
    writer.writerow(ENTRY_CSV_COLUMNS)
    for entry in entries:
        row = entry.to_dict()
        row["labels"] = "|".join(row["labels"])
        writer.writerow([row[column] for column in ENTRY_CSV_COLUMNS])


def _entry_row(entry: Entry, now: datetime) -> list[str]:
    value = entry.value
    if entry.signal_type == "vpdq":
        value = f"({len(json.loads(value))} frames)"
    if entry.is_enabled(now):
        state = "enabled"
    elif entry.disabled_until == FOREVER:
        state = "disabled"
    else:
        state = f"disabled until {_when(entry.disabled_until)}"
    return [str(entry.id), entry.signal_type, value, "|".join(sorted(entry.labels)), state]


@contextmanager
def _problem_file(path: Path | None) -> Iterator[Callable[[Problem], None] | None]:
    if path is None:
        yield None
        return
    with open_text(path) as out:
        out.write("location\treason\n")

        def write(problem: Problem) -> None:
            out.write(f"{guard_cell(problem.location)}\t{guard_cell(problem.reason)}\n")

        yield write


@lists_group.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--input-format",
    "fmt",
    type=click.Choice(IMPORT_FORMATS),
    help="Format of FILE (default: from the extension; .csv .tsv .jsonl .json .vpdq, else lines).",
)
@click.option(
    "--type",
    "default_type",
    metavar="TYPE",
    help="Signal type of rows that give none (default: the list's type, else by length; "
    "a bare 64-hex value, PDQ or SHA-256, must be declared).",
)
@click.option(
    "--map",
    "column_map",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="CSV/TSV/JSONL field mapping, e.g. value=hash,type=kind,labels=category.",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="LABEL",
    help="Add this label to every entry (repeat).",
)
@click.option("--skip-invalid", is_flag=True, help="Import the valid records, report the rest.")
@click.option("--by", metavar="WHO", help="Who imports (provenance; default: the OS user).")
@click.option(
    "--problems",
    "problems_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every invalid record (location, reason) to this TSV file.",
)
@click.option(
    "--format",
    "output_format",
    type=ReportFormat(),
    default="table",
    show_default=True,
    help="Output format of the import report.",
)
@click.option("--report", "report_format", hidden=True, type=click.Choice(["table", "json"]))
def import_command(
    name: str,
    file: str,
    fmt: str | None,
    default_type: str | None,
    column_map: tuple[str, ...],
    labels: tuple[str, ...],
    skip_invalid: bool,
    by: str | None,
    problems_path: Path | None,
    output_format: str,
    report_format: str | None,
) -> None:
    """Import FILE ('-' for stdin) into list NAME, all or nothing (see docs/lists.md).

    Re-importing is idempotent: an entry is one (type, value) per list, labels merge.
    Any invalid record stops the import unless --skip-invalid is given; exit code 1 then
    says some records were skipped.
    """
    if output_format in IMPORT_FORMATS:  # --format lines|csv|...: the input format, before 0.x
        if fmt is not None:
            raise UsageError(f"--format {output_format} and --input-format {fmt}: give one")
        deprecated(f"--format {output_format}", f"--input-format {output_format}")
        fmt, output_format = output_format, "table"
    if report_format is not None:  # the report's format, before --format meant it
        deprecated("--report", "--format")
        output_format = report_format
    try:
        extra = frozenset(validate_label(label) for label in labels)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--label") from None
    options = ParseOptions(default_type, parse_column_map(column_map), extra)
    with _problem_file(problems_path) as sink, _store() as store:
        try:
            report = store.import_file(
                name,
                file,
                fmt=fmt,
                options=options,
                skip_invalid=skip_invalid,
                by=by,
                on_problem=sink,
            )
        except ValidationError as exc:
            hints = ["--skip-invalid imports the valid records and reports the rest"]
            if "untyped_value" in exc.codes:
                hints.insert(0, UNTYPED_HINT.format(name=name))
            exc.hint = "; ".join(hints)
            raise
    if output_format == "json":
        _echo_json(report.to_dict())
    else:
        _print_report(report)
    if report.invalid:
        sys.exit(EXIT_SOME_FAILED)


def _print_report(report: ImportReport) -> None:
    click.echo(f"imported {report.source_path} into {report.list_name} ({report.format})")
    _table(
        [
            ["", "sha256", report.sha256],
            ["", "records", str(report.records)],
            ["", "added", str(report.added)],
            ["", "already present", str(report.already_present)],
            ["", "labels added", str(report.labels_added)],
            ["", "invalid (skipped)", str(report.invalid)],
            ["", "generation", str(report.generation)],
        ]
    )
    for problem in report.problems:
        click.echo(f"  {problem.location}: {problem.reason}", err=True)
    hidden = report.invalid - len(report.problems)
    if hidden:
        click.echo(f"  ... {hidden} more invalid records (--problems FILE lists all)", err=True)
    if any(problem.code == "untyped_value" for problem in report.problems):
        click.echo(f"hint: {UNTYPED_HINT.format(name=report.list_name)}", err=True)


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """stdout, or a file written beside its target and renamed into place when complete."""
    if path is None:
        yield sys.stdout
        return
    with atomic_text(path) as out:
        yield out


@lists_group.command("export")
@click.argument("name")
@out_option(help="Write the export to this file, atomically (default: stdout).")
@renamed_option("--output", "-o/--out", "out", type=click.Path(dir_okay=False, path_type=Path))
@format_option(*EXPORT_FORMATS, default="jsonl", help="Output format (jsonl keeps everything).")
@click.option("--type", "signal_type", metavar="TYPE", help="Only entries of this signal type.")
@click.option("--label", metavar="LABEL", help="Only entries carrying this label.")
@click.option(
    "--enabled-only",
    is_flag=True,
    help="Only what would match now: no entry disabled now, nothing of a disabled list.",
)
def export_command(
    name: str,
    out: Path | None,
    output_format: str,
    signal_type: str | None,
    label: str | None,
    enabled_only: bool,
) -> None:
    """Export list NAME in a format import reads back (jsonl keeps everything)."""
    with _store() as store, _output(out) as stream:
        written, skipped = store.export(
            name,
            stream,
            fmt=output_format,
            signal_type=signal_type,
            label=label,
            only_enabled=enabled_only,
        )
    click.echo(f"exported {written} entries of {name}", err=True)
    if skipped:
        click.echo(f"left out {skipped} entries the {output_format} format cannot hold", err=True)


@lists_group.command("rm")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rm_command(name: str, yes: bool) -> None:
    """Delete list NAME with all its entries, labels and import records."""
    with _store() as store:
        store.get(name)  # NotFoundError before asking
        if not yes:
            click.confirm(f"delete list {name} and all its entries?", abort=True)
        removed = store.delete(name)
    click.echo(f"deleted list {name} ({removed} entries)")


# One definition so enable and disable cannot drift apart in their --entry handling.
_entry_option = click.option(
    "--entry",
    "entry_ids",
    type=int,
    multiple=True,
    metavar="ID",
    help="Only this entry id (repeat).",
)


@lists_group.command("enable")
@click.argument("name")
@_entry_option
def enable_command(name: str, entry_ids: tuple[int, ...]) -> None:
    """Enable list NAME, or only the given entries of it."""
    with _store() as store:
        hl = store.set_enabled(name, True, entry_ids=entry_ids or None)
    what = f"{len(set(entry_ids))} entries of {name}" if entry_ids else f"list {name}"
    click.echo(f"enabled {what} (generation {hl.generation})")


@lists_group.command("disable")
@click.argument("name")
@_entry_option
@click.option(
    "--until",
    callback=_timestamp,
    metavar="TIME",
    help="Entries only: disabled until this ISO-8601 time (default: until enabled again).",
)
def disable_command(name: str, entry_ids: tuple[int, ...], until: datetime | None) -> None:
    """Disable list NAME (nothing in it matches), or only the given entries of it."""
    with _store() as store:
        try:
            hl = store.set_enabled(name, False, entry_ids=entry_ids or None, until=until)
        except PastTimeError as exc:
            raise UsageError(
                f"--until {_when(exc.until)} is in the past (now {_when(exc.now)}): the "
                "entries would stay enabled; give a future time, or no --until to disable "
                "them until enabled again"
            ) from None
    what = f"{len(set(entry_ids))} entries of {name}" if entry_ids else f"list {name}"
    suffix = f" until {_when(until)}" if until else ""
    click.echo(f"disabled {what}{suffix} (generation {hl.generation})")
