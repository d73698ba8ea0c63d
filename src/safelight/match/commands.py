"""``safelight match``: files or hashes against the hash lists, one result line per query."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple, TextIO

import click

from safelight.cli_options import (
    SignalTypeParam,
    follow_links_option,
    format_option,
    hash_mode_options,
    jobs_option,
    lists_option,
    min_quality_option,
    quiet_option,
    threshold_option,
)
from safelight.errors import EXIT_OK, EXIT_SOME_FAILED, ItemError, SafelightError, UsageError
from safelight.signals.commands import echo_hints
from safelight.signals.options import Mode

if TYPE_CHECKING:
    from safelight.match.matcher import Matcher, QueryResult


class Walk(NamedTuple):
    """How files given as paths are found and hashed (as ``safelight hash`` does)."""

    recursive: bool
    follow_links: bool
    mode: Mode
    jobs: int


# The path (and --hash value) that means standard input, as in sqlite-utils and most tools.
STDIN = "-"
STDIN_NAME = "<stdin>"


def hash_queries(values: Iterable[str], hash_type: str) -> list[tuple[str, str]]:
    """(signal type, hex) per --hash value: ``TYPE:HEX``, the --hash-type, or the one indexed
    type whose width the value has. A length two types share (64: PDQ or SHA-256) must be
    declared: guessing would silently miss."""
    from safelight.signals.types import UnknownSignalTypeError, UntypedValueError, registry

    queries = []
    for number, raw in enumerate(values, start=1):
        declared, _, value = raw.strip().rpartition(":")
        where = f"--hash #{number} {raw!r}"
        try:
            if declared:
                kind = registry.get(declared)
            elif hash_type != "auto":
                kind = registry.get(hash_type)
            else:
                kind = registry.infer(value, among=registry.indexed())
            if kind not in registry.indexed():
                raise UsageError(f"{where}: {kind.name} values are matched from files, not --hash")
            queries.append((kind.name, kind.normalise(value).value))
        except UntypedValueError as exc:
            hint = " or ".join(f"--hash-type {t}" for t in exc.candidates) or "--hash-type TYPE"
            raise UsageError(f"{where}: {exc.summary}; pass {hint}, or TYPE:HEX") from None
        except (UnknownSignalTypeError, ValueError) as exc:
            raise UsageError(f"{where}: {exc}") from None
    return queries


@click.command("match")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--hash",
    "hashes",
    multiple=True,
    help="Match this hex hash (repeatable); '-' reads one per line from stdin.",
)
@click.option(
    "--hash-type",
    type=SignalTypeParam(indexed_only=True, allow_auto=True),
    metavar="TYPE",
    default="auto",
    show_default=True,
    help="Type of the --hash values (or write TYPE:HEX); auto: by length, where only one type "
    "has that length (64 hex, PDQ or SHA-256, must be declared).",
)
@lists_option("Match only this list")
@threshold_option
@click.option("--rotations", is_flag=True, help="Also match the 8 rotations/flips of photos.")
@min_quality_option
@click.option("-r", "--recursive", is_flag=True, help="Match the files inside folders.")
@follow_links_option
@format_option("jsonl", "table", default="jsonl")
@jobs_option("Hashing processes")
@hash_mode_options
@quiet_option
def match_command(
    paths: tuple[str, ...],
    hashes: tuple[str, ...],
    hash_type: str,
    lists: tuple[str, ...],
    threshold: int | None,
    rotations: bool,
    min_quality: int,
    recursive: bool,
    follow_links: bool,
    output_format: str,
    jobs: int,
    mode: Mode,
    quiet: bool,
) -> None:
    """Match files or hashes against the hash lists (default: every enabled list).

    Writes one result per query, with every matching entry (list, id, value, distance,
    labels). PATH '-' reads `safelight hash` JSONL records from stdin and matches their
    hashes without hashing again. Exit status: 0 when every query was processed, 1 when
    some failed (each failure is in its result), 2 on a usage error.
    """
    if not paths and not hashes:
        raise UsageError("nothing to match: pass files or folders, or --hash HEX (see --help)")
    if paths and hashes:
        raise UsageError("pass files or --hash values, not both")
    if STDIN in paths and len(paths) > 1:
        raise UsageError("'-' (hash records on stdin) cannot be mixed with other paths")
    stdin = sys.stdin
    queries = hash_queries(_with_stdin_hashes(hashes, stdin), hash_type)
    # Imported here: numba and the decoders cost half a second, which --help should not pay.
    from safelight.match.matcher import Matcher
    from safelight.scan.progress import StreamProgress
    from safelight.store import Database

    def warn(message: str) -> None:
        click.echo(f"warning: {message}", err=True)

    total = failed = matched = low = 0
    failures: Counter[str] = Counter()
    files = [path for path in paths if path != STDIN]
    walk = Walk(recursive, follow_links, mode, jobs)
    with Database.open() as db:
        matcher = Matcher.open(db, lists or None, threshold, min_quality=min_quality, warn=warn)
        from safelight.webhooks.store import WebhookStore

        hooks = WebhookStore(db)
        notify = hooks.has_endpoints()
        if output_format == "table":
            click.echo(f"{'dist':>4}  {'list':<20} {'entry':>10}  {'type':<6}  query")
        if paths == (STDIN,):
            results = _stdin_results(matcher, stdin, rotations)
        else:
            results = _results(matcher, paths, queries, rotations, walk)
        with StreamProgress("match", files, quiet=quiet) as progress:
            for result in results:
                total += 1
                if result.error is not None:
                    failed += 1
                    failures[result.error.code] += 1
                matched += bool(result.matches)
                if notify and result.matches:  # sent by `safelight webhooks deliver`
                    hooks.enqueue(_webhook_query(result), result.matches, {"source": "cli"})
                low += result.low_quality
                if output_format == "jsonl":
                    line = json.dumps(result.to_dict(), ensure_ascii=True, separators=(",", ":"))
                    click.echo(line)
                else:
                    _table(result, min_quality)
                size = result.record.size if result.record is not None else None
                progress.add(size, matched=bool(result.matches), failed=result.error is not None)
    summary = f"matched {matched} of {total} queries; {failed} failed"
    if low:
        summary += (
            f"; {low} photos below --min-quality {min_quality} were not matched by PDQ "
            "(lower --min-quality to match them)"
        )
    click.echo(summary, err=True)
    echo_hints(files, recursive, failures)
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _webhook_query(result: QueryResult) -> dict[str, object]:
    """What a webhook body says of the query: the hash, or a file's name and signals."""
    if result.record is None:
        return {"signal_type": result.signal_type, "value": result.query}
    record = result.record
    out: dict[str, object] = {"signal_type": "file", "name": result.query, **record.digests}
    if record.pdq is not None:
        out["pdq"] = record.pdq.hex
    return out


