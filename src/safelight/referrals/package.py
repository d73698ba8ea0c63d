"""Build a referral package: gather, check, write into a private folder, sign, rename,
record. Nothing is written before every check has passed; a failure while writing leaves
no package (the folder is built beside ``out`` and renamed into place when complete) and no
record (the record and the rename share one transaction).

Package layout (docs/referrals.md): ``referral.json``, ``leads.csv``, ``files.csv``,
``matches.csv``, ``urls.csv``, ``timeline.csv``, ``summary.pdf``, ``signer.pub.pem``, ``MANIFEST``,
``MANIFEST.sig``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from safelight import csvguard
from safelight.errors import ConflictError, InputError, UsageError
from safelight.outputs import cannot_write, prepare_parent
from safelight.referrals.content import TABLES, SourceContent, check_content
from safelight.referrals.countries import validate_country
from safelight.referrals.keys import (
    fingerprint,
    load_organisation,
    load_private,
    public_pem,
)
from safelight.referrals.manifest import SIGNER, write_signed_manifest
from safelight.referrals.records import Audit, ReferralRecord, ReferralStore, no_audit
from safelight.referrals.roles import DEFAULT_ROLE, FieldDecision, Role, decide, get_role
from safelight.referrals.sources import ReferralSource, require_sources
from safelight.store import Database
from safelight.timestamps import utc_timestamp

SCHEMA = "safelight.referral/1"
NOTICE = (
    "This package is a referral of known material found by hash and of reported URLs the "
    "sender's analysts assessed as illegal. It holds hashes, metadata and locations, and "
    "personal data only where fields lists it as carried for the recipient's role. It holds "
    "no media. Verify it with safelight referral verify, giving the sender's public key."
)


@dataclass(frozen=True)
class BuildRequest:
    """What to refer, to whom, and where to write it (fronts fill it from their input)."""

    country: str
    sources: Sequence[ReferralSource]
    out: Path
    created_by: str
    recipient_role: str = DEFAULT_ROLE
    supersedes: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Built:
    record: ReferralRecord
    path: Path


def items_digest(items: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(items)).encode("utf-8")).hexdigest()


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder", field="out")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty: a package needs a new or empty folder", field="out")


def build_referral(
    db: Database,
    request: BuildRequest,
    *,
    home: Path,
    passphrase: str,
    audit: Audit = no_audit,
    now: datetime | None = None,
) -> Built:
    """Build, sign and record one referral package (docs/referrals.md)."""
    country = validate_country(request.country)
    role = get_role(request.recipient_role)
    require_sources(request.sources)
    _check_out(request.out)
    store = ReferralStore(db, audit)
    previous = _superseded(store, request)
    key = load_private(home, passphrase)
    org = load_organisation(home)
    moment = now or datetime.now(UTC)
    contents = [source.collect(country) for source in request.sources]
    for content in contents:
        check_content(content, moment)
    items = set().union(*(c.items for c in contents))
    if not items:
        why = "; ".join(f"{c.description['name']}: {c.empty_reason or 'nothing'}" for c in contents)
        raise InputError(f"nothing to refer to {country}: {why}", code="nothing_to_refer")
    digest = items_digest(items)
    _refuse_duplicate(store, country, role.name, digest, len(items), previous)
    uid = str(uuid.uuid4())
    tables, decisions = _tables(contents, role)
    document = {
        "schema": SCHEMA,
        "referral_id": uid,
        "created_at": utc_timestamp(moment),
        "country": country,
        "recipient": {
            "role": role.name,
            "categories": sorted(role.categories),
            "reason": role.reason,
        },
        "sender": {
            "organisation": org.name,
            "contact": org.contact,
            "key_fingerprint": fingerprint(key.public_key()),
        },
        "supersedes": (
            {"referral_id": previous.uid, "reason": request.reason or ""} if previous else None
        ),
        "sources": [c.description for c in contents],
        "headline": _headline(contents),
        "files": {
            f"{name}.csv": {"rows": len(rows), "columns": columns}
            for name, (columns, rows) in tables.items()
        },
        "fields": [d.to_dict() for d in decisions],
        "timeline": [e.to_dict() for c in contents for e in sorted(c.events, key=_at)],
        "items": {"count": len(items), "sha256": digest},
        "notice": NOTICE,
    }
    return _write_and_record(store, request, document, tables, key, items, previous)


def _refuse_duplicate(
    store: ReferralStore,
    country: str,
    role: str,
    digest: str,
    count: int,
    previous: ReferralRecord | None,
    conn: Connection | None = None,
) -> None:
    replacing = previous.id if previous else None
    duplicate = store.duplicate_of(country, role, digest, replacing=replacing, conn=conn)
    if duplicate is not None:
        raise ConflictError(
            f"referral {duplicate.id} ({duplicate.status}) already refers the same "
            f"{count} items to {country} ({role}); supersede it instead of referring them "
            "again",
            code="duplicate_referral",
        )


def _at(event: Any) -> Any:
    return event.at


def _superseded(store: ReferralStore, request: BuildRequest) -> ReferralRecord | None:
    if request.supersedes is None:
        return None
    previous = store.get(request.supersedes)
    if previous.status == "superseded":
        raise ConflictError(
            f"referral {previous.id} is already superseded by {previous.superseded_by}",
            code="already_superseded",
        )
    if not (request.reason or "").strip():
        raise UsageError("say why the referral is superseded", field="reason")
    return previous


def _headline(contents: list[SourceContent]) -> dict[str, int]:
    total: dict[str, int] = {}
    for content in contents:
        for name, value in content.headline.items():
            total[name] = total.get(name, 0) + int(value)
    return total


def _tables(
    contents: list[SourceContent], role: Role
) -> tuple[dict[str, tuple[list[str], list[dict[str, Any]]]], list[FieldDecision]]:
    """Every table merged over the sources, numbered (L1.., F1..) and cut to the columns
    the role may receive; and the decision for every column."""
    merged: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for content in contents:
        offset = len(merged["files"])
        for row in content.tables.get("leads", []):
            merged["leads"].append({**row, "lead": f"L{len(merged['leads']) + 1}"})
        for row in content.tables.get("files", []):
            merged["files"].append({**row, "file": f"F{len(merged['files']) + 1}"})
        for row in content.tables.get("matches", []):
            merged["matches"].append({**row, "file": f"F{offset + int(row['file'])}"})
        for row in content.tables.get("urls", []):
            merged["urls"].append({**row, "item": f"U{len(merged['urls']) + 1}"})
        merged["timeline"] += content.tables.get("timeline", [])
    decisions: list[FieldDecision] = []
    out: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}
    for name, columns in TABLES.items():
        chosen = decide(role, f"{name}.csv", columns)
        decisions += chosen
        carried = [d.column for d in chosen if d.carried]
        out[name] = (carried, [{c: row.get(c) for c in carried} for row in merged[name]])
    return out, decisions


def _write_and_record(
    store: ReferralStore,
    request: BuildRequest,
    document: dict[str, Any],
    tables: dict[str, tuple[list[str], list[dict[str, Any]]]],
    key: Any,
    items: set[str],
    previous: ReferralRecord | None,
) -> Built:
    from safelight.referrals.pdf import write_summary

    out = request.out
    prepare_parent(out)
    try:
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    except OSError as exc:
        raise cannot_write(out, exc) from None
    renamed = False
    try:
        for name, (columns, rows) in tables.items():
            with (staging / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
                writer = csvguard.writer(handle)
                writer.writerow(columns)
                writer.writerows([row[c] for c in columns] for row in rows)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        (staging / "referral.json").write_text(text, encoding="utf-8")
        write_summary(staging / "summary.pdf", document, tables)
        (staging / SIGNER).write_bytes(public_pem(key.public_key()))
        manifest = write_signed_manifest(staging, key)
        row = {
            "uid": document["referral_id"],
            "country": document["country"],
            "recipient_role": document["recipient"]["role"],
            "created_at": datetime.fromisoformat(document["created_at"]),
            "created_by": request.created_by,
            "supersedes_id": previous.id if previous else None,
            "reason": request.reason if previous else None,
            "items_sha256": document["items"]["sha256"],
            "manifest": manifest.decode("utf-8"),
            "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
            "key_fingerprint": document["sender"]["key_fingerprint"],
            "package_path": str(out.resolve()),
            "sources": json.dumps(document["sources"]),
            "fields": json.dumps(document["fields"]),
            "headline": json.dumps(document["headline"]),
        }
        with store.db.begin(lock=True) as conn:
            # Again inside the transaction: another build may have recorded them meanwhile.
            _refuse_duplicate(
                store,
                row["country"],
                row["recipient_role"],
                row["items_sha256"],
                len(items),
                previous,
                conn,
            )
            referral_id = store.add(conn, row, items)
            # In the same transaction: the entry commits with the record or not at all.
            store.audit(
                "referral.superseded" if previous else "referral.built",
                {
                    "id": referral_id,
                    "referral_id": row["uid"],
                    "country": row["country"],
                    "role": row["recipient_role"],
                    "items": len(items),
                    "sources": [s["name"] for s in document["sources"]],
                    "manifest_sha256": row["manifest_sha256"],
                    "supersedes": previous.id if previous else None,
                    "reason": row["reason"],
                    "package_path": row["package_path"],
                    "by": request.created_by,
                },
                conn,
            )
            if out.is_dir():
                out.rmdir()  # checked empty above
            staging.replace(out)
            renamed = True
    except BaseException:
        # Not recorded (or the commit failed after the rename): no package is left either.
        shutil.rmtree(out if renamed else staging, ignore_errors=True)
        raise
    return Built(store.get(referral_id), out)
