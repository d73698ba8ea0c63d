"""The hotline's vocabulary: statuses, site types and the shapes reports are read in.

Site types follow the categories INHOPE publishes statistics under (2023: website, image
host, forum, ... ten in all); the exact ICCAM strings are not public, so these names are
Safelight's own (docs/hotline.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class SiteType(StrEnum):
    WEBSITE = "website"
    IMAGE_HOST = "image_host"
    FORUM = "forum"
    FILE_HOST = "file_host"
    SOCIAL_NETWORK = "social_network"
    VIDEO_PLATFORM = "video_platform"
    BLOG = "blog"
    CHAT = "chat"
    SEARCH_RESULT = "search_result"
    OTHER = "other"


class ItemStatus(StrEnum):
    """One URL's way through the hotline (the analyst workspace moves it along)."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    NOT_ILLEGAL = "not_illegal"
    ILLEGAL = "illegal"
    REFERRED = "referred"
    REMOVED = "removed"
    CLOSED = "closed"  # e.g. unreachable, or outside the mandate

    @property
    def is_open(self) -> bool:
        """Open items take later reports of the same URL (merged, not duplicated)."""
        return self in OPEN_ITEM_STATUSES


OPEN_ITEM_STATUSES = frozenset({ItemStatus.RECEIVED, ItemStatus.IN_REVIEW, ItemStatus.ILLEGAL})


def utc(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite hands back naive datetimes of what was stored as UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def item_target(item_id: int) -> str:
    """How the audit trail names a hotline item (the ``target`` of its entries)."""
    return f"hotline_item:{item_id}"


class ReportStatus(StrEnum):
    """What a reporter sees: coarse on purpose (no assessment outcome is disclosed)."""

    RECEIVED = "received"  # no URL looked at yet
    IN_REVIEW = "in_review"  # at least one URL is being looked at or acted on
    COMPLETED = "completed"  # every URL has been dealt with


def report_status(items: list[ItemStatus]) -> ReportStatus:
    if all(status == ItemStatus.RECEIVED for status in items):
        return ReportStatus.RECEIVED
    if any(status in OPEN_ITEM_STATUSES or status == ItemStatus.REFERRED for status in items):
        return ReportStatus.IN_REVIEW
    return ReportStatus.COMPLETED


@dataclass(frozen=True)
class SubmittedReport:
    """The answer to a submission: its reference, and which URLs joined earlier items."""

    reference: str
    created_at: datetime
    urls: int
    merged: int  # URLs already open in an earlier report, linked to it instead

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "status": ReportStatus.RECEIVED.value,
            "created_at": self.created_at.isoformat(),
            "urls": self.urls,
            "merged": self.merged,
        }


@dataclass(frozen=True)
class PublicStatus:
    """What the reference shows its holder: never the URLs or any assessment detail."""

    reference: str
    status: ReportStatus
    created_at: datetime
    updated_at: datetime
    urls: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "urls": self.urls,
        }
