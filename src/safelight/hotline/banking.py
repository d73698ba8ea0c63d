"""Decisions feed the lists: bank an illegal item's hashes into a chosen list in one action.

An item can be banked when its latest classification says illegal and took effect (confirmed
by a second analyst where four eyes applied) and its hashes are known (entered or taken from
a scan). Every hash of the item becomes an entry of the list, through the lists library, as
one import whose source names the report and item, so ``lists show`` and the import record
lead back to the report. Each entry carries the classification as labels
(``list_labels.labels_of``: later items with the same hash are pre-classified from them) and,
when it is new to the list, a note naming report, item, classification and classifiers (an
entry already listed keeps its note and gains the labels). ``hotline_bankings`` records
which hash went to which entry, by whom: banking again adds nothing twice. Audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from safelight.errors import ConflictError, UsageError
from safelight.hotline.classification import Classification, State, history, locked_item
from safelight.hotline.item_hashes import item_hashes
from safelight.hotline.list_labels import labels_of
from safelight.hotline.references import display
from safelight.lists.editing import ListEditor
from safelight.lists.store import HashListStore
from safelight.store import Database
from safelight.store.hotline_class_tables import hotline_bankings
from safelight.store.hotline_tables import hotline_reports

if TYPE_CHECKING:
    from safelight.service.audit import AuditLog


@dataclass(slots=True)
class Banked:
    """What banking did: the entries it added, those the list already held, and how many
    of the item's hashes were banked into this list before (left alone)."""

    list_name: str
    version: int
    added: list[int] = field(default_factory=list)
    already_in_list: list[int] = field(default_factory=list)
    already_banked: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "list": self.list_name,
            "classification_version": self.version,
            "added_entries": self.added,
            "entries_already_in_list": self.already_in_list,
            "already_banked": self.already_banked,
        }


def bankable(latest: Classification | None) -> str | None:
    """Why an item with this latest classification cannot be banked (None: it can)."""
    if latest is None:
        return "the item is not classified yet"
    if latest.state is State.AWAITING:
        return "its classification awaits a second analyst's confirmation"
    if latest.state is State.DISAGREED:
        return "a second analyst disagreed with its classification: classify it again"
    if not latest.assessment.illegality.is_illegal:
        return "it is classified not illegal"
    return None


class Banker:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        lists: HashListStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.audit = audit
        self.editor = ListEditor(lists)
        self.clock = clock

    def bank(self, item_id: int, list_name: str, *, by: str) -> Banked:
        with self.db.begin(lock=True) as conn:
            item = locked_item(conn, item_id)
            found = history(conn, item_id)
            latest = found[-1] if found else None
            reason = bankable(latest)
            if reason is not None or latest is None:
                raise ConflictError(
                    f"item {item_id} cannot be banked: {reason}", code="not_bankable"
                )
            hashes = item_hashes(conn, item_id)
            if not hashes:
                raise ConflictError(
                    f"item {item_id} cannot be banked: no hashes are known for it "
                    "(enter them, or link a scan run)",
                    code="no_hashes",
                )
            hash_list = self.editor.store._get(conn, list_name)
            if hash_list.is_allow:
                raise UsageError(
                    f"list {list_name!r} is an allow list (known false positives): bank "
                    "illegal material into a block list",
                    field="list",
                )
            done = _banked_hashes(conn, item_id, list_name)
            todo = [h for h in hashes if h.id not in done]
            out = Banked(list_name, latest.version, already_banked=len(hashes) - len(todo))
            if not todo:
                return out  # nothing new: no import, no audit entry, no list change
            reference = _reference(conn, int(item["report_id"]))
            results = self.editor.add_entries(
                conn,
                list_name,
                [(h.signal_type, h.value) for h in todo],
                labels=labels_of(latest, reference=reference),
                note=_note(latest, reference),
                by=by,
                source=f"hotline report {display(reference)} item {item_id}",
            )
            now = self.clock()
            for item_hash, (entry, new) in zip(todo, results, strict=True):
                (out.added if new else out.already_in_list).append(entry.id)
                conn.execute(
                    insert(hotline_bankings).values(
                        item_id=item_id,
                        hash_id=item_hash.id,
                        list_name=list_name,
                        entry_id=entry.id,
                        classification_id=latest.id,
                        banked_by=by,
                        banked_at=now,
                    )
                )
            self.audit.record(by, "hotline.bank", f"item:{item_id}", out.to_dict(), conn=conn)
            return out

    def bankings(self, item_id: int) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return bankings(conn, item_id)


def bankings(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    """Where the item's hashes were banked, oldest first."""
    b = hotline_bankings.c
    rows = conn.execute(
        select(hotline_bankings).where(b.item_id == item_id).order_by(b.id)
    ).mappings()
    return [
        {
            "hash_id": m["hash_id"],
            "list": m["list_name"],
            "entry_id": m["entry_id"],
            "banked_by": m["banked_by"],
            "banked_at": m["banked_at"].isoformat(),
        }
        for m in rows
    ]


def _banked_hashes(conn: Connection, item_id: int, list_name: str) -> set[int]:
    b = hotline_bankings.c
    query = select(b.hash_id).where(b.item_id == item_id, b.list_name == list_name)
    return {int(i) for i in conn.execute(query).scalars()}


def _reference(conn: Connection, report_id: int) -> str:
    query = select(hotline_reports.c.reference).where(hotline_reports.c.id == report_id)
    return str(conn.execute(query).scalar_one())


def _note(classification: Classification, reference: str) -> str:
    a = classification.assessment
    parts = [a.illegality.value]
    parts += [m.value for m in (a.age_group, a.gender, a.site_type) if m is not None]
    if a.commercial is not None:
        parts.append("commercial" if a.commercial else "not commercial")
    who = f"classified by {classification.by}"
    if classification.review is not None:
        who += f", confirmed by {classification.review.by}"
    return (
        f"hotline report {display(reference)} item {classification.item_id}: "
        f"{', '.join(parts)} (version {classification.version}; {who})"
    )
