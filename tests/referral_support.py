"""Shared pieces of the referral tests: a key, a source without a network, a scan run."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safelight.match.results import Match
from safelight.referrals import Organisation, create_key
from safelight.referrals.content import SourceContent, TimelineEvent
from safelight.scan.model import ItemResult
from safelight.scan.runs import RunStore, Tally
from safelight.signals.records import HashRecord
from safelight.store import Database

PASSPHRASE = "correct horse battery"


def make_key(home: Path) -> str:
    return create_key(home, PASSPHRASE, Organisation("Example Hotline", "ops@example.org"))


class StaticSource:
    """A ``ReferralSource`` holding fixed rows (the protocol the hotline's reports will use)."""

    def __init__(self, leads: int = 3, files: int = 2, *, tag: str = "a", **extra: Any) -> None:
        self.tag = tag
        self.lead_rows = [
            {
                "connection": f"198.51.100.{i}",
                "ip": f"198.51.100.{i}",
                "country": "DE",
                "asn": 64500,
                "client": "=cmd|' /C calc'!A0" if i == 0 else "qBittorrent 4.6",
                "known_files": 10 - i,
                "first_seen": "2024-03-01T10:00:00+00:00",
                "last_seen": "2024-03-02T10:00:00+00:00",
                **extra,
            }
            for i in range(leads)
        ]
        self.file_rows = [
            {"sha256": hashlib.sha256(f"{tag}{i}".encode()).hexdigest(), "lists": "KNOWN"}
            for i in range(files)
        ]

    def describe(self) -> dict[str, Any]:
        return {"kind": "static", "name": f"static {self.tag}"}

    def collect(self, country: str) -> SourceContent:
        name = f"static:{self.tag}"
        return SourceContent(
            description=self.describe(),
            tables={
                "leads": [{"source": name, **r} for r in self.lead_rows],
                "files": [{"source": name, **r} for r in self.file_rows],
            },
            events=[TimelineEvent(datetime(2024, 3, 1, 10, tzinfo=UTC), name, "first seen")],
            headline={"connections": len(self.lead_rows), "known_files": len(self.file_rows)},
            items={f"connection:{r['connection']}" for r in self.lead_rows}
            | {f"file:{r.get('sha256')}" for r in self.file_rows},
        )


def make_scan_run(db: Database) -> int:
    """A finished scan run with one matched item and one unmatched."""
    runs = RunStore(db)
    run_id = runs.create(["/evidence"], [{"name": "KNOWN"}], {})
    digest = hashlib.sha256(b"benign").hexdigest()
    matched = ItemResult(
        HashRecord("/evidence/a.jpg", "photo", size=6, digests={"sha256": digest}),
        (Match("KNOWN", 1, digest, 0, frozenset({"series-a"}), "sha256"),),
    )
    other = ItemResult(HashRecord("/evidence/b.txt", "other", size=3, digests={"sha256": "0" * 64}))
    runs.record(run_id, [matched, other])
    tally = Tally()
    tally.add(matched)
    tally.add(other)
    runs.finish(run_id, "finished", tally)
    return run_id
