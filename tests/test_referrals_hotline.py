"""The hotline's items as a referral source: exactly the right items, never the reporter,
the hosting address by role only; build, verify, tamper; superseding rebuilds them."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safelight.errors import InputError, NotFoundError, UsageError
from safelight.referrals import (
    BuildRequest,
    Built,
    HotlineSource,
    ReferralStore,
    build_referral,
    source_from_description,
    supersede_referral,
    verify_package,
)
from safelight.referrals.hotline_source import item_key
from safelight.referrals.keys import own_public
from safelight.store import Database
from tests.hotline_referral_support import CONTACT, DESCRIPTION, REPORTED, assess, submit
from tests.referral_support import PASSPHRASE, make_key


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    make_key(home)
    return home


@pytest.fixture
def items(db: Database) -> dict[str, Any]:
    """Eight URLs in two reports; two of them (a, b) referrable to DE."""
    first = submit(
        db,
        "https://a.example.de/1",
        "https://b.example.de/2",
        "https://c.example.fr/3",
        "https://d.example.de/4",
    )
    second = submit(
        db,
        "https://e.example.de/5",
        "https://f.example.de/6",
        "https://g.example.net/7",
        "https://h.example.de/8",
        contact="second.reporter@example.org",
    )
    found = {
        "a": assess(db, "a.example.de", classification="A1"),
        "b": assess(db, "b.example.de", "referred", le_notified_at=REPORTED + timedelta(days=1)),
        "c": assess(db, "c.example.fr", hosting_country="FR"),
        "d": assess(db, "d.example.de", "in_review", assessed_at=None),
        "e": assess(db, "e.example.de", "not_illegal"),
        "g": assess(db, "g.example.net", hosting_country=None),
        "h": assess(db, "h.example.de", "removed", removed_at=REPORTED + timedelta(days=2)),
    }  # f: received, never assessed
    return {"first": first, "second": second, "ids": found}


def build(
    db: Database, home: Path, out: Path, *sources: Any, role: str = "hotline", **extra: Any
) -> Built:
    request = BuildRequest("DE", list(sources), out, "tester", recipient_role=role, **extra)
    return build_referral(db, request, home=home, passphrase=PASSPHRASE)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_exactly_the_illegal_items_hosted_in_the_country(
    db: Database, items: dict[str, Any]
) -> None:
    content = HotlineSource(db).collect("DE")
    ids = items["ids"]
    assert content.items == {item_key(ids["a"]), item_key(ids["b"])}
    assert content.headline == {"urls": 2}
    rows = content.tables["urls"]
    assert [r["url"] for r in rows] == ["https://a.example.de/1", "https://b.example.de/2"]
    first = rows[0]
    assert first["host"] == "a.example.de" and first["country"] == "DE"
    assert first["classification"] == "A1" and first["status"] == "illegal"
    assert first["ip"] == "203.0.113.7" and first["asn"] == 64501
    assert first["network"] == "203.0.113.0/24 Example Hosting GmbH"
    assert first["reported_at"] == "2024-05-01T09:00:00+00:00"
    assert first["assessed_at"] == "2024-05-01T11:00:00+00:00"
    assert first["resolved_at"] == "2024-05-01T10:00:00+00:00"
    assert first["referred_at"] is None and first["removed_at"] is None
    assert first["reports"] == f"{items['first'][:5]}-{items['first'][5:]}"
    assert rows[1]["le_notified_at"] == "2024-05-02T09:00:00+00:00"
    # Other countries get their own; a country with nothing says why, with the counts.
    assert HotlineSource(db).collect("FR").items == {item_key(ids["c"])}
    empty = HotlineSource(db).collect("NL")
    assert not empty.items
    assert empty.empty_reason == (
        "no URL the hotline holds assessed illegal is hosted in NL "
        "(illegal URLs by hosting country: unknown 1, DE 2, FR 1)"
    )


def test_report_references_choose_the_urls_they_named(db: Database, items: dict[str, Any]) -> None:
    ids = items["ids"]
    source = HotlineSource.chosen(db, [items["first"].lower()])  # read case-insensitively
    assert source.collect("DE").items == {item_key(ids["a"]), item_key(ids["b"])}
    second = HotlineSource.chosen(db, [items["second"]])
    assert not second.collect("DE").items  # its DE URLs are not assessed illegal
    assert HotlineSource.chosen(db, ["all"]).references is None
    with pytest.raises(UsageError, match="not a report reference: 'nonsense'"):
        HotlineSource.chosen(db, ["nonsense"])
    with pytest.raises(UsageError, match="not both"):
        HotlineSource.chosen(db, ["all", items["first"]])
    with pytest.raises(NotFoundError, match="no hotline report has the reference 00000-0000"):
        HotlineSource.chosen(db, ["000000000" + "0"]).collect("DE")


def test_chosen_items_must_be_of_the_country_and_illegal(
    db: Database, items: dict[str, Any]
) -> None:
    ids = items["ids"]
    assert HotlineSource(db, item_ids=[ids["a"]]).collect("DE").items == {item_key(ids["a"])}
    with pytest.raises(InputError) as info:
        HotlineSource(db, item_ids=[ids["a"], ids["c"], ids["d"], 999]).collect("DE")
    message = info.value.message
    assert f"hotline item {ids['c']}: hosted in FR, not DE" in message
    assert f"hotline item {ids['d']}: status in_review" in message
    assert "hotline item 999: no such item" in message
    assert f"item {ids['a']}" not in message


def test_describe_round_trips(db: Database, items: dict[str, Any]) -> None:
    for source in (
        HotlineSource(db),
        HotlineSource(db, references=[items["first"]]),
        HotlineSource(db, item_ids=[items["ids"]["b"], items["ids"]["a"]]),
    ):
        again = source_from_description(db, json.loads(json.dumps(source.describe())))
        assert isinstance(again, HotlineSource)
        assert again.describe() == source.describe()
        assert again.collect("DE").tables == source.collect("DE").tables


def test_the_reporter_is_never_in_a_package(
    db: Database, items: dict[str, Any], home: Path, tmp_path: Path
) -> None:
    """Even for law enforcement (every category), no contact, description or typed text."""
    folder = build(db, home, tmp_path / "pkg", HotlineSource(db), role="law_enforcement").path
    text = "".join(p.read_bytes().decode("latin-1") for p in folder.iterdir())
    for secret in (CONTACT, "second.reporter", DESCRIPTION, "reporter"):
        assert secret not in text
    assert "https://a.example.de/1" in text  # the check reads the files it should


def test_the_hosting_address_only_for_law_enforcement(
    db: Database, items: dict[str, Any], home: Path, tmp_path: Path
) -> None:
    police = build(db, home, tmp_path / "le", HotlineSource(db), role="law_enforcement").path
    rows = csv_rows(police / "urls.csv")
    assert [r["item"] for r in rows] == ["U1", "U2"]
    assert rows[0]["ip"] == "203.0.113.7" and rows[0]["url"] == "https://a.example.de/1"
    hotline = build(db, home, tmp_path / "hl", HotlineSource(db, item_ids=[items["ids"]["a"]])).path
    rows = csv_rows(hotline / "urls.csv")
    assert "ip" not in rows[0] and rows[0]["url"] == "https://a.example.de/1"
    assert rows[0]["asn"] == "64501" and rows[0]["country"] == "DE"
    assert "203.0.113.7" not in "".join(p.read_bytes().decode("latin-1") for p in hotline.iterdir())
    doc = json.loads((hotline / "referral.json").read_text())
    ip = next(f for f in doc["fields"] if (f["file"], f["column"]) == ("urls.csv", "ip"))
    assert not ip["carried"] and "personal" in ip["reason"]
    assert doc["headline"] == {"urls": 1}
    assert doc["sources"][0]["kind"] == "hotline_items"
    platform = build(
        db,
        home,
        tmp_path / "pf",
        HotlineSource(db, item_ids=[items["ids"]["b"]]),
        role="platform",
    ).path
    header = list(csv_rows(platform / "urls.csv")[0])
    assert "url" not in header and "ip" not in header and "classification" in header


def test_build_verify_tamper_names_the_file(
    db: Database, items: dict[str, Any], home: Path, tmp_path: Path
) -> None:
    folder = build(db, home, tmp_path / "pkg", HotlineSource(db)).path
    assert verify_package(folder, own_public(home), "own").ok
    data = bytearray((folder / "urls.csv").read_bytes())
    data[-3] ^= 0x01
    (folder / "urls.csv").write_bytes(bytes(data))
    result = verify_package(folder, own_public(home), "own")
    assert not result.ok and result.altered == ["urls.csv"]
    assert result.signature == "valid"


def test_a_future_or_missing_time_is_refused(
    db: Database, items: dict[str, Any], home: Path, tmp_path: Path
) -> None:
    future = datetime.now(UTC) + timedelta(days=3)
    assess(db, "a.example.de", removed_at=future)
    with pytest.raises(InputError, match=r"urls row 1: removed_at: .* is in the future"):
        build(db, home, tmp_path / "pkg", HotlineSource(db))
    assess(db, "a.example.de", removed_at=None, assessed_at=None)
    with pytest.raises(InputError, match="urls row 1: assessed_at: missing"):
        build(db, home, tmp_path / "pkg", HotlineSource(db))
    assert not (tmp_path / "pkg").exists()


def test_sent_then_superseded_carries_when_it_was_referred(
    db: Database, items: dict[str, Any], home: Path, tmp_path: Path
) -> None:
    first = build(db, home, tmp_path / "one", HotlineSource(db)).record
    with pytest.raises(Exception, match="already refers the same 2 items"):
        build(db, home, tmp_path / "two", HotlineSource(db, references=[items["first"]]))
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    ReferralStore(db).mark_sent(first.id, sent_to="BKA", by="tester", at=sent)
    again = supersede_referral(
        db,
        first.id,
        tmp_path / "new",
        reason="hosting network corrected",
        created_by="tester",
        home=home,
        passphrase=PASSPHRASE,
    )
    assert again.record.supersedes == first.id and again.record.items == 2
    rows = csv_rows(again.path / "urls.csv")
    assert {r["referred_at"] for r in rows} == {sent.isoformat()}


def test_marking_sent_puts_the_package_on_each_carried_items_timeline(
    db: Database, items: dict[str, Any], home: Path, tmp_path: Path
) -> None:
    from safelight.hotline.routing import RoutingPolicy
    from safelight.hotline.takedown import EventKind, Takedown
    from safelight.referrals.audit import audit_log
    from safelight.service.audit import AuditLog
    from tests.routing_support import item_row

    ids = items["ids"]
    record = build(db, home, tmp_path / "one", HotlineSource(db)).record  # a and b
    statuses = {key: item_row(db, ids[key])["status"] for key in ("a", "b")}
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    store = ReferralStore(db, audit_log(db, "user:ana"))
    store.mark_sent(record.id, sent_to="jugendschutz.net upload", by="user:ana", at=sent)
    takedown = Takedown(db, AuditLog(db), RoutingPolicy("GB"))
    package = {
        "id": record.id,
        "referral_id": record.uid,
        "country": "DE",
        "recipient_role": "hotline",
        "sent_to": "jugendschutz.net upload",
    }
    for key in ("a", "b"):
        events = takedown.item_timeline(ids[key])
        shown = [e for e in events if e.event is EventKind.PACKAGE_SENT]
        assert [(e.occurred_at, e.actor, e.package) for e in shown] == [(sent, "user:ana", package)]
        assert shown[0].to_dict()["package"] == package
        assert item_row(db, ids[key])["status"] == statuses[key]  # the rules' statuses stay
    assert all(e.event is not EventKind.PACKAGE_SENT for e in takedown.item_timeline(ids["c"]))
    log = AuditLog(db)
    assert log.verify().ok
    entries = [e for e in log.entries() if e.action == "hotline.package_sent"]
    assert sorted((e.actor, e.target) for e in entries) == [
        ("user:ana", f"item:{ids['a']}"),
        ("user:ana", f"item:{ids['b']}"),
    ]
    assert entries[0].details["referral_id"] == record.uid
    with pytest.raises(Exception, match="cannot be changed"):
        store.mark_sent(record.id, sent_to="again", by="user:ana")
    assert len(takedown.item_timeline(ids["b"])) == len(events)  # nothing recorded twice
