"""``safelight audit verify|export``: the audit trail for auditors (docs/service.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click

from safelight import csvguard
from safelight.cli_options import format_option, out_option
from safelight.errors import InputError
from safelight.service.audit import FIELDS, AuditLog
from safelight.service.commands import echo_json
from safelight.store import Database


@click.group("audit")
def audit_group() -> None:
    """The audit trail: every security-relevant act, hash-chained."""


@audit_group.command("verify")
@format_option("table", "json", default="table")
def audit_verify_command(output_format: str) -> None:
    """Check the chain; name the first edited, deleted, inserted or moved entry (exit 1)."""
    with Database.open() as db:
        report = AuditLog(db).verify()
    if output_format == "json":
        echo_json(report.to_dict())
    elif report.ok:
        click.echo(f"ok: {report.entries} entries, head {report.head_sha256}")
    else:
        click.echo(f"error: audit entry {report.first_bad}: {report.problem}", err=True)
    if not report.ok:
        sys.exit(1)


@audit_group.command("export")
@format_option(
    "jsonl",
    "csv",
    default="jsonl",
    help="jsonl: one JSON object per entry; csv: a header row, then one row per entry.",
)
@out_option(help="Write here instead of standard output.")
def audit_export_command(output_format: str, out: Path | None) -> None:
    """Every entry with its hashes, oldest first (for auditors)."""
    with Database.open() as db, _output(out) as stream:
        entries = AuditLog(db).entries()
        if output_format == "jsonl":
            for entry in entries:
                stream.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
            return
        writer = csvguard.writer(stream)
        writer.writerow([*FIELDS, "sha256"])
        for entry in entries:
            row = entry.to_dict()
            row["details"] = json.dumps(row["details"], sort_keys=True, ensure_ascii=False)
            writer.writerow([row[name] for name in (*FIELDS, "sha256")])


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    if out is None:
        yield sys.stdout
        return
    try:
        stream = out.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot write {str(out)!r}: {exc.strerror}", field="out") from None
    with stream:
        yield stream
