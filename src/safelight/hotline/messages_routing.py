"""Messages of the routing, takedown and metrics pages that Python picks by a value
(partner kinds, routing reasons, timeline steps, problems, chart names).

``N_`` marks a message for extraction; pages translate it when they show it.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


PARTNER_KINDS = {
    "hotline": N_("Hotline"),
    "law_enforcement": N_("Law enforcement"),
}

# Why the rules chose a partner (safelight.hotline.routing.RouteReason).
REASONS = {
    "national": N_(
        "Hosted in our own country: report to national law enforcement and send the "
        "hosting provider a notice."
    ),
    "partner_hotline": N_("Hosted abroad: forward to the hotline of the hosting country."),
    "partner_law_enforcement": N_(
        "Hosted abroad where no partner hotline works: send to law enforcement there."
    ),
    "fallback": N_("No partner works in the hosting country: send to the fallback partner."),
    "analyst_choice": N_("Chosen by the analyst instead of the suggestion."),
}

# Timeline steps (safelight.hotline.takedown.EventKind).
EVENTS = {
    "reported": N_("Reported"),
    "assessed": N_("Assessed"),
    "referred": N_("Referred"),
    "package_sent": N_("Referral package sent"),
    "host_notified": N_("Hosting provider notified"),
    "still_online": N_("Re-checked: still online"),
    "removed": N_("Re-checked: removed"),
}
NOTICE_NUMBER = N_("Notice %(number)s")
LE_NOTIFIED = N_("Law enforcement notified")
NOTICES_SENT = N_("Notices sent")
REPORT_REFERENCE = N_("Report %(reference)s")
PUBLIC_ACTOR = N_("Public report")
RECORDED_ELSEWHERE = N_("Recorded by the classification")
CONFIRMED_BY = N_("Confirmed by %(name)s (four eyes)")
KNOWN_MATERIAL = N_("Known material: list %(list)s, entry %(entry)s")
PACKAGE_SENT = N_("Referral package %(id)s sent to %(recipient)s (%(country)s)")

# Problems, by error code (the library's English message is the fallback).
PROBLEMS = {
    "hosting_unknown": N_(
        "The hosting country of this item is not known yet. Resolve its host first."
    ),
    "own_country_unset": N_(
        "The organisation's own country is not configured (setting SAFELIGHT_ORGANISATION_COUNTRY)."
    ),
    "no_national_contact": N_(
        "There is no active law-enforcement contact for our own country. An administrator "
        "can add one to the partners."
    ),
    "no_partner": N_(
        "No active partner works in the hosting country and no usable fallback partner is "
        "configured (setting SAFELIGHT_FALLBACK_PARTNER)."
    ),
    "partner_inactive": N_("This partner is inactive. Choose an active partner."),
    "unknown_partner": N_("This partner does not exist."),
    "already_referred": N_("This item has already been referred to this partner."),
    "wrong_status": N_("Only items assessed illegal and not yet removed can be acted on."),
    "in_future": N_("%(field)s: the time is in the future."),
    "out_of_order": N_("%(field)s: the time is before an earlier step of this item."),
    "bad_time": N_("%(field)s: enter a date and time."),
    "too_long": N_("%(field)s: the text is too long."),
    "country": N_("%(field)s: choose a country from the list."),
    "kind": N_("%(field)s: choose hotline or law enforcement."),
    "name_empty": N_("%(field)s: enter the partner's name."),
    "contact": N_("%(field)s: enter an e-mail address or a web address starting with https://."),
    "partner_exists": N_("%(field)s: a partner with this name already exists."),
    "missing": N_("%(field)s: this field is required."),
    "bad_month": N_("%(field)s: enter a month."),
    "bad_period": N_("%(field)s: the last month is before the first."),
}
FIELDS = {
    "country": N_("Country"),
    "kind": N_("Kind"),
    "name": N_("Name"),
    "contact": N_("Contact"),
    "notes": N_("Notes"),
    "note": N_("Note"),
    "referred_at": N_("Referred at"),
    "hp_notified_at": N_("Notice sent at"),
    "checked_at": N_("Checked at"),
    "removed_at": N_("Checked at"),
    "since": N_("From month"),
    "until": N_("To month"),
}

# Flash lines after an action succeeded.
DONE = {
    "partner_added": N_("The partner was added."),
    "partner_saved": N_("The partner was saved."),
    "referred": N_("The item was referred."),
    "host_notified": N_("The notice to the hosting provider was recorded."),
    "still_online": N_("The re-check was recorded: still online."),
    "removed": N_("The removal was recorded."),
}

# The metrics page's tables and charts.
TABLES = {
    "months": N_("By month"),
    "countries": N_("By hosting country"),
    "networks": N_("By hosting network"),
}
SERIES = {
    "illegal": N_("Assessed illegal"),
    "removed": N_("Removed"),
    "median": N_("Median"),
    "p90": N_("90th percentile"),
    "within_3": N_("Within 3 days"),
    "within_7": N_("Within 7 days"),
}
CHARTS = {
    "volume": N_("Items assessed illegal and removed, per month"),
    "times": N_("Time to removal per month, in days"),
    "shares": N_("Share removed within 3 and 7 days, per month, in percent"),
    "countries": N_("Items assessed illegal and removed, by hosting country"),
    "networks": N_("Items assessed illegal and removed, by hosting network"),
}
CHART_SUMMARY = N_(
    "%(rows)s rows. The numbers are in the table below the chart and in its CSV download."
)
NO_DATA = N_("Nothing to show for this period.")
UNKNOWN = N_("Not resolved")
COLUMNS = {
    "month": N_("Month"),
    "country": N_("Hosting country"),
    "network": N_("Hosting network"),
    "reports": N_("Reports"),
    "items": N_("Items"),
    "illegal": N_("Assessed illegal"),
    "removed": N_("Removed"),
    "still_online": N_("Still online"),
    "median_days": N_("Median days to removal"),
    "p90_days": N_("90th percentile, days"),
    "within_3": N_("Removed within 3 days"),
    "within_7": N_("Removed within 7 days"),
}
SHARE_CELL = N_("%(share)s (%(removed)s of %(counted)s)")
ALL_ITEMS = N_("All")
