"""Wellness settings: the organisation's defaults and each viewer's own choices.

A viewer may make their own settings *safer* than the organisation's, never less safe:

- ``daily_limit_minutes``: only below their ceiling, which is the organisation's limit or
  the one an admin set for them (``admin_limit_minutes``, any value 1-1440);
- ``break_after_minutes``: only at or below the organisation's (reminders as often or more);
- ``break_minutes``: only at or above the organisation's (breaks as long or longer);
- ``blur_percent`` (3-20: previews are never unblurred), ``greyscale`` and ``time_zone``:
  their own choice.

A setting left unset (NULL) follows the organisation's default, also when that changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safelight.errors import UsageError
from safelight.hotline.media_render import check_blur
from safelight.hotline.viewing_time import check_time_zone

MAX_MINUTES = 1440
OWN_FIELDS = (
    "blur_percent",
    "greyscale",
    "daily_limit_minutes",
    "break_after_minutes",
    "break_minutes",
    "time_zone",
)


@dataclass(frozen=True)
class WellnessDefaults:
    """The organisation's defaults (service settings ``wellness_*``)."""

    blur_percent: int
    greyscale: bool
    daily_limit_minutes: int
    reveal_minutes: float
    break_after_minutes: int
    break_minutes: int
    time_zone: str


@dataclass(frozen=True)
class ViewerSettings:
    """One viewer's settings in force, and which of them are their own."""

    viewer: str
    blur_percent: int
    greyscale: bool
    daily_limit_minutes: int  # in force: min(own, ceiling)
    ceiling_minutes: int  # the admin's limit for this viewer, else the organisation's
    break_after_minutes: int
    break_minutes: int
    time_zone: str
    reveal_minutes: float
    own: dict[str, Any]  # the viewer's own values (unset ones absent)
    admin_limit_minutes: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "blur_percent": self.blur_percent,
            "greyscale": self.greyscale,
            "daily_limit_minutes": self.daily_limit_minutes,
            "ceiling_minutes": self.ceiling_minutes,
            "admin_limit_minutes": self.admin_limit_minutes,
            "break_after_minutes": self.break_after_minutes,
            "break_minutes": self.break_minutes,
            "time_zone": self.time_zone,
            "reveal_minutes": self.reveal_minutes,
            "own": dict(self.own),
        }


def effective(viewer: str, row: dict[str, Any] | None, org: WellnessDefaults) -> ViewerSettings:
    """The settings in force for ``viewer`` given their stored row (None: none stored)."""
    row = row or {}
    own = {name: row[name] for name in OWN_FIELDS if row.get(name) is not None}
    admin = row.get("admin_limit_minutes")
    ceiling = admin if admin is not None else org.daily_limit_minutes
    limit = min(own.get("daily_limit_minutes", ceiling), ceiling)
    return ViewerSettings(
        viewer=viewer,
        blur_percent=own.get("blur_percent", org.blur_percent),
        greyscale=own.get("greyscale", org.greyscale),
        daily_limit_minutes=limit,
        ceiling_minutes=ceiling,
        break_after_minutes=min(
            own.get("break_after_minutes", org.break_after_minutes), org.break_after_minutes
        ),
        break_minutes=max(own.get("break_minutes", org.break_minutes), org.break_minutes),
        time_zone=own.get("time_zone", org.time_zone),
        reveal_minutes=org.reveal_minutes,
        own=own,
        admin_limit_minutes=admin,
    )


def checked_changes(
    changes: dict[str, Any], current: ViewerSettings, org: WellnessDefaults
) -> dict[str, Any]:
    """The viewer's changes, each checked against the rules above (None resets a setting
    to the default). A UsageError names the first bad field."""
    if not changes:
        raise UsageError("give at least one setting to change", field="settings")
    unknown = sorted(set(changes) - set(OWN_FIELDS))
    if unknown:
        raise UsageError(
            f"unknown setting {unknown[0]!r}: one of {', '.join(OWN_FIELDS)}", field=unknown[0]
        )
    return {name: _checked(name, value, current, org) for name, value in changes.items()}


def _checked(name: str, value: Any, current: ViewerSettings, org: WellnessDefaults) -> Any:
    if value is None:
        return None
    if name == "greyscale":
        if not isinstance(value, bool):
            raise UsageError("greyscale must be true or false", field=name)
        return value
    if name == "time_zone":
        if not isinstance(value, str):
            raise UsageError("time_zone must be an IANA name such as Europe/Berlin", field=name)
        try:
            return check_time_zone(value.strip())
        except ValueError as exc:
            raise UsageError(str(exc), field=name) from None
    number = _whole(name, value)
    if name == "blur_percent":
        return check_blur(number)
    low, high = 1, MAX_MINUTES
    if name == "daily_limit_minutes":
        high = current.ceiling_minutes
    elif name == "break_after_minutes":
        high = org.break_after_minutes
    elif name == "break_minutes":
        low = org.break_minutes
    if not low <= number <= high:
        raise UsageError(f"{name} must be {low} to {high} (your organisation's rule)", field=name)
    return number


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be a whole number", field=name)
    return value


def checked_admin_limit(minutes: Any) -> int | None:
    if minutes is None:
        return None
    number = _whole("admin_limit_minutes", minutes)
    if not 1 <= number <= MAX_MINUTES:
        raise UsageError(
            f"admin_limit_minutes must be 1 to {MAX_MINUTES}", field="admin_limit_minutes"
        )
    return number


def parse_form(form: dict[str, str]) -> dict[str, Any]:
    """The settings form's text fields as typed changes: every field of the form is a change,
    a blank one back to the default; greyscale is ``on``, ``off`` or blank. A UsageError
    names a field that is not a whole number."""
    changes: dict[str, Any] = {}
    for name in OWN_FIELDS:
        if name not in form:
            continue
        text = form[name].strip()
        if not text:
            changes[name] = None
        elif name == "greyscale":
            if text not in ("on", "off"):
                raise UsageError("greyscale must be on, off or blank", field=name)
            changes[name] = text == "on"
        elif name == "time_zone":
            changes[name] = text
        else:
            changes[name] = whole_number(name, text)
    return changes


def whole_number(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, not {text[:20]!r}", field=name) from None


def read_form(
    form: dict[str, str], current: ViewerSettings, org: WellnessDefaults
) -> tuple[dict[str, Any], list[UsageError]]:
    """The settings form's changes and every problem in it (one per field, not just the
    first), so a page can show them all at once."""
    changes: dict[str, Any] = {}
    problems: list[UsageError] = []
    for name in OWN_FIELDS:
        if name not in form:
            continue
        try:
            typed = parse_form({name: form[name]})
            changes.update(checked_changes(typed, current, org))
        except UsageError as exc:
            problems.append(exc)
    return changes, problems
