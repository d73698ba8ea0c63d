"""``safelight hash``: one record per input file, streamed in input order."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from safelight.constants import DEFAULT_MAX_PIXELS, FAST_MODE_MAX_BITS
from safelight.errors import EXIT_OK, EXIT_SOME_FAILED, UsageError
from safelight.signals.options import HashOptions, Mode, default_signals, parse_signals

if TYPE_CHECKING:
    from safelight.scan.progress import StreamProgress
    from safelight.signals.records import HashRecord


# One meaning wherever folders are walked (hash, scan): see safelight.signals.walk.
follow_links_option = click.option(
    "--follow-links",
    is_flag=True,
    help="Follow symbolic links that leave the folder being walked (default: report them, "
    "do not follow). Each file is read once whatever the links.",
)


@click.command("hash")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("-r", "--recursive", is_flag=True, help="Hash the files inside folders, recursively.")
@follow_links_option
@click.option(
    "--signals",
    default=None,
    help="Comma-separated signals to compute, from pdq, pdq8 (the 8 rotations and flips), "
    "vpdq and the file digests md5, sha1, sha256 and any registered type "
    "[default: all but pdq8].",
)
@click.option(
    "--fast",
    is_flag=True,
    help=(
        "Decode large JPEGs at reduced scale: faster, but PDQ is no longer bit-exact with "
        f"HMA (up to {FAST_MODE_MAX_BITS} bits measured; the default is exact)."
    ),
)
@click.option(
    "--exact-reference",
    is_flag=True,
    help="Pillow full RGB decode: bit-identical to the HMA/python-threatexchange PDQ path.",
)
@click.option(
    "--exif-transpose",
    is_flag=True,
    help="Rotate/flip photos by their EXIF orientation before hashing (default: as stored).",
)
@click.option("--all-frames", is_flag=True, help="Also hash every frame of animated GIF/WebP/PNG.")
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse images declaring more pixels than this (decompression bombs).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: all CPUs); 1 hashes in this process.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jsonl", "csv", "table"]),
    default="jsonl",
    show_default=True,
)
@click.option("--quiet", is_flag=True, help="No progress line (shown on a terminal's stderr).")
def hash_command(
    paths: tuple[str, ...],
    recursive: bool,
    follow_links: bool,
    signals: str | None,
    fast: bool,
    exact_reference: bool,
    exif_transpose: bool,
    all_frames: bool,
    max_pixels: int,
    jobs: int | None,
    output_format: str,
    quiet: bool,
) -> None:
    """Hash photos, videos and other files: MD5/SHA-1/SHA-256, PDQ, vPDQ.

    Writes one record per file to stdout, in input order. Exit status: 0 when every file was
    hashed, 1 when some failed (each failure is in its record), 2 on a usage error.
    """
    if not paths:
        raise UsageError("no paths given: pass files or folders to hash (see --help)")
    if fast and exact_reference:
        raise UsageError("--fast and --exact-reference exclude each other: choose one")
    mode: Mode = "fast" if fast else "reference" if exact_reference else "default"
    options = HashOptions(
        signals=parse_signals(signals) if signals is not None else default_signals(),
        mode=mode,
        exif_transpose=exif_transpose,
        all_frames=all_frames,
        max_pixels=max_pixels,
    )
    # Imported here, not at the top: numba and the decoders cost half a second to import,
    # which every other command (and --help) should not pay.
    from safelight.scan.progress import StreamProgress
    from safelight.signals.batch import hash_paths

    records = hash_paths(
        paths,
        options,
        jobs=jobs,  # None: safelight.workers.DEFAULT_JOBS
        recursive=recursive,
        follow_links=follow_links,
    )
    with StreamProgress("hash", list(paths), quiet=quiet) as progress:
        total, failed = _write(records, output_format, options.wants_pdq8, progress)
    click.echo(f"hashed {total - failed} of {total} files; {failed} failed", err=True)
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _write(
    records: Iterable[HashRecord], output_format: str, with_pdq8: bool, progress: StreamProgress
) -> tuple[int, int]:
    from safelight.signals.records import (
        TABLE_HEADER,
        csv_header,
        printable,
        to_csv_line,
        to_json_line,
        to_table_line,
    )

    total = failed = 0
    if output_format == "csv":
        click.echo(csv_header(with_pdq8))
    elif output_format == "table":
        click.echo(TABLE_HEADER)
    for record in records:
        total += 1
        if record.error:
            failed += 1
            if output_format == "table":
                click.echo(f"error: {printable(record.error.message)}", err=True)
        if output_format == "jsonl":
            click.echo(to_json_line(record))
        elif output_format == "csv":
            click.echo(to_csv_line(record, with_pdq8))
        else:
            click.echo(to_table_line(record))
        progress.add(record.size, matched=False, failed=record.error is not None)
    return total, failed
