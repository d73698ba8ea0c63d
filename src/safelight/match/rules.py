"""The rules applied to one query's matches after the index and the store: allow lists and
entries paused by flood protection. Pure functions, so ``Matcher`` and the service's lookup
engine apply the very same rules (docs/match.md, "Allow lists and paused entries").

    ruled = apply_rules(matches, kinds={"KNOWN": "block", "FP": "allow"}, paused={42})
    ruled.matches      # served: what counts as a hit, what webhooks and flood counting see
    ruled.allowed      # matches on allow lists (known false positives the query is)
    ruled.suppressed   # block matches an allow match suppressed, each naming it
    ruled.paused       # block matches on entries paused for review, not served

The rule, per query (one hash, or one file with all its signals):

1. A match on an allow list suppresses every block match of the same signal type for that
   query. For PDQ that means: when the query is within the allow list's threshold of an
   allow entry, no block entry within its own list's threshold of the query is served;
   the allow entry need not be within any distance of the block entry.
2. A match on an allow list of an exact type (MD5, SHA-1, SHA-256, registered digests)
   suppresses every block match of the query whatever its type: the file's bytes are the
   known false positive, so its PDQ or vPDQ matches are the same false positive.
3. A block match that is not suppressed, on an entry paused by flood protection, is
   reported as paused, not served.

Nothing is dropped: every match the index and the store gave lands in exactly one of the
four lists (the property the tests hold).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from safelight.match.results import Match, sort_matches
from safelight.signals.types import registry

ALLOW = "allow"
BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A block match not served because the query matched an allow entry (``by``)."""

    match: Match
    by: Match

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.match.to_dict(),
            "suppressed_by": {
                "list": self.by.list_name,
                "entry_id": self.by.entry_id,
                "signal_type": self.by.signal_type,
                "distance": self.by.distance,
            },
        }


@dataclass(frozen=True, slots=True)
class Ruled:
    """One query's matches after the rules: served, allowed, suppressed, paused."""

    matches: list[Match] = field(default_factory=list)
    allowed: list[Match] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    paused: list[Match] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The extra keys a result carries beside ``matches``, each only when not empty (so
        results of stores without allow lists or pauses keep their shape; docs/match.md)."""
        out: dict[str, Any] = {}
        if self.allowed:
            out["allowed"] = [m.to_dict() for m in self.allowed]
        if self.suppressed:
            out["suppressed"] = [s.to_dict() for s in self.suppressed]
        if self.paused:
            out["paused"] = [m.to_dict() for m in self.paused]
        return out


def _exact(signal_type: str) -> bool:
    return signal_type in registry and registry.get(signal_type).distance == "exact"


def apply_rules(
    matches: Sequence[Match],
    kinds: Mapping[str, str],
    paused: Collection[int] = (),
) -> Ruled:
    """The rules above over one query's matches.

    ``kinds`` maps a list name to "block" or "allow" (a list not named is a block list);
    ``paused`` holds the ids of entries paused by flood protection. Each output list is in
    the reporting order (``sort_matches``).
    """
    ordered = sort_matches(list(matches))
    allowed = [m for m in ordered if kinds.get(m.list_name, BLOCK) == ALLOW]
    ruled = Ruled(allowed=allowed)
    for match in ordered:
        if kinds.get(match.list_name, BLOCK) == ALLOW:
            continue
        by = next(
            (a for a in allowed if a.signal_type == match.signal_type or _exact(a.signal_type)),
            None,
        )
        if by is not None:
            ruled.suppressed.append(Suppressed(match, by))
        elif match.entry_id in paused:
            ruled.paused.append(match)
        else:
            ruled.matches.append(match)
    return ruled


def apply_rules_each(
    per_query: Sequence[Sequence[Match]],
    kinds: Mapping[str, str],
    paused: Collection[int] = (),
) -> list[Ruled]:
    """``apply_rules`` for each query of a batch (what a lookup of many hashes calls)."""
    return [apply_rules(matches, kinds, paused) for matches in per_query]
