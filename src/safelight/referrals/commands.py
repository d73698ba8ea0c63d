"""``safelight referral`` and ``safelight keys``: thin fronts over ``safelight.referrals``.

The passphrase of the signing key comes from ``SAFELIGHT_KEY_PASSPHRASE`` or a prompt (never
an option: options show in process lists and shell history).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from safelight.cli_options import format_option, out_option
from safelight.errors import InputError, UsageError
from safelight.store import Database
from safelight.store.database import default_home

if TYPE_CHECKING:
    from safelight.referrals.events import Audit

ENV_PASSPHRASE = "SAFELIGHT_KEY_PASSPHRASE"
new_path = click.Path(path_type=Path)
existing = click.Path(exists=True, path_type=Path)


def _passphrase(*, confirm: bool = False) -> str:
    given = os.environ.get(ENV_PASSPHRASE)
    if given:
        return given
    if not sys.stdin.isatty():
        raise UsageError(f"the signing key needs a passphrase: set {ENV_PASSPHRASE}")
    return str(click.prompt("Key passphrase", hide_input=True, confirmation_prompt=confirm))


def _actor() -> str:
    """Who the audit trail and the records name: ``cli:<OS user>``, as every command does."""
    from safelight.service.commands import cli_actor

    return cli_actor()


def _audit(db: Database) -> Audit:
    from safelight.referrals.audit import audit_log

    return audit_log(db, _actor())


@click.group("keys")
def keys_group() -> None:
    """The organisation's signing key for referral packages (Ed25519)."""


@keys_group.command("create")
@click.option("--organisation", required=True, help="Name packages give as their sender.")
@click.option("--contact", help="How recipients reach the sender (printed in packages).")
def keys_create(organisation: str, contact: str | None) -> None:
    """Create the signing key, encrypted with the passphrase, under SAFELIGHT_HOME/keys."""
    from safelight.referrals.keys import Organisation, create_key, key_folder

    home = default_home()
    passphrase = _passphrase(confirm=True)
    with Database.open() as db:
        found = create_key(home, passphrase, Organisation(organisation, contact), audit=_audit(db))
    click.echo(f"created signing key {found} in {key_folder(home)}")


@keys_group.command("import")
@click.argument("private_key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organisation", required=True, help="Name packages give as their sender.")
@click.option("--contact", help="How recipients reach the sender.")
def keys_import(private_key: Path, organisation: str, contact: str | None) -> None:
    """Import an Ed25519 private key (PEM); stored encrypted with the passphrase.

    An encrypted PEM is opened with the same passphrase."""
    from safelight.referrals.keys import Organisation, import_key

    passphrase = _passphrase(confirm=True)
    pem = private_key.read_bytes()
    with Database.open() as db:
        found = import_key(
            default_home(),
            pem,
            passphrase,
            Organisation(organisation, contact),
            file_passphrase=passphrase if b"ENCRYPTED" in pem else None,
            audit=_audit(db),
        )
    click.echo(f"imported signing key {found}")


@keys_group.command("export")
@click.option(
    "--encoding",
    "form",
    type=click.Choice(["pem", "raw"]),
    default="pem",
    show_default=True,
    help="PEM (SubjectPublicKeyInfo) or the raw 32 bytes in base64.",
)
@out_option(help="File to write (default: standard output).")
def keys_export(form: str, out: Path | None) -> None:
    """Export the public key, for recipients to verify packages with."""
    from safelight.referrals.keys import export_public

    with Database.open() as db:
        found, data = export_public(default_home(), form, audit=_audit(db))
    if out is None:
        click.echo(data.decode("ascii"), nl=False)
        return
    from safelight.outputs import atomic_text

    with atomic_text(out) as handle:
        handle.write(data.decode("ascii"))
    click.echo(f"wrote public key {found} to {out}", err=True)


@click.group("referral")
def referral_group() -> None:
    """Referral packages per country: build, verify, list, mark sent, supersede."""


@referral_group.command("build")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code of the recipient.")
@click.option("--case", "case_name", help="Network case whose leads in the country to refer.")
@click.option(
    "--geo",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Geolocation .mmdb for the case (as network analyze --geo).",
)
@click.option("--scan", "scan_id", type=int, help="Scan run whose matches to refer.")
@click.option(
    "--reports",
    multiple=True,
    metavar="all|REF[,REF...]",
    help="Hotline items assessed illegal and hosted in the country: all of them, or those "
    "the reports with these references named.",
)
@click.option(
    "--recipient-role",
    default="hotline",
    show_default=True,
    help="law_enforcement, hotline or platform: decides which fields are carried.",
)
@out_option(folder=True, required=True, help="New or empty package folder.")
@format_option("table", "json", default="table", help="How to print the record.")
def build_command(
    country: str,
    case_name: str | None,
    geo: tuple[Path, ...],
    scan_id: int | None,
    reports: tuple[str, ...],
    recipient_role: str,
    out: Path,
    output_format: str,
) -> None:
    """Build, sign and record a referral package for one country."""
    from safelight.referrals import BuildRequest, build_referral
    from safelight.referrals.hotline_source import HotlineSource
    from safelight.referrals.sources import NetworkCaseSource, ReferralSource, ScanRunSource

    with Database.open() as db:
        sources: list[ReferralSource] = []
        if case_name:
            sources.append(NetworkCaseSource(db, case_name, geo=geo))
        if scan_id is not None:
            sources.append(ScanRunSource(db, scan_id))
        if reports:
            sources.append(HotlineSource.chosen(db, reports))
        request = BuildRequest(
            country=country,
            sources=sources,
            out=out,
            created_by=_actor(),
            recipient_role=recipient_role,
        )
        try:
            built = build_referral(
                db, request, home=default_home(), passphrase=_passphrase(), audit=_audit(db)
            )
        except InputError as exc:
            if exc.code == "nothing_to_refer" and "geolocation" in exc.message:
                exc.hint = "give the case's geolocation database with --geo FILE.mmdb"
            raise
    _print_built(built.record.to_dict(), out, output_format)


