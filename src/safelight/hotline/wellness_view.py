"""What the wellness and capture pages show, in the reader's language: viewing time in whole
minutes, times of day in the viewer's own time zone, captures as cards with their links.

Pure functions of the library's records (``WellnessStatus``, ``Capture``): the service's
page routes call them, the templates only lay the values out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time

from safelight.hotline.i18n import babel_locale, format_date, format_number, translations
from safelight.hotline.media import Capture
from safelight.hotline.messages_wellness import (
    BREAK_BANNER,
    HEADER_NOTE,
    KIND_LABELS,
    LIMIT_REACHED,
    REVEAL_REFUSALS,
    UPLOAD_PROBLEMS,
)
from safelight.hotline.wellness import WellnessStatus

API = "/api/v1/hotline/items"
PAGES = "/workspace/items"


def whole_minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


def clock_time(moment: datetime, zone: str, language: str) -> str:
    """A time of day as the reader writes it, in the viewer's time zone."""
    return format_time(moment, "short", tzinfo=ZoneInfo(zone), locale=babel_locale(language))


def status_values(status: WellnessStatus, language: str) -> dict[str, Any]:
    settings = status.settings
    until = status.break_until
    remaining = status.remaining + timedelta(seconds=59)  # 30 seconds left is "1 min" left
    return {
        "viewed": format_number(whole_minutes(status.viewed), language),
        "limit": format_number(settings.daily_limit_minutes, language),
        "remaining": format_number(whole_minutes(remaining), language),
        "since_break": format_number(whole_minutes(status.since_break), language),
        "limit_reached": status.limit_reached,
        "break_due": status.break_due,
        "break_until": clock_time(until, settings.time_zone, language) if until else None,
        "zone": settings.time_zone,
        "day_ends": clock_time(status.day_end, settings.time_zone, language),
        "open_viewing": status.open_viewing,
    }


def header_note(status: WellnessStatus, language: str) -> dict[str, str]:
    gettext = translations(language).gettext
    values = status_values(status, language)
    text = gettext(HEADER_NOTE) % {"viewed": values["viewed"], "limit": values["limit"]}
    return {"text": text, "href": "/workspace/wellness"}


def banners(status: WellnessStatus, language: str) -> list[str]:
    gettext = translations(language).gettext
    out = []
    if status.limit_reached:
        limit = format_number(status.settings.daily_limit_minutes, language)
        out.append(gettext(LIMIT_REACHED) % {"limit": limit, "zone": status.settings.time_zone})
    elif status.break_due:
        minutes = format_number(whole_minutes(status.since_break), language)
        pause = format_number(status.settings.break_minutes, language)
        out.append(gettext(BREAK_BANNER) % {"minutes": minutes, "pause": pause})
    return out


def capture_card(capture: Capture, status: WellnessStatus, language: str) -> dict[str, Any]:
    """One capture as the panel and the capture page show it."""
    gettext = translations(language).gettext
    viewing = status.open_viewing
    revealed = viewing is not None and viewing.capture_id == capture.id
    api = f"{API}/{capture.item_id}/captures/{capture.id}"
    page = f"{PAGES}/{capture.item_id}/captures/{capture.id}"
    left = (viewing.ends_at - status.now) if viewing is not None and revealed else timedelta()
    return {
        "id": capture.id,
        "item_id": capture.item_id,
        "kind": capture.kind,
        "kind_label": gettext(KIND_LABELS[capture.kind]),
        "width": format_number(capture.width, language),
        "height": format_number(capture.height, language),
        "seconds": format_number(round(capture.seconds), language) if capture.seconds else None,
        "kilobytes": format_number(max(1, round(capture.size / 1024)), language),
        "content_type": capture.content_type,
        "note": capture.note,
        "added": format_date(capture.created_at, language),
        "added_by": capture.created_by,
        "sha256": capture.sha256,
        "pdq": capture.pdq,
        "preview_url": f"{api}/preview",
        "original_url": f"{api}/original",
        "page_url": page,
        "reveal_action": f"{page}/reveal",
        "blur_action": f"{page}/blur",
        "revealed": revealed,
        "seconds_left": max(0, int(left.total_seconds())),
        "revealed_until": clock_time(viewing.ends_at, status.settings.time_zone, language)
        if viewing is not None and revealed
        else None,
    }


def refusal_text(code: str, status: WellnessStatus, language: str) -> str:
    gettext = translations(language).gettext
    message = REVEAL_REFUSALS.get(code, REVEAL_REFUSALS["daily_limit"])
    limit = format_number(status.settings.daily_limit_minutes, language)
    return gettext(message) % {"limit": limit, "zone": status.settings.time_zone}


def upload_problem(code: str, language: str, *, max_bytes: int, max_seconds: float) -> str:
    gettext = translations(language).gettext
    message = UPLOAD_PROBLEMS.get(code, UPLOAD_PROBLEMS["undecodable"])
    numbers = {
        "megabytes": format_number(max(1, max_bytes // (1024 * 1024)), language),
        "seconds": format_number(round(max_seconds), language),
    }
    return gettext(message) % numbers
