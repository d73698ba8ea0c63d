"""Drafts from Safelight's own findings: the matched items of a scan run, or a network lead.

A scanned file whose bytes are on this machine is *uploaded* (its SHA-256 is checked again
at submission) with its fileDetails: digests as ``originalFileHash``, PDQ as a HASH detail,
what it matched as text. A file Safelight only knows by hash (an archive member, an object
in a bucket, a network sighting) is *hash-only*: the API has no place for a file that is not
uploaded, so its hashes are written into the report's ``additionalInfo``.

Nobody at the reporting organisation is assumed to have viewed a file: ``fileViewedByEsp``
is false unless the caller says a person did (it has legal weight, reference 1.8).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticError

from safelight.errors import InputError, NotFoundError, ValidationError
from safelight.match.results import Match
from safelight.referrals.cybertipline.models import FileDetails, Report
from safelight.referrals.cybertipline.store import DraftFile
from safelight.referrals.cybertipline.vocab import ISO_COUNTRIES, EventName, IncidentType
from safelight.scan.runs import RunStore
from safelight.signals.records import HashRecord
from safelight.store import Database

if TYPE_CHECKING:
    from safelight.referrals.cybertipline.leads import NetworkLead


@dataclass(frozen=True)
class Options:
    """What a person states about the report; everything else comes from the findings."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    platform: str | None = None
    incident_type: IncidentType = IncidentType.CHILD_PORNOGRAPHY
    incident_time: datetime | None = None
    report_annotations: tuple[str, ...] = ()
    file_annotations: tuple[str, ...] = ()
    classification: str | None = None
    viewed: bool = False
    upload: bool = True
    note: str | None = None


@dataclass
class Draft:
    origin: str
    report: Report
    files: list[DraftFile] = field(default_factory=list)
    items: list[str] = field(default_factory=list)


def validated(kind: type[Any], data: dict[str, Any], where: str) -> Any:
    """``kind.model_validate(data)``, its errors turned into one ValidationError naming every
    field (``incidentSummary.incidentDateTime: ... is in the future``)."""
    try:
        return kind.model_validate(data)
    except PydanticError as exc:
        problems = [
            (".".join(str(p) for p in err["loc"]) or kind.__name__, err["msg"])
            for err in exc.errors()
        ]
        raise ValidationError(f"{where}: the report is not valid", problems) from None


def _report(options: Options, when: datetime, description: str, **parts: Any) -> Report:
    person: dict[str, Any] = {"email": [{"value": options.email}]}
    if options.first_name:
        person["firstName"] = options.first_name
    if options.last_name:
        person["lastName"] = options.last_name
    data: dict[str, Any] = {
        "incidentSummary": {
            "incidentType": options.incident_type,
            "platform": options.platform,
            "reportAnnotations": options.report_annotations,
            "incidentDateTime": options.incident_time or when,
            "incidentDateTimeDescription": None if options.incident_time else description,
        },
        "reporter": {"reportingPerson": person},
        **parts,
    }
    return validated(Report, data, "report")  # type: ignore[no-any-return]


def _hashes(values: dict[str, str | None]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items() if v)


def _match_text(matches: Iterable[Match]) -> str:
    out = []
    for m in matches:
        labels = f"; labels: {', '.join(sorted(m.labels))}" if m.labels else ""
        out.append(
            f"matched list {m.list_name} entry {m.entry_id} "
            f"({m.signal_type}, distance {m.distance}{labels})"
        )
    return "; ".join(out)


def _file_details(record: HashRecord, matches: Sequence[Match], options: Options) -> dict[str, Any]:
    digests = [
        {"value": record.digests[name], "hashType": name.upper()}
        for name in ("md5", "sha1", "sha256")
        if record.digests.get(name)
    ]
    pairs = [{"type": "HASH", "name": "PDQ", "value": record.pdq.hex}] if record.pdq else []
    return {
        "fileName": Path(record.path).name,
        "fileViewedByEsp": options.viewed,
        "fileRelevance": "Reported",
        "fileAnnotations": options.file_annotations,
        "industryClassification": options.classification,
        "originalFileHash": digests,
        "details": {"nameValuePair": pairs} if pairs else None,
        "additionalInfo": [_match_text(matches)] if matches else [],
    }