def _with_stdin_hashes(hashes: tuple[str, ...], stdin: TextIO) -> list[str]:
    """--hash values, with '-' replaced by the non-blank lines of stdin."""
    if STDIN not in hashes:
        return list(hashes)
    out: list[str] = []
    for value in hashes:
        if value == STDIN:
            out.extend(line.strip() for line in stdin if line.strip())
        else:
            out.append(value)
    return out


def _stdin_results(matcher: Matcher, stdin: TextIO, rotations: bool) -> Iterator[QueryResult]:
    """One result per `safelight hash` JSONL line on stdin; a bad line is that line's error
    (named ``<stdin>:N``) and the batch goes on."""
    from safelight.match.matcher import QueryResult
    from safelight.signals.records import HashRecord

    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        where = f"{STDIN_NAME}:{number}"
        try:
            record = HashRecord.from_dict(json.loads(line))
        except json.JSONDecodeError as exc:
            error = ItemError("invalid_input", f"{where}: not a JSON line ({exc.msg})")
            yield QueryResult(where, "file", [], error=error)
            continue
        except SafelightError as exc:
            yield QueryResult(where, "file", [], error=ItemError(exc.code, f"{where}: {exc}"))
            continue
        try:
            yield matcher.match_record(record, rotations=rotations)
        except SafelightError as exc:
            error = ItemError(exc.code, f"{where}: {exc.message}")
            yield QueryResult(record.path, "file", [], record, error=error)


def _results(
    matcher: Matcher,
    paths: tuple[str, ...],
    queries: list[tuple[str, str]],
    rotations: bool,
    walk: Walk,
) -> Iterator[QueryResult]:
    from safelight.match.matcher import QueryResult

    if queries:
        ruled = matcher.match_hashes_ruled(queries)
        for (kind, value), found in zip(queries, ruled, strict=True):
            yield QueryResult(value, kind, found.matches, ruled=found)
        return
    # Only files need the hashing pipeline (decoders, process pool).
    from safelight.signals.batch import hash_paths
    from safelight.signals.options import DEFAULT_SIGNALS, HashOptions

    signals = DEFAULT_SIGNALS | ({"pdq8"} if rotations else set())
    options = HashOptions(signals=frozenset(signals), mode=walk.mode)
    records = hash_paths(
        paths,
        options,
        jobs=walk.jobs,
        recursive=walk.recursive,
        follow_links=walk.follow_links,
    )
    for record in records:
        try:
            yield matcher.match_record(record, rotations=rotations)
        except SafelightError as exc:  # one query failing must not end the batch
            error = ItemError.from_exception(exc)
            yield QueryResult(record.path, "file", [], record, error=error)


def _table(result: QueryResult, min_quality: int) -> None:
    from safelight.signals.records import printable

    query = printable(result.query)
    if result.error is not None:
        # The reason, naming the query once (most messages start with the path already).
        message = printable(result.error.message)
        reason = message if message.startswith(query) else f"{query}: {message}"
        click.echo(f"{'-':>4}  {'ERROR ' + result.error.code:<20} {'':>10}  {'':<6}  {reason}")
    if result.low_quality:
        pdq = result.record.pdq if result.record is not None else None
        quality = f"quality {pdq.quality}" if pdq is not None else "low quality"
        hint = f"{quality} < --min-quality {min_quality}: PDQ not matched"
        click.echo(f"{'-':>4}  {'low quality (pdq)':<20} {'':>10}  {'pdq':<6}  {query}: {hint}")
    for m in result.matches:
        line = f"{m.distance:>4}  {m.list_name:<20} {m.entry_id:>10}  {m.signal_type:<6}"
        click.echo(f"{line}  {query}")
    ruled = result.ruled
    for s in ruled.suppressed if ruled else ():
        m, by = s.match, s.by
        line = f"{m.distance:>4}  {m.list_name:<20} {m.entry_id:>10}  {m.signal_type:<6}"
        click.echo(f"{line}  {query}: suppressed by allow list {by.list_name} entry {by.entry_id}")
    for m in ruled.paused if ruled else ():
        line = f"{m.distance:>4}  {m.list_name:<20} {m.entry_id:>10}  {m.signal_type:<6}"
        click.echo(f"{line}  {query}: entry paused for review (flood), not served")
    if not result.matches and result.error is None and not result.low_quality:
        click.echo(f"{'-':>4}  {'no match':<20} {'':>10}  {'':<6}  {query}")
