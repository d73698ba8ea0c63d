"""The seam between the HMA routes and the lookup engine.

The routes call ``engine_of(extensions, ...)``: the engine in ``extensions["lookup"]`` when
the service has one (src/safelight/service/lookup.py, protocol in docs/hma.md), else a
``MatcherLookup`` that opens a ``safelight.match.Matcher`` per call. Both answer

    lookup(queries: Sequence[tuple[str, str]], lists: Sequence[str] | None = None)
        -> list[list[Match]]          # per (Safelight signal type, value) query
    state() -> dict[str, dict]        # per signal type: {"size", "built_to", ...}

with every Safelight rule applied (enabled lists, enabled entries, list thresholds).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from safelight.lists.store import HashListStore
from safelight.match.results import Match
from safelight.service.lookup import IndexNotReadyError
from safelight.signals.types import parse_vpdq_value, registry, vpdq_value


class LookupEngine(Protocol):
    def lookup(
        self, queries: Sequence[tuple[str, str]], lists: Sequence[str] | None = None
    ) -> list[list[Match]]: ...

    def state(self) -> dict[str, dict[str, Any]]: ...


class MatcherLookup:
    """The fallback engine: a Matcher opened per call (correct, not fast)."""

    def __init__(
        self,
        store: HashListStore,
        home: str | os.PathLike[str] | None = None,
        newest: Callable[[], Mapping[str, tuple[int, int]]] | None = None,
    ) -> None:
        self.store = store
        self.home = home
        self.newest = newest

    def lookup(
        self, queries: Sequence[tuple[str, str]], lists: Sequence[str] | None = None
    ) -> list[list[Match]]:
        from safelight.match.matcher import Matcher
        from safelight.signals.hashes import features_of_value

        matcher = Matcher(self.store, None, home=self.home)
        hashed = [(i, q) for i, q in enumerate(queries) if q[0] != "vpdq"]
        results: list[list[Match]] = [[] for _ in queries]
        for (position, _), found in zip(
            hashed, matcher.match_hashes([q for _, q in hashed]), strict=True
        ):
            results[position] = found
        for position, (kind, value) in enumerate(queries):
            if kind == "vpdq":
                canonical = vpdq_value(parse_vpdq_value(value)).value
                results[position] = matcher.match_vpdq(features_of_value(canonical))
        if lists is not None:
            allowed = set(lists)
            results = [[m for m in found if m.list_name in allowed] for found in results]
        return results

    def state(self) -> dict[str, dict[str, Any]]:
        """Matcher indexes catch up with the store on every use: each type's index holds
        what is stored."""
        stored = self.newest() if self.newest else {}
        return {
            kind: {"size": count, "built_to": newest, "present": True}
            for kind, (count, newest) in stored.items()
        }


def engine_of(extensions: Mapping[str, Any], fallback: Callable[[], LookupEngine]) -> LookupEngine:
    """The service's lookup engine for hashes, with vPDQ queries (which it does not index)
    answered by the Matcher fallback; the fallback alone when there is no engine."""
    engine = extensions.get("lookup")
    return fallback() if engine is None else SplitLookup(engine, fallback)


class SplitLookup:
    """Hash queries to the engine (no SQL per lookup), vPDQ queries to the Matcher."""

    def __init__(self, engine: LookupEngine, fallback: Callable[[], LookupEngine]) -> None:
        self.engine = engine
        self.fallback = fallback

    def lookup(
        self, queries: Sequence[tuple[str, str]], lists: Sequence[str] | None = None
    ) -> list[list[Match]]:
        self._catch_up()
        videos = [i for i, (kind, _) in enumerate(queries) if kind == "vpdq"]
        hashes = [i for i, (kind, _) in enumerate(queries) if kind != "vpdq"]
        results: list[list[Match]] = [[] for _ in queries]
        for part, answer in ((hashes, self.engine), (videos, None)):
            if not part:
                continue
            asked = [queries[i] for i in part]
            try:
                found = (answer or self.fallback()).lookup(asked, lists)
            except IndexNotReadyError:  # still loading: answer correctly, if more slowly
                found = self.fallback().lookup(asked, lists)
            for position, matches in zip(part, found, strict=True):
                results[position] = matches
        return results

    def state(self) -> dict[str, dict[str, Any]]:
        """The engine's state in HMA's terms: entries indexed, and ``built_to`` as the unix
        time the view was last found current; the fallback's own state before the engine
        serves (lookups are answered by the fallback until then)."""
        if not getattr(self.engine, "ready", True):
            return self.fallback().state()
        self._catch_up()
        out: dict[str, dict[str, Any]] = {}
        for kind, found in self.engine.state().items():
            updated = found.get("updated_at")
            size = int(found.get("size") or 0)
            out[kind] = {
                "size": size,
                # Built to nothing while it holds nothing (HMA's -1 for an empty index).
                "built_to": int(updated) if size and isinstance(updated, int | float) else -1,
                "present": updated is not None,
            }
        return out

    def _catch_up(self) -> None:
        """HMA clients expect a change they just made to show at once: when this process
        changed a list since the engine last read them, catch up now (a query or two);
        otherwise nothing (changes elsewhere show within the engine's poll)."""
        follow = getattr(self.engine, "follow", None)
        changed = getattr(self.engine, "changed_here", lambda: True)
        if follow is not None and getattr(self.engine, "ready", False) and changed():
            follow()


# --- HMA's answers from Safelight matches ----------------------------------------------------


class Hit(tuple[str, int, str]):
    """(bank name, content id, distance as HMA writes it: "4", or "-" for exact types)."""

    __slots__ = ()

    @property
    def bank(self) -> str:
        return self[0]

    @property
    def content_id(self) -> int:
        return self[1]

    @property
    def distance(self) -> str:
        return self[2]


def content_hits(matches: Sequence[Match], content_ids: Mapping[int, int]) -> list[Hit]:
    """Matches as content items, each once (at its nearest distance), nearest first."""
    best: dict[int, tuple[int, Match]] = {}
    for m in matches:
        content = content_ids.get(m.entry_id, m.entry_id)
        if content not in best or m.distance < best[content][0]:
            best[content] = (m.distance, m)
    out = []
    for content, (_, m) in sorted(best.items(), key=lambda kv: (kv[1][0], kv[0])):
        hamming = registry.get(m.signal_type).distance == "hamming"
        distance = str(m.distance) if hamming else "-"
        out.append(Hit((m.list_name, content, distance)))
    return out


def bank_filter(raw: str | None) -> set[str] | None:
    """HMA's ``banks=``: split on ``,`` without trimming, exact names; empty: no filter."""
    if not raw:
        return None
    return set(raw.split(","))


def bank_map(hits: Sequence[Hit]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for hit in hits:
        out.setdefault(hit.bank, []).append(
            {"bank_content_id": hit.content_id, "distance": hit.distance}
        )
    return out