def from_scan(db: Database, run_id: int, options: Options, *, paths: Sequence[str] = ()) -> Draft:
    """A draft of the matched items of scan run ``run_id`` (or of ``paths`` among them)."""
    runs = RunStore(db)
    run = runs.get(run_id)
    chosen = set(paths)
    results = [
        r
        for r in runs.iter_results(run_id, matched_only=True)
        if not chosen or r.record.path in chosen
    ]
    missing = chosen - {r.record.path for r in results}
    if missing:
        raise NotFoundError(f"scan run {run_id} has no matched item {sorted(missing)[0]!r}")
    if not results:
        raise InputError(f"scan run {run_id} matched nothing: there is nothing to report")
    files: list[DraftFile] = []
    hash_only: list[str] = []
    items: list[str] = []
    for result in results:
        record = result.record
        key = record.digests.get("sha256") or record.digests.get("md5")
        if not key:
            raise InputError(f"{record.path}: no SHA-256 or MD5 recorded; cannot report it")
        items.append(f"sha256:{key}" if record.digests.get("sha256") else f"md5:{key}")
        local = Path(record.path)
        if options.upload and record.digests.get("sha256") and local.is_file():
            details = validated(
                FileDetails, _file_details(record, result.matches, options), record.path
            )
            files.append(
                DraftFile(
                    name=local.name,
                    source=str(local.resolve()),
                    size=record.size,
                    md5=record.digests.get("md5"),
                    sha1=record.digests.get("sha1"),
                    sha256=record.digests.get("sha256"),
                    details=details,
                )
            )
        else:
            values = {**record.digests, "pdq": record.pdq.hex if record.pdq else None}
            hash_only.append(
                f"{Path(record.path).name}: {_hashes(values)} ({_match_text(result.matches)})"
            )
    info = [options.note] if options.note else []
    if hash_only:
        info.append("Files known by hash only (not uploaded): " + " | ".join(hash_only))
    report = _report(
        options,
        run.started_at,
        f"when Safelight scan run {run_id} started; the files were found by hash",
        additionalInfo="\n".join(info) or None,
    )
    return Draft(f"scan {run_id}", report, files, items)


def from_lead(lead: NetworkLead, options: Options) -> Draft:
    """A draft of one network lead: the IP as the reported user, its known sightings as the
    peer-to-peer incident's IP capture events, the files by hash."""
    events = [
        {
            "ipAddress": s.ip,
            "eventName": EventName.UPLOAD,
            "dateTime": s.at,
            "port": s.port,
        }
        for s in lead.sightings
    ]
    names = sorted({s.file_name for s in lead.sightings if s.file_name})
    files = {}
    for s in lead.sightings:
        key = s.sha256 or s.sha1 or s.md5 or s.pdq or ""
        labels = f"; labels: {', '.join(s.labels)}" if s.labels else ""
        files[key] = (
            f"{s.file_name or '(no name)'}: "
            f"{_hashes({'md5': s.md5, 'sha1': s.sha1, 'sha256': s.sha256, 'pdq': s.pdq})} "
            f"(lists: {', '.join(s.lists)}{labels})"
        )
    info = [
        f"Safelight network case {lead.case!r}, lead {lead.rank}: {lead.known_files} known "
        f"files seen shared from {lead.ip} between {lead.first_seen.isoformat()} and "
        f"{lead.last_seen.isoformat()}."
    ]
    if lead.more_sightings:
        info.append(f"{lead.more_sightings} further known sightings are not listed.")
    info.append("Files (by hash, not uploaded): " + " | ".join(files.values()))
    p2p = {
        "client": ", ".join(x for x in (lead.client, lead.protocol) if x) or None,
        "ipCaptureEvent": events,
        "fileNames": ", ".join(names) or None,
        "additionalInfo": " ".join(info),
    }
    suspect: dict[str, Any] = {
        "ipCaptureEvent": [
            {"ipAddress": lead.ip, "eventName": EventName.UPLOAD, "dateTime": lead.last_seen}
        ],
    }
    if lead.country in ISO_COUNTRIES:  # geolocation may answer legacy codes (EU, A1)
        suspect["estimatedLocation"] = {"countryCode": lead.country}
    report = _report(
        options,
        lead.first_seen,
        "the first known sighting of the lead in the case's logs",
        internetDetails=[{"peer2peerIncident": p2p}],
        personOrUserReported=suspect,
        additionalInfo=options.note,
    )
    return Draft(
        f"case {lead.case} lead {lead.rank}", report, [], [f"lead:{lead.case}:{lead.connection}"]
    )
