"""Referral packages: build, sign, tamper, verify; roles; bad input; records and superseding."""

from __future__ import annotations

import csv
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safelight.errors import ConflictError, InputError, NotFoundError, UsageError
from safelight.referrals import (
    BuildRequest,
    Built,
    ReferralStore,
    ScanRunSource,
    build_referral,
    supersede_referral,
    validate_country,
    verify_package,
)
from safelight.referrals.keys import own_public, read_public
from safelight.referrals.manifest import MANIFEST, parse_manifest
from safelight.store import Database
from tests.referral_support import PASSPHRASE, StaticSource, make_key, make_scan_run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    make_key(home)
    return home


def build(
    db: Database, home: Path, out: Path, *sources: Any, audit: Any = None, **options: Any
) -> Built:
    request = BuildRequest(
        country=options.pop("country", "DE"),
        sources=list(sources) or [StaticSource()],
        out=out,
        created_by="tester",
        **options,
    )
    extra = {"audit": audit} if audit else {}
    return build_referral(db, request, home=home, passphrase=PASSPHRASE, **extra)


def leftovers(folder: Path) -> list[str]:
    """Package folders or their temporary siblings in ``folder``."""
    return [p.name for p in folder.iterdir() if "pkg" in p.name]


def verify(folder: Path, home: Path) -> Any:
    return verify_package(folder, own_public(home), "own")


def test_round_trip_signs_and_names_every_tampered_file(
    db: Database, home: Path, tmp_path: Path
) -> None:
    built = build(db, home, tmp_path / "pkg")
    folder = built.path
    assert verify(folder, home).ok
    listed = parse_manifest((folder / MANIFEST).read_bytes())
    assert set(listed) == {
        "referral.json",
        "leads.csv",
        "files.csv",
        "matches.csv",
        "urls.csv",
        "timeline.csv",
        "summary.pdf",
        "signer.pub.pem",
    }

    # One byte changed.
    data = bytearray((folder / "leads.csv").read_bytes())
    data[-2] ^= 0x01
    (folder / "leads.csv").write_bytes(bytes(data))
    result = verify(folder, home)
    assert (result.altered, result.missing, result.added) == (["leads.csv"], [], [])
    assert result.signature == "valid" and not result.ok

    # A file removed and a file added, besides the altered one: every one is named.
    (folder / "summary.pdf").unlink()
    (folder / "extra.txt").write_text("not ours")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.csv").write_text("x")
    result = verify(folder, home)
    assert result.altered == ["leads.csv"]
    assert result.missing == ["summary.pdf"]
    assert result.added == ["extra.txt", "sub/deep.csv"]
    assert not result.ok


@pytest.mark.parametrize("case", ["removed", "added", "byte"])
def test_each_tampering_alone_fails(db: Database, home: Path, tmp_path: Path, case: str) -> None:
    folder = build(db, home, tmp_path / "pkg").path
    if case == "removed":
        (folder / "files.csv").unlink()
    elif case == "added":
        (folder / "note.txt").write_text("added")
    else:
        data = bytearray((folder / "referral.json").read_bytes())
        data[10] ^= 0x20
        (folder / "referral.json").write_bytes(bytes(data))
    result = verify(folder, home)
    assert not result.ok
    assert len(result.altered + result.missing + result.added) == 1


def test_a_rewritten_manifest_breaks_the_signature(
    db: Database, home: Path, tmp_path: Path
) -> None:
    folder = build(db, home, tmp_path / "pkg").path
    (folder / "leads.csv").write_text("lead\nL1\n")
    from safelight.referrals.manifest import manifest_text

    (folder / MANIFEST).write_text(manifest_text(folder))  # files consistent again
    result = verify(folder, home)
    assert result.altered == [] and result.signature == "invalid" and not result.ok


def test_another_key_does_not_verify(db: Database, home: Path, tmp_path: Path) -> None:
    folder = build(db, home, tmp_path / "pkg").path
    other = tmp_path / "other"
    make_key(other)
    result = verify_package(folder, own_public(other), "given")
    assert result.signature == "invalid" and not result.ok
    # Without a trusted key the package's own key is used, and the result says so.
    alone = verify_package(folder, None, "none")
    assert alone.ok and alone.key_source == "package"
    # A missing signature is not valid.
    (folder / "MANIFEST.sig").unlink()
    assert verify(folder, home).signature == "missing"


