"""HMA banks and content items over Safelight's lists and entries.

A bank *is* a list (same name, same rule). What HMA adds is kept beside the list:

* ``matching_enabled_ratio`` (``hma_banks``). A list is enabled exactly when its ratio is
  above 0, so a bank HMA would never match is a list no Safelight lookup matches either.
  A list with no ratio row reads 1.0 when enabled and 0.0 when disabled; a list the CLI
  disables reads 0.0, and one it re-enables reads its ratio again (1.0 if it was <= 0).
* Content items (``hma_entries``). Every entry is a content item of its own id, unless
  several signals were posted together: those entries form one item whose id is the lowest
  of their entry ids. Content ids are therefore one global sequence, as in HMA.

``disable_until_ts`` maps onto the entries' ``disabled_until``: 0 (disabled) is FOREVER,
1 (enabled) is none, another T is that time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from safelight.constants import LIST_NAME_MAX_LENGTH
from safelight.errors import StoreError
from safelight.hma.signals import HmaError, HmaSignalType, hma_name_of
from safelight.lists import changes
from safelight.lists.store import FOREVER, HashListStore
from safelight.lists.values import validate_list_name
from safelight.store.hma_tables import hma_banks, hma_entries
from safelight.store.lists_tables import hash_entries, hash_lists

BANK_NAME_ERROR = "Bank names must be UPPER_WITH_UNDERSCORE"


@dataclass(frozen=True)
class Bank:
    id: int
    name: str
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        return {"matching_enabled_ratio": self.ratio, "name": self.name}


@dataclass(frozen=True)
class ContentItem:
    id: int
    bank: Bank
    signals: dict[str, str]  # HMA name -> value
    entry_ids: tuple[int, ...]
    note: str | None
    disabled_until: datetime | None
    metadata: dict[str, Any] | None

    @property
    def disable_until_ts(self) -> int:
        if self.disabled_until is None:
            return 1
        if self.disabled_until >= FOREVER:
            return 0
        return int(self.disabled_until.timestamp())


def effective_ratio(enabled: bool, stored: float | None) -> float:
    if stored is None:
        return 1.0 if enabled else 0.0
    if enabled:
        return stored if stored > 0 else 1.0
    return stored if stored <= 0 else 0.0


def check_bank_name(name: str) -> None:
    """HMA's rule (400 with HMA's text); a name over 255 characters is refused the same
    way (HMA answers 500)."""
    if len(name) > LIST_NAME_MAX_LENGTH:
        raise HmaError.message(400, BANK_NAME_ERROR)
    try:
        validate_list_name(name)
    except ValueError:
        raise HmaError.message(400, BANK_NAME_ERROR) from None


def until_of(ts: int) -> datetime | None:
    if ts == 0:
        return FOREVER
    if ts == 1:
        return None
    return datetime.fromtimestamp(ts, UTC)


class HmaBanks:
    """Banks and content items, on the store of a HashListStore (its clock included)."""

    def __init__(self, lists: HashListStore) -> None:
        self.lists = lists
        self.db = lists.db

    # --- banks ---------------------------------------------------------------------------

    def banks(self, names: Iterable[str] | None = None) -> list[Bank]:
        query = select(
            hash_lists.c.id,
            hash_lists.c.name,
            hash_lists.c.enabled,
            hma_banks.c.matching_enabled_ratio,
        ).select_from(hash_lists.outerjoin(hma_banks, hma_banks.c.list_id == hash_lists.c.id))
        if names is not None:
            query = query.where(hash_lists.c.name.in_(list(names)))
        with self.db.connect() as conn:
            rows = conn.execute(query.order_by(hash_lists.c.name)).all()
        return [Bank(i, n, effective_ratio(bool(e), r)) for i, n, e, r in rows]

    def bank(self, name: str) -> Bank | None:
        found = self.banks([name])
        return found[0] if found else None

    def create_bank(self, name: str, ratio: float) -> Bank:
        check_bank_name(name)
        try:
            with self.db.begin() as conn:
                if conn.execute(select(hash_lists.c.id).where(hash_lists.c.name == name)).first():
                    raise HmaError.message(403, "Bank already exists")
                now = self.lists.clock()
                list_id = conn.execute(
                    hash_lists.insert()
                    .values(
                        name=name,
                        description="",
                        source="",
                        terms_of_use="",
                        pdq_threshold=self._default_threshold(),
                        enabled=ratio > 0,
                        generation=0,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(hash_lists.c.id)
                ).scalar_one()
                conn.execute(
                    hma_banks.insert().values(list_id=list_id, matching_enabled_ratio=ratio)
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # a concurrent create won the race
                raise HmaError.message(403, "Bank already exists") from None
            raise
        return Bank(list_id, name, ratio)

    @staticmethod
    def _default_threshold() -> int:
        from safelight.constants import PDQ_MATCH_THRESHOLD

        return int(PDQ_MATCH_THRESHOLD)

    def update_bank(self, name: str, new_name: str | None, ratio: float | None) -> Bank:
        """Rename and/or set the ratio; the reply is the bank as stored."""
        with self.db.begin() as conn:
            row = conn.execute(
                select(hash_lists.c.id, hash_lists.c.enabled).where(hash_lists.c.name == name)
            ).first()
            if row is None:
                raise HmaError.message(404, "Bank not found")
            list_id = int(row[0])
            values: dict[str, Any] = {}
            if new_name is not None and new_name != name:
                check_bank_name(new_name)
                taken = select(hash_lists.c.id).where(hash_lists.c.name == new_name)
                if conn.execute(taken).first():
                    raise HmaError.message(403, "Bank name already exists")
                values["name"] = new_name
            if ratio is not None:
                values["enabled"] = ratio > 0
                conn.execute(delete(hma_banks).where(hma_banks.c.list_id == list_id))
                conn.execute(
                    hma_banks.insert().values(list_id=list_id, matching_enabled_ratio=ratio)
                )
            if values:
                _bump(conn, list_id, self.lists.clock(), **values)
        bank = self.bank(new_name or name)
        assert bank is not None
        return bank

    def delete_bank(self, name: str) -> None:
        """Delete a bank with its content (nothing if there is no such bank)."""
        if self.bank(name) is not None:
            self.lists.delete(name)

    # --- content -------------------------------------------------------------------------

    def add_content(
        self,
        bank: Bank,
        signals: Mapping[HmaSignalType, str],
        *,
        note: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> int:
        """One content item of already normalised values; its id. A value already in the
        bank is not stored twice: if every value is there, the id is the item holding the
        first one; new values form a new item of their own."""
        with self.db.begin() as conn:
            new_ids: list[int] = []
            existing: list[int] = []
            for kind, value in signals.items():
                stored = kind.kind.normalise(value)
                features = stored.value if stored.value != stored.key else None
                row = conn.execute(
                    select(hash_entries.c.id).where(
                        hash_entries.c.list_id == bank.id,
                        hash_entries.c.signal_type == stored.signal_type,
                        hash_entries.c.value_key == stored.key,
                    )
                ).first()
                if row is not None:
                    existing.append(int(row[0]))
                    continue
                entry_id = conn.execute(
                    hash_entries.insert()
                    .values(
                        list_id=bank.id,
                        signal_type=stored.signal_type,
                        value_key=stored.key,
                        vpdq_features=features,
                        note=note,
                        disabled_until=None,
                        import_id=None,
                    )
                    .returning(hash_entries.c.id)
                ).scalar_one()
                new_ids.append(int(entry_id))
            if not new_ids:
                return self._content_ids(conn, existing[:1])[existing[0]]
            content_id = min(new_ids)
            blob = json.dumps(metadata, sort_keys=True) if metadata else None
            conn.execute(
                hma_entries.insert(),
                [
                    {
                        "entry_id": i,
                        "content_id": content_id,
                        "metadata": blob if i == content_id else None,
                    }
                    for i in new_ids
                ],
            )
            _bump(conn, bank.id, self.lists.clock(), new_ids)
            return content_id

    def content(self, content_id: int) -> ContentItem | None:
        with self.db.connect() as conn:
            entry_ids = self._members(conn, content_id)
            if not entry_ids:
                return None
            rows = conn.execute(
                select(
                    hash_entries.c.id,
                    hash_entries.c.list_id,
                    hash_entries.c.signal_type,
                    hash_entries.c.value_key,
                    hash_entries.c.vpdq_features,
                    hash_entries.c.note,
                    hash_entries.c.disabled_until,
                )
                .where(hash_entries.c.id.in_(entry_ids))
                .order_by(hash_entries.c.id)
            ).all()
            meta = conn.execute(
                select(hma_entries.c.metadata).where(hma_entries.c.entry_id == content_id)
            ).scalar_one_or_none()
        first = rows[0]
        bank = next(b for b in self.banks() if b.id == first[1])
        signals = {hma_name_of(r[2]): (r[4] if r[4] is not None else r[3]) for r in rows}
        return ContentItem(
            id=content_id,
            bank=bank,
            signals=signals,
            entry_ids=tuple(int(r[0]) for r in rows),
            note=first[5],
            disabled_until=first[6],
            metadata=json.loads(meta) if meta else None,
        )

    def update_content(self, item: ContentItem, changes: Mapping[str, Any]) -> ContentItem:
        """Set ``disabled_until`` and/or ``note`` on every entry of the item."""
        values = {k: v for k, v in changes.items() if k in ("disabled_until", "note")}
        if values:
            with self.db.begin() as conn:
                conn.execute(
                    update(hash_entries)
                    .where(hash_entries.c.id.in_(item.entry_ids))
                    .values(**values)
                )
                _bump(conn, item.bank.id, self.lists.clock(), item.entry_ids)
        updated = self.content(item.id)
        assert updated is not None
        return updated

    def delete_content(self, content_id: int) -> int:
        """Delete a content item (every entry of it); 1, or 0 if there is no such item."""
        with self.db.begin() as conn:
            entry_ids = self._members(conn, content_id)
            if not entry_ids:
                return 0
            owners = conn.execute(
                select(hash_entries.c.id, hash_entries.c.list_id).where(
                    hash_entries.c.id.in_(entry_ids)
                )
            ).all()
            conn.execute(delete(hash_entries).where(hash_entries.c.id.in_(entry_ids)))
            by_list: dict[int, list[int]] = {}
            for entry_id, list_id in owners:
                by_list.setdefault(int(list_id), []).append(int(entry_id))
            for list_id, ids in sorted(by_list.items()):
                _bump(conn, list_id, self.lists.clock(), ids)
            return 1

    def content_ids(self, entry_ids: Iterable[int]) -> dict[int, int]:
        """entry id -> content id (an entry posted alone is its own item)."""
        wanted = list(entry_ids)
        if not wanted:  # a lookup that matched nothing: no connection taken
            return {}
        with self.db.connect() as conn:
            return self._content_ids(conn, wanted)

    def _content_ids(self, conn: Connection, entry_ids: Sequence[int]) -> dict[int, int]:
        found = {i: i for i in entry_ids}
        for start in range(0, len(entry_ids), 500):
            chunk = entry_ids[start : start + 500]
            query = select(hma_entries.c.entry_id, hma_entries.c.content_id).where(
                hma_entries.c.entry_id.in_(chunk)
            )
            found.update({int(e): int(c) for e, c in conn.execute(query)})
        return found

    def _members(self, conn: Connection, content_id: int) -> list[int]:
        linked = (
            conn.execute(
                select(hma_entries.c.entry_id).where(hma_entries.c.content_id == content_id)
            )
            .scalars()
            .all()
        )
        if linked:
            return [int(i) for i in linked]
        # An entry not posted through HMA is an item of its own id, unless it belongs to
        # another item (then it has a row naming that item).
        alone = conn.execute(
            select(hash_entries.c.id)
            .select_from(
                hash_entries.outerjoin(hma_entries, hma_entries.c.entry_id == hash_entries.c.id)
            )
            .where(hash_entries.c.id == content_id, hma_entries.c.entry_id.is_(None))
        ).first()
        return [content_id] if alone else []

    # --- what is stored, per type (GET /c/signal_type/index) --------------------------------

    def stored_counts(self) -> dict[str, tuple[int, int]]:
        """Safelight type name -> (entries, newest change as unix time; -1 if none): the
        newest change is the latest ``updated_at`` of a list holding that type (entries
        carry no time of their own)."""
        query = (
            select(hash_entries.c.signal_type, func.count(), func.max(hash_lists.c.updated_at))
            .select_from(hash_entries.join(hash_lists))
            .group_by(hash_entries.c.signal_type)
        )
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
        out = {}
        for kind, count, newest in rows:
            when = newest if newest is None or newest.tzinfo else newest.replace(tzinfo=UTC)
            out[str(kind)] = (int(count), int(when.timestamp()) if when else -1)
        return out


def _bump(
    conn: Connection,
    list_id: int,
    now: datetime,
    entry_ids: Iterable[int] | None = None,
    **values: Any,
) -> None:
    """Change a list's row and bump its generation, logging the entries changed (None: the
    list itself), so indexes and lookup engines see the change (safelight.lists.changes)."""
    if values:
        conn.execute(update(hash_lists).where(hash_lists.c.id == list_id).values(**values))
    changes.bump(conn, list_id, now, entries=entry_ids)


class LookupFacts:
    """What HMA's lookup answers need beyond the matches (entry -> content id, bank ->
    ratio), read from the store once per version of the lists the lookup engine serves
    (``LookupEngine.version``) instead of twice for every lookup that matched. A ratio
    change bumps its list, and an entry matches only once the engine holds it, so facts
    kept for a version are the store's facts for it. ``version=None``: not kept."""

    LIMIT = 100_000  # entries remembered per version

    def __init__(self, banks: HmaBanks) -> None:
        self.banks = banks
        self._version: object | None = None
        self._content: dict[int, int] = {}
        self._ratios: dict[str, float] = {}
        self._lock = threading.Lock()

    def content_ids(self, version: object | None, entry_ids: Sequence[int]) -> dict[int, int]:
        if version is None:
            return self.banks.content_ids(entry_ids)
        with self._lock:
            self._at(version)
            known = {i: self._content[i] for i in entry_ids if i in self._content}
        missing = [i for i in entry_ids if i not in known]
        if missing:
            found = self.banks.content_ids(missing)
            with self._lock:
                if self._version is version and len(self._content) < self.LIMIT:
                    self._content.update(found)
            known.update(found)
        return known

    def ratios(self, version: object | None, names: set[str]) -> dict[str, float]:
        if version is None:
            return {b.name: b.ratio for b in self.banks.banks(names)}
        with self._lock:
            self._at(version)
            if names <= self._ratios.keys():
                return {n: self._ratios[n] for n in names}
        found = {b.name: b.ratio for b in self.banks.banks(names)}
        with self._lock:
            if self._version is version:
                self._ratios.update(found)
        return found

    def holds(self, version: object | None, matches: Iterable[tuple[int, str]]) -> bool:
        """Whether every (entry id, bank) is known for ``version``: answering needs no
        store read."""
        with self._lock:
            return (
                version is not None
                and self._version is version
                and all(e in self._content and b in self._ratios for e, b in matches)
            )

    def _at(self, version: object) -> None:
        if self._version is not version:
            self._version, self._content, self._ratios = version, {}, {}
