"""Messages of captures and reviewer wellness that are worded in Python (templates hold the
rest). ``N_`` marks a message for extraction; pages translate it when they show it."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


# In every page's header, and the banners every page shows when they apply.
HEADER_NOTE = N_("Viewing today: %(viewed)s of %(limit)s min")
BREAK_BANNER = N_(
    "You have viewed material for %(minutes)s minutes without a break. Please step away "
    "from the screen for at least %(pause)s minutes."
)
# Titles of the pages that say why a form was refused.
NOT_ATTACHED = N_("The capture was not attached")
STAYS_BLURRED = N_("The capture stays blurred")
CAPTURE_TITLE = N_("Capture %(id)s of item %(item)s")

KIND_LABELS = {"image": N_("Screenshot"), "video": N_("Screen recording")}

# Why a reveal was refused, by the library's error code.
LIMIT_REACHED = N_(
    "You have reached today's viewing limit of %(limit)s minutes. Material stays blurred "
    "until midnight (%(zone)s). Please take a rest from viewing."
)
REVEAL_REFUSALS = {
    "daily_limit": LIMIT_REACHED,
    "no_viewing_needed": N_("No viewing needed: this material is already known and classified."),
}

# Why a capture was refused, by the library's error code (others: "undecodable").
UPLOAD_PROBLEMS = {
    "media_disabled": N_(
        "Your organisation has not turned on storing captures. Record the item's hashes instead."
    ),
    "media_key_missing": N_(
        "Captures cannot be stored: no encryption key is configured. Ask an administrator."
    ),
    "no_file": N_("Choose a file to attach."),
    "empty_file": N_("The file is empty."),
    "too_large": N_("The file is larger than the limit of %(megabytes)s MB."),
    "too_long": N_("The recording is longer than the limit of %(seconds)s seconds."),
    "not_media": N_(
        "A capture must be a PNG, JPEG or WebP screenshot or an MP4 or WebM screen recording."
    ),
    "unsupported_format": N_(
        "A capture must be a PNG, JPEG or WebP screenshot or an MP4 or WebM screen recording."
    ),
    "decompression_bomb": N_("The picture declares more pixels than allowed, so it was refused."),
    "truncated": N_("The file is incomplete: it ends before the picture or recording does."),
    "duplicate_capture": N_("This capture is already attached to the item."),
    "undecodable": N_("The file could not be read as a picture or a recording."),
}

# A refused settings form, by the field the library named.
SETTING_PROBLEMS = {
    "blur_percent": N_("Blur strength must be a whole number from %(low)s to %(high)s."),
    "greyscale": N_("Choose greyscale, colour or your organisation's default."),
    "daily_limit_minutes": N_(
        "Your daily limit must be a whole number of minutes from 1 to %(high)s."
    ),
    "break_after_minutes": N_(
        "A reminder must come after at most %(high)s minutes of viewing (a whole number)."
    ),
    "break_minutes": N_("A break must last at least %(low)s minutes (a whole number)."),
    "time_zone": N_("Unknown time zone. Use a name such as Europe/Berlin."),
    "admin_limit_minutes": N_("A daily limit is a whole number of minutes from 1 to 1440."),
    "username": N_("There is no user named %(name)s."),
}
SAVED = N_("Your settings were saved.")
ADMIN_SAVED = N_("The daily limit of %(name)s was saved.")
