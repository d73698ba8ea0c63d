"""HMA's matching routes (/m) driven as an HMA client, expectations from hma-api.md 4."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safelight.hma.banks import Bank, HmaBanks, LookupFacts
from safelight.lists import HashListStore
from safelight.match.flood import paused_entries
from safelight.service.audit import AuditLog
from safelight.service.roles import Role
from safelight.store import Database
from tests.conftest import conformance_dir
from tests.hma_support import MD5_A, PDQ_A, PDQ_B, flat_png, flip_bits, hma_client, new_bank


@pytest.fixture
def hma(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with hma_client(db, tmp_path) as client:
        yield client


def add(client: TestClient, bank: str, **signals: str) -> int:
    response = client.post(f"/c/bank/{bank}/signal", json=signals)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def raw(client: TestClient, signal: str, signal_type: str = "pdq", **params: str) -> object:
    query = {"signal": signal, "signal_type": signal_type, **params}
    return client.get("/m/raw_lookup", params=query).json()


def lookup(client: TestClient, signal: str, signal_type: str = "pdq", **params: str) -> object:
    query = {"signal": signal, "signal_type": signal_type, **params}
    return client.get("/m/lookup", params=query).json()


def test_raw_lookup(hma: TestClient) -> None:
    new_bank(hma, "BANK_A")
    near = add(hma, "BANK_A", pdq=flip_bits(PDQ_A, 12))
    same = add(hma, "BANK_A", pdq=PDQ_A, video_md5=MD5_A)
    assert (near, same) == (1, 2)
    assert sorted(raw(hma, PDQ_A)["matches"]) == [1, 2]  # type: ignore[index]
    with_distance = raw(hma, PDQ_A, include_distance="true")["matches"]  # type: ignore[index]
    assert sorted(with_distance, key=lambda m: m["bank_content_id"]) == [
        {"bank_content_id": 1, "distance": "12"},
        {"bank_content_id": 2, "distance": "0"},
    ]
    assert raw(hma, MD5_A, "video_md5", include_distance="1") == {
        "matches": [{"bank_content_id": 2, "distance": "-"}]
    }
    assert raw(hma, PDQ_B) == {"matches": []}


def test_pdq_radius_is_31_inclusive(hma: TestClient) -> None:
    new_bank(hma, "BANK_A")
    add(hma, "BANK_A", pdq=PDQ_A)  # one hash alone matches (hma-api.md 7.1: HMA's never does)
    assert raw(hma, flip_bits(PDQ_A, 31), include_distance="yes") == {
        "matches": [{"bank_content_id": 1, "distance": "31"}]
    }
    assert raw(hma, flip_bits(PDQ_A, 32)) == {"matches": []}


def test_lookup_errors(hma: TestClient) -> None:
    missing = hma.get("/m/raw_lookup", params={"signal": PDQ_A})
    assert missing.status_code == 422
    assert [(e["type"], e["loc"], e["msg"]) for e in missing.json()] == [
        ("missing", ["signal_type"], "Field required")
    ]
    bad_bool = hma.get(
        "/m/raw_lookup", params={"signal": PDQ_A, "signal_type": "pdq", "include_distance": "maybe"}
    )
    assert bad_bool.status_code == 422
    for route in ("/m/raw_lookup", "/m/lookup"):
        unknown = hma.get(route, params={"signal": PDQ_A, "signal_type": "nope"})
        assert (unknown.status_code, unknown.json()) == (
            400,
            {"message": "No such SignalType 'nope'"},
        )
        invalid = hma.get(route, params={"signal": "abc", "signal_type": "pdq"})
        assert invalid.json() == {"message": "invalid signal: invalid PDQ hash"}
        md5 = hma.get(route, params={"signal": "xyz", "signal_type": "video_md5"})
        assert md5.json() == {"message": "invalid signal: 'xyz' is not a valid MD5 hash"}
    neither = hma.get("/m/lookup", params={"signal": PDQ_A})
    assert (neither.status_code, neither.json()) == (
        400,
        {"message": "Either url or both signal and signal_type are required"},
    )
    bypass = hma.get(
        "/m/lookup", params={"signal": PDQ_A, "signal_type": "pdq", "bypass_coinflip": "maybe"}
    )
    assert bypass.status_code == 422


def test_lookup_bank_map_and_live_filters(hma: TestClient) -> None:
    new_bank(hma, "BANK_A")
    new_bank(hma, "BANK_B")
    add(hma, "BANK_A", pdq=flip_bits(PDQ_A, 4))
    add(hma, "BANK_A", pdq=PDQ_A)
    add(hma, "BANK_B", pdq=PDQ_A)
    found = lookup(hma, PDQ_A)
    assert isinstance(found, dict) and set(found) == {"BANK_A", "BANK_B"}
    assert sorted(found["BANK_A"], key=lambda m: m["bank_content_id"]) == [
        {"bank_content_id": 1, "distance": "4"},
        {"bank_content_id": 2, "distance": "0"},
    ]
    assert found["BANK_B"] == [{"bank_content_id": 3, "distance": "0"}]
    assert lookup(hma, PDQ_A, banks="BANK_B") == {"BANK_B": found["BANK_B"]}
    assert lookup(hma, PDQ_A, banks="BANK_A, BANK_B") == {"BANK_A": found["BANK_A"]}  # no trim
    assert lookup(hma, PDQ_A, banks="") == found
    assert lookup(hma, PDQ_B) == {}
    # disabled content and deletes apply at once
    hma.put("/c/bank/BANK_B/content/3", json={"disable_until_ts": 0})
    assert set(lookup(hma, PDQ_A)) == {"BANK_A"}  # type: ignore[arg-type]
    hma.put("/c/bank/BANK_B/content/3", json={"disable_until_ts": 1})
    hma.delete("/c/bank/BANK_A/content/2")
    assert lookup(hma, PDQ_A) == {
        "BANK_A": [{"bank_content_id": 1, "distance": "4"}],
        "BANK_B": [{"bank_content_id": 3, "distance": "0"}],
    }
    hma.put("/c/bank/BANK_B", json={"name": "RENAMED"})  # a rename shows at once
    assert set(lookup(hma, PDQ_A)) == {"BANK_A", "RENAMED"}  # type: ignore[arg-type]
    assert raw(hma, PDQ_A, banks="BANK_B") == {"matches": []}


def test_coin_flip_by_bank_ratio(hma: TestClient) -> None:
    new_bank(hma, "ALWAYS")
    new_bank(hma, "HALF", enabled_ratio=0.5)
    new_bank(hma, "NEVER", enabled_ratio=0.0)
    for bank in ("ALWAYS", "HALF", "NEVER"):
        add(hma, bank, pdq=PDQ_A)
    # seed "1" draws 0.4782479962566343, "2" draws 0.5558450440322502 (hma-api.md 4)
    assert set(lookup(hma, PDQ_A, seed="1")) == {"ALWAYS", "HALF"}  # type: ignore[arg-type]
    assert set(lookup(hma, PDQ_A, seed="2")) == {"ALWAYS"}  # type: ignore[arg-type]
    assert set(lookup(hma, PDQ_A, seed="abc")) == {"ALWAYS"}  # 0.772...  # type: ignore[arg-type]
    # bypass_coinflip: HMA ignores it on GET (7.5); Safelight honours it on both methods
    assert set(lookup(hma, PDQ_A, seed="2", bypass_coinflip="true")) == {"ALWAYS", "HALF"}  # type: ignore[arg-type]
    # raw_lookup applies no ratio
    assert sorted(raw(hma, PDQ_A)["matches"]) == [1, 2]  # type: ignore[index]


def test_a_ratio_change_shows_at_the_next_lookup(hma: TestClient) -> None:
    """Ratios are kept per version of the lists; a ratio change is a new version."""
    new_bank(hma, "HALF", enabled_ratio=0.5)
    add(hma, "HALF", pdq=PDQ_A)
    assert set(lookup(hma, PDQ_A, seed="2")) == set()  # type: ignore[arg-type]  # 0.5558 > 0.5
    assert set(lookup(hma, PDQ_A, seed="2")) == set()  # type: ignore[arg-type]
    assert hma.put("/c/bank/HALF", json={"enabled_ratio": 0.6}).status_code == 200
    assert set(lookup(hma, PDQ_A, seed="2")) == {"HALF"}  # type: ignore[arg-type]
    assert set(lookup(hma, PDQ_A, seed="abc")) == set()  # type: ignore[arg-type]  # 0.772


def test_lookup_facts_read_the_store_once_per_version(db: Database) -> None:
    lists = HashListStore(db)
    banks = HmaBanks(lists)
    banks.create_bank("HALF", 0.5)
    reads: list[str] = []

    class Counting(HmaBanks):
        def content_ids(self, entry_ids: Iterable[int]) -> dict[int, int]:
            reads.append("content")
            return super().content_ids(entry_ids)

        def banks(self, names: Iterable[str] | None = None) -> list[Bank]:
            reads.append("banks")
            return super().banks(names)

    facts = LookupFacts(Counting(lists))
    first, second = object(), object()
    for _ in range(3):
        assert facts.ratios(first, {"HALF"}) == {"HALF": 0.5}
        assert facts.content_ids(first, [7]) == {7: 7}  # not posted through HMA: its own item
    assert reads == ["banks", "content"] and facts.holds(first, [(7, "HALF")])
    assert not facts.holds(second, [(7, "HALF")]) and not facts.holds(first, [(8, "HALF")])
    facts.ratios(second, {"HALF"})
    facts.ratios(None, {"HALF"})
    facts.ratios(None, {"HALF"})
    assert reads == ["banks", "content", "banks", "banks", "banks"]


def test_hma_lookups_count_toward_flood_protection(db: Database, tmp_path: Path) -> None:
    """A match through HMA's routes is a sighting like a native one: two distinct uploads
    near one entry pause it when the list allows one."""
    HashListStore(db).create("KNOWN", flood_threshold=1)
    with hma_client(db, tmp_path) as client:
        entry = add(client, "KNOWN", pdq=PDQ_A)
        for bits in (1, 2):
            assert set(lookup(client, flip_bits(PDQ_A, bits))) == {"KNOWN"}  # type: ignore[arg-type]
    [paused] = paused_entries(HashListStore(db))  # shutdown flushed the sightings
    assert paused.id == entry and "2 distinct" in (paused.paused_reason or "")


def test_new_content_matches_at_once(hma: TestClient) -> None:
    """HMA: after the next index rebuild (up to 90 s). Safelight: the next lookup."""
    new_bank(hma, "BANK_A")
    assert lookup(hma, PDQ_A) == {}
    add(hma, "BANK_A", pdq=PDQ_A)
    assert lookup(hma, PDQ_A) == {"BANK_A": [{"bank_content_id": 1, "distance": "0"}]}
    metrics = hma.get("/metrics").text
    assert 'safelight_lookups_total{list="*"} 2.0' in metrics
    assert 'safelight_matches_total{list="BANK_A"} 1.0' in metrics


def test_post_lookup_hashes_the_upload(hma: TestClient) -> None:
    image = conformance_dir("pdq", "images", "bridge-mods") / "aaa-orig.jpg"
    new_bank(hma, "BANK_A")
    photo = {"photo": ("x.jpg", image.read_bytes(), "image/jpeg")}
    assert hma.post("/m/lookup", files=photo).json() == {"pdq": {}}
    add(hma, "BANK_A", pdq=PDQ_A)
    assert hma.post("/m/lookup", files=photo).json() == {
        "pdq": {"BANK_A": [{"bank_content_id": 1, "distance": "0"}]}
    }
    low = hma.post("/m/lookup", files={"photo": ("flat.png", flat_png(), "image/png")})
    assert (low.status_code, low.json()) == (400, {"message": "invalid signal: invalid PDQ hash"})
    none = hma.post("/m/lookup", json={"pdq": PDQ_A})
    assert none.json() == {"message": "Missing multipart/form-data file upload"}
    video = hma.post("/m/lookup", files={"video": ("v.mp4", b"benign bytes", "video/mp4")})
    assert video.json() == {"video_md5": {}}


def test_index_status(hma: TestClient) -> None:
    status = hma.get("/m/index/status").json()
    assert {"pdq", "video_md5"} <= set(status)
    assert set(status["pdq"]) == {"built_to", "present", "size"}
    new_bank(hma, "BANK_A")
    add(hma, "BANK_A", pdq=PDQ_A)
    one = hma.get("/m/index/status", params={"signal_type": "pdq"}).json()
    assert list(one) == ["pdq"] and one["pdq"]["size"] == 1 and one["pdq"]["present"] is True
    for bad in ("nope", ""):
        response = hma.get("/m/index/status", params={"signal_type": bad})
        assert (response.status_code, response.json()) == (
            400,
            {"message": f"No such signal type {bad!r}"},
        )


def test_compare(hma: TestClient) -> None:
    four = flip_bits(PDQ_A, 4)
    assert hma.post("/m/compare", json={"pdq": [PDQ_A, four]}).json() == {
        "pdq": [True, {"distance": 4}]
    }
    far = hma.post("/m/compare", json={"pdq": [PDQ_A, flip_bits(PDQ_A, 32)]}).json()
    assert far == {"pdq": [False, {"distance": 32}]}
    assert hma.post("/m/compare", json={}).json() == {}
    # HMA: 500 for types without a distance (7.4); Safelight: [match, {}]
    md5 = hma.post("/m/compare", json={"video_md5": [MD5_A, MD5_A.upper()]})
    assert md5.json() == {"video_md5": [True, {}]}
    for body, message in (
        ([1, 2], "Request input was not a dict"),
        ({"pdq": PDQ_A}, "Comparison hashes for pdq was not a list"),
        ({"pdq": [PDQ_A]}, "Comparison hash list length must be exactly 2"),
        ({"nope": [1, 2]}, "No such SignalType 'nope'"),
        ({"pdq": [PDQ_A, "abc"]}, "Invalid pdq hash: invalid PDQ hash"),
    ):
        response = hma.post("/m/compare", json=body)
        assert (response.status_code, response.json()) == (400, {"message": message}), body
    assert hma.post("/m/compare", content=b"pdq").status_code == 415
    malformed = hma.post("/m/compare", content=b"{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400


def test_changes_and_lookups_are_audited(hma: TestClient, db: Database) -> None:
    new_bank(hma, "BANK_A")
    add(hma, "BANK_A", pdq=PDQ_A)
    lookup(hma, PDQ_A)
    hma.delete("/c/bank/BANK_A")
    trail = [(e.actor, e.action, e.target) for e in AuditLog(db).entries()]
    assert trail[-4:] == [
        ("token:hma-admin", "list.create", "BANK_A"),
        ("token:hma-admin", "entry.add", "BANK_A"),
        ("token:hma-admin", "lookup", "/m/lookup"),
        ("token:hma-admin", "list.delete", "BANK_A"),
    ]
    looked = [e for e in AuditLog(db).entries() if e.action == "lookup"][0]
    assert looked.details["matches"] == [[["BANK_A", 1]]]


def test_scoped_token_sees_its_banks_only(db: Database, tmp_path: Path) -> None:
    lists = HashListStore(db)
    lists.create("MINE")
    lists.create("OTHER")
    with hma_client(db, tmp_path) as admin:
        add(admin, "MINE", pdq=PDQ_A)
        add(admin, "OTHER", pdq=PDQ_A)
    with hma_client(db, tmp_path, Role.API_CLIENT, lists=["MINE"]) as client:
        assert lookup(client, PDQ_A) == {"MINE": [{"bank_content_id": 1, "distance": "0"}]}
        assert raw(client, PDQ_A) == {"matches": [1]}


def test_vpdq_signals_are_posted_and_matched(hma: TestClient) -> None:
    frames = [f"{flip_bits(PDQ_A, i)},100,{float(i):.3f}" for i in range(4)]
    value = json.dumps(frames)
    new_bank(hma, "VIDEOS")
    assert add(hma, "VIDEOS", vpdq=value) == 1
    found = lookup(hma, value, "vpdq")
    assert isinstance(found, dict) and [m["bank_content_id"] for m in found["VIDEOS"]] == [1]
    assert lookup(hma, json.dumps([f"{PDQ_B},100,0.000"]), "vpdq") == {}
    invalid = hma.get("/m/lookup", params={"signal": "[1]", "signal_type": "vpdq"})
    assert invalid.status_code == 400
    assert invalid.json()["message"].startswith("invalid signal: ")


def test_a_value_already_in_the_bank_is_one_item(hma: TestClient) -> None:
    """HMA stores a second content item; Safelight holds each value once per list."""
    new_bank(hma, "BANK_A")
    first = hma.post("/c/bank/BANK_A/signal", json={"pdq": PDQ_A, "video_md5": MD5_A}).json()
    again = hma.post("/c/bank/BANK_A/signal", json={"pdq": PDQ_A}).json()
    assert again == {"id": first["id"], "signals": {"pdq": PDQ_A}}
    partly = hma.post("/c/bank/BANK_A/signal", json={"video_md5": MD5_A, "pdq": PDQ_B}).json()
    assert partly["id"] == 3  # the new value forms a new item
    item = hma.get("/c/bank/BANK_A/content/3", params={"include_signals": "true"}).json()
    assert item["signals"] == {"pdq": PDQ_B}
    assert raw(hma, PDQ_A) == {"matches": [1]}


def test_post_lookup_bypass_and_bad_media(hma: TestClient) -> None:
    image = conformance_dir("pdq", "images", "bridge-mods") / "aaa-orig.jpg"
    photo = {"photo": ("x.jpg", image.read_bytes(), "image/jpeg")}
    new_bank(hma, "HALF", enabled_ratio=0.5)
    add(hma, "HALF", pdq=PDQ_A)
    dropped = hma.post("/m/lookup", params={"seed": "2"}, files=photo).json()
    assert dropped == {"pdq": {}}
    for value in ("true", "True", "1"):
        kept = hma.post("/m/lookup", params={"seed": "2", "bypass_coinflip": value}, files=photo)
        assert kept.json() == {"pdq": {"HALF": [{"bank_content_id": 1, "distance": "0"}]}}
    not_bool = hma.post("/m/lookup", params={"seed": "2", "bypass_coinflip": "maybe"}, files=photo)
    assert not_bool.json() == {"pdq": {}}
    # HMA answers 500 for bytes that are no image; Safelight a 400 that says so
    junk = hma.post("/m/lookup", files={"photo": ("x.jpg", b"not an image", "image/jpeg")})
    assert junk.status_code == 400
    assert junk.json()["message"].startswith("could not hash the photo")


def test_seeded_draws_are_the_reference_vectors() -> None:
    from safelight.service.routes.hma_matching import coin

    vectors = {
        "1": 0.4782479962566343,
        "2": 0.5558450440322502,
        "1234": 0.24836460312826447,
        "abc": 0.7720246314157545,
        "": 0.9602256525641875,
    }
    assert {seed: coin(seed) for seed in vectors} == vectors
    assert 0.0 <= coin(None) < 1.0


def test_wrong_methods_and_paths_answer_in_family_a(hma: TestClient) -> None:
    wrong = hma.patch("/c/banks", json={})
    assert (wrong.status_code, set(wrong.json())) == (405, {"message"})
    assert hma.get("/m/nothing").json() == {"message": "Not Found"}
