"""Matching hash records against hash lists, through ``safelight.match.Matcher``.

``Matcher`` is the seam; ``StoreMatcher`` adapts the shared matcher (indexes kept in step
with the store, every hit re-checked against it: list enabled, entry enabled now, distance
within the list's threshold) to the scan's flat records. Each worker opens its own, from a
small picklable ``MatchConfig`` (database URL and schema, list names, their generations,
SAFELIGHT_HOME): the indexes are memory-mapped from SAFELIGHT_HOME, never shipped in a task,
and a new list generation is a new cache key, so workers pick it up on their next task.

Rules: those of ``safelight.match.Matcher.match_records`` (digests exactly, PDQ within each
list's threshold and only at quality >= 50, vPDQ as a bag of frames), in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from safelight.match import Matcher as SharedMatcher
from safelight.match.indexes import indexed_types
from safelight.match.results import Match
from safelight.match.rules import Ruled
from safelight.signals.records import HashRecord
from safelight.store import Database


class Matcher(Protocol):
    def match(self, record: HashRecord) -> tuple[Match, ...]:
        """Every list entry ``record`` matches, in a stable order."""
        ...

    def match_many(self, records: Sequence[HashRecord]) -> list[tuple[Match, ...]]:
        """``match`` for a batch: one index search per signal type for all of them."""
        ...

    def match_flagged(
        self, records: Sequence[HashRecord]
    ) -> list[tuple[tuple[Match, ...], tuple[str, ...]]]:
        """``match_many`` with the flags the match rules add to each item: ``allow_listed``
        (an allow list suppressed block matches) and ``paused_entry`` (a match on an entry
        paused by flood protection was not served); docs/scan.md."""
        ...

    def release(self) -> None:
        """Close database connections between batches (the indexes stay mapped)."""
        ...


@dataclass(frozen=True, slots=True)
class MatchConfig:
    lists: tuple[str, ...] = ()
    generations: tuple[int, ...] = ()
    # Not in the repr: it may hold a password, and Dask logs a failed task's arguments.
    database_url: str | None = field(default=None, repr=False)
    database_schema: str | None = None
    home: str | None = None


class NoMatcher:
    """No lists given: hash only."""

    def match(self, record: HashRecord) -> tuple[Match, ...]:
        return ()

    def match_many(self, records: Sequence[HashRecord]) -> list[tuple[Match, ...]]:
        return [() for _ in records]

    def match_flagged(
        self, records: Sequence[HashRecord]
    ) -> list[tuple[tuple[Match, ...], tuple[str, ...]]]:
        return [((), ()) for _ in records]

    def release(self) -> None:
        pass


class StoreMatcher:
    def __init__(self, config: MatchConfig) -> None:
        self.db = Database(config.database_url, schema=config.database_schema)
        try:
            self.shared = SharedMatcher.open(self.db, lists=list(config.lists), home=config.home)
        except BaseException:
            self.db.dispose()
            raise

    def match(self, record: HashRecord) -> tuple[Match, ...]:
        return self.match_many([record])[0]

    def match_many(self, records: Sequence[HashRecord]) -> list[tuple[Match, ...]]:
        return [matches for matches, _ in self.match_flagged(records)]

    def match_flagged(
        self, records: Sequence[HashRecord]
    ) -> list[tuple[tuple[Match, ...], tuple[str, ...]]]:
        # The Matcher's batch API: its rules (quality cut-off, thresholds, vPDQ, allow lists,
        # paused entries) in one place.
        return [
            (_converted(r.matches), _rule_flags(r.ruled))
            for r in self.shared.match_records(records)
        ]

    def sync(self) -> None:
        """Bring every index up to date with the store now (it is otherwise lazy)."""
        for signal_type in indexed_types():
            self.shared.index(signal_type)

    def release(self) -> None:
        # The store is only read for hits (and when opening); holding connections between
        # batches would pin one per idle worker on the database.
        self.db.dispose()


ALLOW_LISTED = "allow_listed"
PAUSED_ENTRY = "paused_entry"


def _rule_flags(ruled: Ruled | None) -> tuple[str, ...]:
    if ruled is None:
        return ()
    return ((ALLOW_LISTED,) if ruled.suppressed else ()) + ((PAUSED_ENTRY,) if ruled.paused else ())


def _converted(found: list[Match]) -> tuple[Match, ...]:
    """Each entry once (an item can hit one entry through two digests), by list and id."""
    unique = {(m.list_name, m.entry_id, m.signal_type): m for m in found}
    return tuple(sorted(unique.values(), key=lambda m: (m.list_name, m.entry_id)))


def make_matcher(config: MatchConfig) -> Matcher:
    return StoreMatcher(config) if config.lists else NoMatcher()
