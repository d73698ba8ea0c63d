"""The classification side of the analyst workspace in one object, for routes and panels.

bench = Workbench.build(db, audit, HashListStore(db), four_eyes=True, home=home)
bench.desk.classify(item_id, Assessment.parse("baseline", ...), by="user:alice")
bench.desk.confirm(item_id, 1, by="user:bob")
bench.add_hashes(item_id, by="user:alice", text="pdq f8f8...")   # then checks the lists
bench.banker.bank(item_id, "HOTLINE_CONFIRMED", by="user:bob")
bench.overview(item_id)                                          # what a page shows
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, select

from safelight.errors import UsageError
from safelight.hotline.banking import Banker, bankable, bankings
from safelight.hotline.classification import ClassificationDesk, history, item_row
from safelight.hotline.item_hashes import ItemHashes, item_hashes
from safelight.hotline.known import KnownMaterial, known_matches, needs_viewing
from safelight.hotline.model import ItemStatus
from safelight.lists.store import HashListStore
from safelight.store import Database
from safelight.store.hotline_class_tables import hotline_item_hashes
from safelight.store.hotline_tables import hotline_items

if TYPE_CHECKING:
    from safelight.match.matcher import Matcher
    from safelight.service.audit import AuditLog


@dataclass
class Workbench:
    db: Database
    desk: ClassificationDesk
    hashes: ItemHashes
    known: KnownMaterial
    banker: Banker

    @classmethod
    def build(
        cls,
        db: Database,
        audit: AuditLog,
        lists: HashListStore,
        *,
        four_eyes: bool,
        home: str | os.PathLike[str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> Workbench:
        """``clock`` dates what the parts record (the demo replays a story in the past)."""

        def matcher() -> Matcher:
            from safelight.match.matcher import Matcher

            return Matcher(lists, home=home)

        desk = ClassificationDesk(db, audit, four_eyes=four_eyes, clock=clock)
        return cls(
            db=db,
            desk=desk,
            hashes=ItemHashes(db, audit, clock=clock),
            known=KnownMaterial(db, audit, desk, matcher, clock=clock),
            banker=Banker(db, audit, lists, clock=clock),
        )

    def add_hashes(
        self,
        item_id: int,
        *,
        by: str,
        text: str | None = None,
        scan_run_id: int | None = None,
    ) -> dict[str, Any]:
        """Add hashes typed in (``text``) or from a scan run, then check them against the
        lists: what was added, and what is now known about the item."""
        if (text is None) == (scan_run_id is None):
            raise UsageError(
                "give either hashes or a scan run, not both or neither", field="hashes"
            )
        if text is not None:
            added = self.hashes.add_text(item_id, text, by=by)
        else:
            assert scan_run_id is not None
            added = self.hashes.link_scan(item_id, scan_run_id, by=by)
        self.known.check(item_id, by=by)
        return {**added.to_dict(), **self.known_state(item_id)}

    def bank(self, item_id: int, list_name: str, *, by: str) -> dict[str, Any]:
        """Bank the item's hashes into a list, then check the other items still being
        assessed that share one of those hashes exactly: they are known material now."""
        banked = self.banker.bank(item_id, list_name, by=by)
        rechecked = []
        if banked.added or banked.already_in_list:
            with self.db.connect() as conn:
                others = items_sharing_hashes(conn, item_id)
            for other in others:
                if self.known.check(other, by=by):
                    rechecked.append(other)
        return {**banked.to_dict(), "now_known": rechecked}

    def known_state(self, item_id: int) -> dict[str, Any]:
        with self.db.connect() as conn:
            item_row(conn, item_id)
            return {
                "known": known_matches(conn, item_id),
                "needs_viewing": needs_viewing(conn, item_id),
            }

    def overview(self, item_id: int) -> dict[str, Any]:
        """Everything the classification and hashes panels show about an item."""
        with self.db.connect() as conn:
            return overview(conn, item_id, four_eyes=self.desk.four_eyes)


def overview(conn: Connection, item_id: int, *, four_eyes: bool) -> dict[str, Any]:
    """``Workbench.overview`` on the caller's connection (a page's read transaction)."""
    item = item_row(conn, item_id)
    found = history(conn, item_id)
    hashes = item_hashes(conn, item_id)
    latest = found[-1] if found else None
    reason = bankable(latest) or (None if hashes else "no hashes are known for it")
    return {
        "item_id": item_id,
        "status": item["status"],
        "classification": item["classification"],
        "four_eyes": four_eyes,
        "latest": latest.to_dict() if latest else None,
        "history": [c.to_dict() for c in found],
        "hashes": [h.to_dict() for h in hashes],
        "bankings": bankings(conn, item_id),
        "bankable": reason is None,
        "not_bankable_because": reason,
        "known": known_matches(conn, item_id),
        "needs_viewing": needs_viewing(conn, item_id),
    }


def items_sharing_hashes(conn: Connection, item_id: int) -> list[int]:
    """Other items still being assessed (received or in review) with one of this item's
    hashes, exactly (same type and value)."""
    mine = hotline_item_hashes.alias("mine")
    theirs = hotline_item_hashes.alias("theirs")
    query = (
        select(theirs.c.item_id)
        .distinct()
        .join(
            mine,
            and_(
                mine.c.signal_type == theirs.c.signal_type,
                mine.c.value_key == theirs.c.value_key,
            ),
        )
        .join(hotline_items, hotline_items.c.id == theirs.c.item_id)
        .where(
            mine.c.item_id == item_id,
            theirs.c.item_id != item_id,
            hotline_items.c.status.in_([ItemStatus.RECEIVED.value, ItemStatus.IN_REVIEW.value]),
        )
        .order_by(theirs.c.item_id)
    )
    return [int(i) for i in conn.execute(query).scalars()]