def test_hotline_gets_no_personal_data_and_the_package_says_why(
    db: Database, home: Path, tmp_path: Path
) -> None:
    folder = build(db, home, tmp_path / "pkg").path
    doc = json.loads((folder / "referral.json").read_text())
    with (folder / "leads.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert "ip" not in rows[0] and "connection" not in rows[0]
    assert [r["lead"] for r in rows] == ["L1", "L2", "L3"]
    assert "198.51.100" not in "".join(p.read_text(errors="ignore") for p in folder.glob("*.*"))
    withheld = {(f["file"], f["column"]) for f in doc["fields"] if not f["carried"]}
    assert {("leads.csv", "ip"), ("leads.csv", "connection"), ("files.csv", "path")} <= withheld
    assert all(f["reason"] for f in doc["fields"])
    # Formulas from the logs are guarded in every CSV.
    assert rows[0]["client"].startswith("'=")


def test_law_enforcement_gets_ips_and_platform_gets_hashes_only(
    db: Database, home: Path, tmp_path: Path
) -> None:
    police = build(db, home, tmp_path / "le", recipient_role="law_enforcement").path
    with (police / "leads.csv").open() as handle:
        assert next(csv.DictReader(handle))["ip"] == "198.51.100.0"
    doc = json.loads((police / "referral.json").read_text())
    carried = [f for f in doc["fields"] if f["column"] == "ip"]
    assert carried[0]["carried"] and "law_enforcement" in carried[0]["reason"]
    platform = build(
        db, home, tmp_path / "pf", StaticSource(tag="b"), recipient_role="platform"
    ).path
    with (platform / "leads.csv").open() as handle:
        header = next(csv.reader(handle))
    assert "asn" not in header and "client" not in header and "ip" not in header
    with (platform / "files.csv").open() as handle:
        assert "sha256" in next(csv.reader(handle))


def test_bad_input_is_refused_before_anything_is_written(
    db: Database, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pkg"
    with pytest.raises(UsageError, match="not an ISO 3166-1 alpha-2"):
        build(db, home, out, country="XX")
    with pytest.raises(UsageError, match="GB"):
        build(db, home, out, country="UK")
    with pytest.raises(UsageError, match="role"):
        build(db, home, out, recipient_role="journalist")
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat(timespec="seconds")
    with pytest.raises(InputError, match="last_seen.*in the future"):
        build(db, home, out, StaticSource(last_seen=future))
    with pytest.raises(InputError, match="first_seen: missing"):
        build(db, home, out, StaticSource(first_seen=None))
    with pytest.raises(InputError, match="nothing to refer"):
        build(db, home, out, StaticSource(leads=0, files=0))
    with pytest.raises(UsageError, match="nothing to refer"):
        build_referral(db, BuildRequest("DE", [], out, "t"), home=home, passphrase=PASSPHRASE)
    with pytest.raises(UsageError, match="wrong passphrase"):
        build_referral(
            db, BuildRequest("DE", [StaticSource()], out, "t"), home=home, passphrase="wrong-one"
        )
    assert not out.exists()
    assert leftovers(tmp_path) == []
    assert ReferralStore(db).list() == []


def test_a_file_without_any_hash_is_refused(db: Database, home: Path, tmp_path: Path) -> None:
    source = StaticSource()
    source.file_rows.append({"lists": "KNOWN"})
    with pytest.raises(InputError, match="files row 3: no digest or PDQ"):
        build(db, home, tmp_path / "pkg", source)


def test_a_failure_while_writing_leaves_no_package_and_no_record(
    db: Database, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import safelight.referrals.pdf as pdf

    def broken(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pdf, "write_summary", broken)
    with pytest.raises(OSError, match="disk full"):
        build(db, home, tmp_path / "pkg")
    assert leftovers(tmp_path) == []
    assert ReferralStore(db).list() == []


def test_out_must_be_new_or_empty(db: Database, home: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "old.txt").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        build(db, home, out)
    (out / "old.txt").unlink()
    assert build(db, home, out).path == out


def test_duplicates_are_refused_and_sent_referrals_only_superseded(
    db: Database, home: Path, tmp_path: Path
) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    audit = lambda event, details, conn: events.append((event, details))  # noqa: E731
    first = build(db, home, tmp_path / "one", audit=audit).record
    with pytest.raises(
        ConflictError, match=f"referral {first.id} .*same 5 items to DE \\(hotline\\)"
    ):
        build(db, home, tmp_path / "two")
    assert not (tmp_path / "two").exists()
    # The same items to another country, or to another recipient in it, are not.
    build(db, home, tmp_path / "fr", country="fr")
    build(db, home, tmp_path / "police", recipient_role="law_enforcement")

    store = ReferralStore(db, audit)
    sent = store.mark_sent(first.id, sent_to="BKA", by="tester")
    assert sent.status == "sent" and sent.sent_to == "BKA"
    with pytest.raises(ConflictError, match="cannot be changed, only superseded"):
        store.mark_sent(first.id, sent_to="other", by="tester")
    with pytest.raises(UsageError, match="why"):
        build(db, home, tmp_path / "new", supersedes=first.id)

    newer = build(
        db, home, tmp_path / "new", supersedes=first.id, reason="corrected", audit=audit
    ).record
    old = store.get(first.id)
    assert (old.status, old.superseded_by, newer.supersedes) == ("superseded", newer.id, first.id)
    assert (old.sent_to, old.sent_at, old.manifest) == (sent.sent_to, sent.sent_at, sent.manifest)
    doc = json.loads((tmp_path / "new" / "referral.json").read_text())
    assert doc["supersedes"] == {"referral_id": first.uid, "reason": "corrected"}
    with pytest.raises(ConflictError, match="already superseded"):
        build(db, home, tmp_path / "again", supersedes=first.id, reason="x")
    with pytest.raises(ConflictError, match="superseded"):
        store.mark_sent(first.id, sent_to="x", by="t")
    assert [e for e, _ in events] == ["referral.built", "referral.sent", "referral.superseded"]
    assert events[2][1]["supersedes"] == first.id


def test_mark_sent_checks_its_input(db: Database, home: Path, tmp_path: Path) -> None:
    record = build(db, home, tmp_path / "pkg").record
    store = ReferralStore(db)
    with pytest.raises(UsageError, match="in the future"):
        store.mark_sent(record.id, sent_to="x", by="t", at=datetime.now(UTC) + timedelta(1))
    with pytest.raises(UsageError, match="to whom"):
        store.mark_sent(record.id, sent_to=" ", by="t")
    with pytest.raises(NotFoundError):
        store.mark_sent(999, sent_to="x", by="t")


def test_the_store_records_what_a_referral_contained(
    db: Database, home: Path, tmp_path: Path
) -> None:
    built = build(db, home, tmp_path / "pkg")
    store = ReferralStore(db)
    record = store.get(built.record.id)
    assert record.items == 5 and len(store.items(record.id)) == 5
    assert record.manifest == (tmp_path / "pkg" / MANIFEST).read_text()
    assert record.to_dict(full=True)["fields"] == record.fields
    assert [r.id for r in store.list(country="DE")] == [record.id]
    assert store.list(country="FR") == []


def test_scan_matches_can_be_referred_and_superseded_from_their_record(
    db: Database, home: Path, tmp_path: Path
) -> None:
    run_id = make_scan_run(db)
    built = build(db, home, tmp_path / "scan", ScanRunSource(db, run_id), country="NL")
    folder = built.path
    with (folder / "matches.csv").open() as handle:
        [match] = list(csv.DictReader(handle))
    assert (match["file"], match["list"], match["labels"]) == ("F1", "KNOWN", "series-a")
    with (folder / "files.csv").open() as handle:
        [row] = list(csv.DictReader(handle))
    assert "path" not in row and row["size"] == "6"
    doc = json.loads((folder / "referral.json").read_text())
    assert [e["event"] for e in doc["timeline"]] == [
        f"scan run {run_id} started",
        f"scan run {run_id} finished",
    ]
    newer = supersede_referral(
        db,
        built.record.id,
        tmp_path / "scan2",
        reason="role",
        created_by="t",
        home=home,
        passphrase=PASSPHRASE,
        recipient_role="law_enforcement",
    )
    with (newer.path / "files.csv").open() as handle:
        assert next(csv.DictReader(handle))["path"] == "/evidence/a.jpg"


def test_country_codes() -> None:
    assert validate_country(" de ") == "DE"
    for bad in ("", "D", "DEU", "ZZ", "EU", "unknown", "D1", "ÄÖ"):
        with pytest.raises(UsageError):
            validate_country(bad)


def test_keys_are_private_encrypted_and_single(tmp_path: Path) -> None:
    from safelight.referrals.keys import (
        Organisation,
        create_key,
        import_key,
        key_folder,
        load_private,
        public_pem,
        public_raw,
    )

    home = tmp_path / "h"
    found = make_key(home)
    folder = key_folder(home)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED" in (folder / "signing_key.pem").read_bytes()
    with pytest.raises(ConflictError):
        make_key(home)
    with pytest.raises(UsageError, match="at least"):
        create_key(tmp_path / "weak", "short", Organisation("x"))
    key = load_private(home, PASSPHRASE)
    public = key.public_key()
    assert read_public(public_pem(public), "pem").public_bytes_raw() == public.public_bytes_raw()
    assert read_public(public_raw(public), "raw").public_bytes_raw() == public.public_bytes_raw()
    assert read_public(public.public_bytes_raw().hex().encode(), "hex") is not None
    with pytest.raises(InputError):
        read_public(b"not a key", "x")
    # Import: the same key under another home gives the same fingerprint.
    pem = (folder / "signing_key.pem").read_bytes()
    moved = import_key(
        tmp_path / "h2", pem, "another passphrase", Organisation("x"), file_passphrase=PASSPHRASE
    )
    assert moved == found
    with pytest.raises(InputError, match="cannot read"):
        import_key(tmp_path / "h3", b"junk", PASSPHRASE, Organisation("x"), file_passphrase=None)
    assert os.listdir(tmp_path / "h2" / "keys")


def test_times_must_be_iso_with_a_zone(db: Database, home: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="first_seen: '2024-03-01 10:00' has no time zone"):
        build(db, home, tmp_path / "pkg", StaticSource(first_seen="2024-03-01 10:00"))
    with pytest.raises(InputError, match="last_seen: 'yesterday' is not an ISO 8601 time"):
        build(db, home, tmp_path / "pkg", StaticSource(last_seen="yesterday"))
    with pytest.raises(InputError, match="unclassified columns"):
        build(db, home, tmp_path / "pkg", StaticSource(email="a@b.example"))
    assert leftovers(tmp_path) == []


def test_a_package_without_manifest_or_with_a_broken_one(
    db: Database, home: Path, tmp_path: Path
) -> None:
    folder = build(db, home, tmp_path / "pkg").path
    text = (folder / MANIFEST).read_bytes()
    (folder / MANIFEST).write_bytes(text + b"not a line\n")
    with pytest.raises(InputError, match="MANIFEST:9"):
        verify(folder, home)
    (folder / MANIFEST).unlink()
    result = verify(folder, home)
    assert not result.ok and "referral.json" in result.added and result.problems
    with pytest.raises(NotFoundError):
        verify(tmp_path / "nowhere", home)


def test_a_link_in_place_of_a_file_is_altered(db: Database, home: Path, tmp_path: Path) -> None:
    folder = build(db, home, tmp_path / "pkg").path
    copy = tmp_path / "leads-copy.csv"
    copy.write_bytes((folder / "leads.csv").read_bytes())
    (folder / "leads.csv").unlink()
    (folder / "leads.csv").symlink_to(copy)
    result = verify(folder, home)
    assert result.altered == ["leads.csv"] and not result.ok


def test_a_duplicate_recorded_meanwhile_is_caught_in_the_transaction(
    db: Database, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(db, home, tmp_path / "one")
    checked = ReferralStore.duplicate_of

    def blind_before(self: ReferralStore, *args: Any, **kwargs: Any) -> Any:
        # The check before writing misses the other build; the one in the transaction not.
        return checked(self, *args, **kwargs) if kwargs.get("conn") else None

    monkeypatch.setattr(ReferralStore, "duplicate_of", blind_before)
    with pytest.raises(ConflictError, match="already refers the same"):
        build(db, home, tmp_path / "pkg")
    assert leftovers(tmp_path) == [] and len(ReferralStore(db).list()) == 1
