"""Viewing time: today's total and time since the last break, from viewing intervals.

Pure functions over ``Interval``s (UTC datetimes), so the rules are tested without a store.
A viewing day runs from local midnight to local midnight in the viewer's time zone (the DST
days are 23 or 25 hours long). Overlapping intervals (two tabs revealing at once) count once.
A break is ``break_length`` or more without viewing; the time viewed since the last break is
the viewing (not the wall-clock time) since the last such gap, or since now if the gap is now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this system knows; ValueError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Europe/Berlin)"
        ) from None
    return name


def day_bounds(now: datetime, zone: str) -> tuple[datetime, datetime]:
    """The UTC start and end of the local day that holds ``now`` in ``zone``."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(0), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as sorted, disjoint intervals (empty ones dropped)."""
    out: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        if interval.end <= interval.start:
            continue
        if out and interval.start <= out[-1].end:
            if interval.end > out[-1].end:
                out[-1] = Interval(out[-1].start, interval.end)
        else:
            out.append(interval)
    return out


def total_within(intervals: Iterable[Interval], start: datetime, end: datetime) -> timedelta:
    """Viewing time inside [start, end)."""
    total = timedelta()
    for interval in merged(intervals):
        overlap = min(interval.end, end) - max(interval.start, start)
        if overlap > timedelta():
            total += overlap
    return total


def since_break(
    intervals: Iterable[Interval], now: datetime, break_length: timedelta
) -> tuple[timedelta, datetime | None]:
    """(viewing since the last break, when the latest viewing ended or None if it goes on).

    Intervals must end by ``now`` (an open viewing is cut at ``now`` by the caller)."""
    spans = merged(intervals)
    if not spans:
        return timedelta(), None
    last_end = spans[-1].end
    gap_end, total = now, timedelta()
    for span in reversed(spans):
        if gap_end - span.end >= break_length:
            break
        total += span.end - span.start
        gap_end = span.start
    return total, (None if last_end >= now else last_end)
