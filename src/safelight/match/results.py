"""``Match``: one list entry a query matched, with one JSON shape everywhere.

``match``, ``scan`` and (later) the service and referrals all report matches in this shape;
docs/model.md documents it with its version (``MATCH_FORMAT``). Kept free of numpy and the
indexes so records that carry matches stay cheap to import and to pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Version of the match JSON shape (docs/model.md); bumped on any incompatible change.
MATCH_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Match:
    """One list entry a query matched. ``distance`` is 0 for exact types; ``variant`` names
    the dihedral orientation of the query that matched (with rotations); vPDQ matches carry
    how much of the query video and of the listed video the other covers."""

    list_name: str
    entry_id: int
    value: str
    distance: int
    labels: frozenset[str]
    signal_type: str
    variant: str | None = None
    query_percent: float | None = None
    compared_percent: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "list": self.list_name,
            "entry_id": self.entry_id,
            "value": self.value,
            "distance": self.distance,
            "labels": sorted(self.labels),
            "signal_type": self.signal_type,
        }
        if self.variant is not None:
            out["variant"] = self.variant
        if self.query_percent is not None:
            out["query_percent"] = self.query_percent
            out["compared_percent"] = self.compared_percent
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Match:
        """The inverse of ``to_dict``; also reads the scan records Safelight wrote before the
        shapes were one (``entry``/``type``, no ``value``)."""
        return cls(
            list_name=str(data["list"]),
            entry_id=int(data["entry_id"] if "entry_id" in data else data["entry"]),
            value=str(data.get("value") or ""),
            distance=int(data["distance"]),
            labels=frozenset(str(label) for label in data.get("labels", ())),
            signal_type=str(data["signal_type"] if "signal_type" in data else data["type"]),
            variant=data.get("variant"),
            query_percent=data.get("query_percent"),
            compared_percent=data.get("compared_percent"),
        )


def sort_matches(matches: list[Match]) -> list[Match]:
    """Nearest first, then by list and entry: the order every front reports."""
    return sorted(matches, key=lambda m: (m.distance, m.list_name, m.entry_id))