def _print_built(record: dict[str, object], out: Path, output_format: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(record, indent=2))
        return
    click.echo(
        f"referral {record['id']} ({record['referral_id']}) to {record['country']}, role "
        f"{record['recipient_role']}: {record['items']} items, written to {out}"
    )


@referral_group.command("verify")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Sender's public key (PEM or raw); default: our own key, else the package's.",
)
@format_option("table", "json", default="table", help="How to print the result.")
def verify_command(folder: Path, key: Path | None, output_format: str) -> None:
    """Check every file against MANIFEST and MANIFEST against its signature.

    Exits 0 when all holds, 1 when any file is altered, missing or added or the signature
    does not hold."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from safelight.referrals.keys import own_public, read_public
    from safelight.referrals.manifest import verify_package

    trusted: Ed25519PublicKey | None
    if key is not None:
        trusted, source = read_public(key.read_bytes(), str(key)), "given"
    else:
        trusted = own_public(default_home())
        source = "own" if trusted is not None else "none"
    with Database.open() as db:
        result = verify_package(folder, trusted, source, audit=_audit(db))
    if output_format == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for kind in ("altered", "missing", "added"):
            for name in getattr(result, kind):
                click.echo(f"{kind}: {name}")
        for problem in result.problems:
            click.echo(f"problem: {problem}")
        click.echo(f"signature: {result.signature} (key {result.key}, {result.key_source})")
        if result.key_source == "package":
            click.echo(
                "warning: checked with the key the package carries, which proves only that "
                "it is intact; pass the sender's key with --key",
                err=True,
            )
        click.echo("OK" if result.ok else "FAILED")
    sys.exit(0 if result.ok else 1)


@referral_group.command("ls")
@click.option("--country", help="Only referrals to this country.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@format_option("table", "json", default="table")
def ls_command(country: str | None, limit: int, output_format: str) -> None:
    """The referrals recorded, newest first."""
    from safelight.referrals import ReferralStore, validate_country

    with Database.open() as db:
        found = ReferralStore(db).list(
            country=validate_country(country) if country else None, limit=limit
        )
    if output_format == "json":
        click.echo(json.dumps([r.to_dict() for r in found], indent=2))
        return
    if not found:
        click.echo("no referrals (build one with: safelight referral build)")
        return
    click.echo(f"{'ID':>4}  CC  {'STATUS':<10}  {'ROLE':<15}  {'ITEMS':>6}  CREATED")
    for r in found:
        d = r.to_dict()
        click.echo(
            f"{r.id:>4}  {r.country}  {r.status:<10}  {r.recipient_role:<15}  {r.items:>6}  "
            f"{d['created_at']}"
        )


@referral_group.command("show")
@click.argument("referral_id", type=int)
@click.option("--items", "with_items", is_flag=True, help="List every item referred.")
def show_command(referral_id: int, with_items: bool) -> None:
    """One referral as JSON: what it contained, its fields, its manifest and its status."""
    from safelight.referrals import ReferralStore

    with Database.open() as db:
        store = ReferralStore(db)
        record = store.get(referral_id).to_dict(full=True)
        if with_items:
            record["item_keys"] = store.items(referral_id)
    click.echo(json.dumps(record, indent=2))


@referral_group.command("mark-sent")
@click.argument("referral_id", type=int)
@click.option("--to", "sent_to", required=True, help="Who received it (authority, channel).")
def mark_sent_command(referral_id: int, sent_to: str) -> None:
    """Record that a referral was sent; from then on it cannot change."""
    from safelight.referrals import ReferralStore

    with Database.open() as db:
        record = ReferralStore(db, _audit(db)).mark_sent(referral_id, sent_to=sent_to, by=_actor())
    click.echo(f"referral {record.id} marked sent to {sent_to}")


@referral_group.command("supersede")
@click.argument("referral_id", type=int)
@click.option("--reason", required=True, help="Why the referral is replaced.")
@out_option(folder=True, required=True, help="New or empty package folder.")
@click.option("--recipient-role", help="Change the role (default: the old referral's).")
@format_option("table", "json", default="table", help="How to print the record.")
def supersede_command(
    referral_id: int, reason: str, out: Path, recipient_role: str | None, output_format: str
) -> None:
    """Build a new referral from the old one's sources, pointing to it."""
    from safelight.referrals import supersede_referral

    with Database.open() as db:
        built = supersede_referral(
            db,
            referral_id,
            out,
            reason=reason,
            created_by=_actor(),
            home=default_home(),
            passphrase=_passphrase(),
            recipient_role=recipient_role,
            audit=_audit(db),
        )
    _print_built(built.record.to_dict(), out, output_format)
