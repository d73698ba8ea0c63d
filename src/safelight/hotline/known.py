"""Known material is not shown again: items whose hashes are already classified in a list.

ICCAM auto-classifies previously assessed content and never shows it to an analyst again
(``../shared/reference/hotline-practice.md``, 2.2 step 3). Here an item's hashes are matched
against the hash lists with the ``Matcher`` (exact digests; PDQ within each list's own
threshold; vPDQ as a bag of frames), after the allow-list and flood rules: a block match an
allow entry suppresses, or one paused for review, does not count. A match counts when its
entry's labels record a classification (``list_labels.assessment_of``): entries banked from
here carry one, and any list can be labelled so.

Each such match is recorded (``hotline_known_matches``), and an item never classified yet is
pre-classified from the best one (most severe, then nearest; "known: pre-classified from
list X entry N"): it takes effect at once, as the entry was assessed before. An item with a
known match needs no viewing (``needs_viewing``): the media panel keeps it hidden. The
item view (``GET /api/v1/hotline/items/{id}``) carries the item's hashes and known matches
as its ``hashes`` section.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, exists, insert, select

from safelight.hotline.classification import (
    Assessment,
    ClassificationDesk,
    history,
    item_row,
    locked_item,
)
from safelight.hotline.item_hashes import ItemHash, item_hashes
from safelight.hotline.item_view import register_item_section
from safelight.hotline.list_labels import SEVERITY, assessment_of
from safelight.match.indexes import indexed_types
from safelight.match.results import Match
from safelight.store import Database
from safelight.store.hotline_class_tables import hotline_known_matches

if TYPE_CHECKING:
    from safelight.match.matcher import Matcher
    from safelight.service.audit import AuditLog


@dataclass(frozen=True, slots=True)
class KnownMatch:
    """A list entry with a classification that one of the item's hashes matched."""

    hash_id: int
    signal_type: str
    list_name: str
    entry_id: int
    distance: int
    assessment: Assessment

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash_id": self.hash_id,
            "signal_type": self.signal_type,
            "list": self.list_name,
            "entry_id": self.entry_id,
            "distance": self.distance,
            "illegality": self.assessment.illegality.value,
        }


def note_for(match: KnownMatch) -> str:
    """The classification's note, in the words the issue and ICCAM's practice use."""
    return f"known: pre-classified from list {match.list_name} entry {match.entry_id}"


def needs_viewing(conn: Connection, item_id: int) -> bool:
    """Whether an analyst needs to see the item's media: not when it is known material (a
    hash of it is classified in a list). Media panels read this before showing anything."""
    known = select(hotline_known_matches.c.id).where(hotline_known_matches.c.item_id == item_id)
    return not bool(conn.execute(select(exists(known))).scalar())


def known_matches(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    """The recorded known matches of an item, oldest first."""
    k = hotline_known_matches.c
    rows = conn.execute(
        select(hotline_known_matches).where(k.item_id == item_id).order_by(k.id)
    ).mappings()
    return [
        {
            "hash_id": m["hash_id"],
            "list": m["list_name"],
            "entry_id": m["entry_id"],
            "distance": m["distance"],
            "illegality": m["illegality"],
            "found_at": m["found_at"].isoformat(),
        }
        for m in rows
    ]


def hashes_section(conn: Connection, item: dict[str, Any]) -> dict[str, Any]:
    """The item view's ``hashes``: the item's hashes, its known matches, whether it needs
    viewing (``item_view.register_item_section``)."""
    item_id = int(item["id"])
    return {
        "hashes": [found.to_dict() for found in item_hashes(conn, item_id)],
        "known": known_matches(conn, item_id),
        "needs_viewing": needs_viewing(conn, item_id),
    }


register_item_section("hashes", hashes_section)


class KnownMaterial:
    """Matches an item's hashes against the lists and records what is known.

    ``matcher`` is opened once (its indexes live under the store's home) and refreshed
    before each check, so lists changed since are seen; checks take turns on it."""

    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        desk: ClassificationDesk,
        matcher: Callable[[], Matcher],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.desk = desk
        self._open_matcher = matcher
        self._matcher: Matcher | None = None
        self._lock = threading.Lock()
        self.clock = clock

    def check(self, item_id: int, *, by: str) -> list[KnownMatch]:
        """Match the item's hashes now; record new known matches and pre-classify an item
        not classified yet. Returns every known match found."""
        with self.db.connect() as conn:
            item_row(conn, item_id)
            hashes = item_hashes(conn, item_id)
        found = self.match(hashes)
        if not found:
            return []
        with self.db.begin(lock=True) as conn:
            locked_item(conn, item_id)
            recorded = {(m["hash_id"], m["entry_id"]) for m in known_matches(conn, item_id)}
            new = [m for m in found if (m.hash_id, m.entry_id) not in recorded]
            now = self.clock()
            for match in new:
                conn.execute(
                    insert(hotline_known_matches).values(
                        item_id=item_id,
                        hash_id=match.hash_id,
                        list_name=match.list_name,
                        entry_id=match.entry_id,
                        distance=match.distance,
                        illegality=match.assessment.illegality.value,
                        found_at=now,
                    )
                )
            if new:
                self.audit.record(
                    by,
                    "hotline.known",
                    f"item:{item_id}",
                    {"matches": [m.to_dict() for m in new]},
                    conn=conn,
                )
            if not history(conn, item_id):
                best = found[0]
                assessment = replace(best.assessment, notes=note_for(best))
                self.desk.record(
                    conn, item_id, assessment, by=by, known=(best.list_name, best.entry_id)
                )
        return found

    def match(self, hashes: Sequence[ItemHash]) -> list[KnownMatch]:
        """Known matches of these hashes, best first (most severe, nearest, list, entry)."""
        if not hashes:
            return []
        with self._lock:
            if self._matcher is None:
                self._matcher = self._open_matcher()
            matcher = self._matcher
            matcher.refresh()
            per_hash = _matches(matcher, hashes)
        found = []
        for item_hash, matches in zip(hashes, per_hash, strict=True):
            for match in matches:
                assessment = assessment_of(match.labels)
                if assessment is not None:
                    found.append(
                        KnownMatch(
                            item_hash.id,
                            item_hash.signal_type,
                            match.list_name,
                            match.entry_id,
                            match.distance,
                            assessment,
                        )
                    )
        return sorted(
            found,
            key=lambda m: (
                SEVERITY.index(m.assessment.illegality),
                m.distance,
                m.list_name,
                m.entry_id,
                m.hash_id,
            ),
        )


def _matches(matcher: Matcher, hashes: Sequence[ItemHash]) -> list[list[Match]]:
    """Each hash's matches after the rules: served block matches and allow matches (an allow
    entry labelled not illegal is known too); suppressed and paused ones do not count."""
    from safelight.signals.hashes import features_of_value

    out: list[list[Match]] = [[] for _ in hashes]
    indexed = set(indexed_types())
    positions = [i for i, h in enumerate(hashes) if h.signal_type in indexed]
    queries = [(hashes[i].signal_type, hashes[i].value) for i in positions]
    for position, ruled in zip(positions, matcher.match_hashes_ruled(queries), strict=True):
        out[position] = ruled.matches + ruled.allowed
    for i, item_hash in enumerate(hashes):
        if item_hash.signal_type == "vpdq":
            ruled = matcher.match_vpdq_ruled(features_of_value(item_hash.value))
            out[i] = ruled.matches + ruled.allowed
    return out
