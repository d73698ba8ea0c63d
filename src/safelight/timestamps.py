"""The one way Safelight writes a moment: ISO 8601 in UTC with an explicit ``+00:00`` offset,
to the second (``2026-12-06T05:03:50+00:00``), which is what ``datetime.isoformat`` writes for
an aware UTC time. Scan runs, list entries and network outputs all follow it (docs/scan.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

# strftime form of the rule, for vectorised writers (pandas, Arrow).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"


def utc_timestamp(moment: datetime) -> str:
    """``moment`` (aware) as the rule's text; a naive time is refused, never guessed."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: Safelight writes aware UTC times")
    return moment.astimezone(UTC).isoformat(timespec="seconds")
