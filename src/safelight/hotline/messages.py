"""Messages the pages pick by a value (site types, statuses, problems with a report).

``N_`` only marks a message for extraction; the page translates it when it shows it.
"""

from __future__ import annotations

from safelight.hotline.model import ReportStatus, SiteType


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


SITE_TYPES: dict[SiteType, str] = {
    SiteType.WEBSITE: N_("Website"),
    SiteType.IMAGE_HOST: N_("Image host"),
    SiteType.FORUM: N_("Discussion forum"),
    SiteType.FILE_HOST: N_("File-sharing service"),
    SiteType.SOCIAL_NETWORK: N_("Social network"),
    SiteType.VIDEO_PLATFORM: N_("Video platform"),
    SiteType.BLOG: N_("Blog or personal page"),
    SiteType.CHAT: N_("Chat or messaging service"),
    SiteType.SEARCH_RESULT: N_("Search engine result"),
    SiteType.OTHER: N_("Something else"),
}

STATUSES: dict[ReportStatus, tuple[str, str]] = {
    ReportStatus.RECEIVED: (
        N_("Received"),
        N_("Your report has been received and is waiting for an analyst."),
    ),
    ReportStatus.IN_REVIEW: (
        N_("Being assessed"),
        N_("An analyst is assessing the addresses in your report or acting on them."),
    ),
    ReportStatus.COMPLETED: (
        N_("Completed"),
        N_("Every address in your report has been dealt with. Thank you for reporting."),
    ),
}

# Problem codes (safelight.hotline.reports and .urls) in the reporter's words.
PROBLEMS: dict[str, str] = {
    "urls_missing": N_("Give at least one web address."),
    "urls_too_many": N_("Give at most %(count)s web addresses."),
    "url_empty": N_("Give at least one web address."),
    "url_too_long": N_("This address is too long."),
    "url_invalid": N_("This is not a valid web address."),
    "url_scheme": N_("Only addresses that start with http:// or https:// can be reported."),
    "url_credentials": N_("Remove the user name and password from this address."),
    "url_host": N_("The site name in this address is not valid."),
    "too_long": N_("This text is too long."),
    "site_type": N_("Choose a type of site from the list."),
    "form_expired": N_("The form has expired. Please send it again."),
    "rate_limited": N_("Too many reports from your network. Please try again in a few minutes."),
    "too_large": N_("The report is too large."),
}
FIELD_NAMES: dict[str, str] = {
    "urls": N_("Web addresses (URLs)"),
    "description": N_("What did you see? (optional)"),
    "site_type": N_("Type of site (optional)"),
    "contact": N_("Contact details (optional)"),
}
URL_LINE = N_("Address %(number)s: %(problem)s")
FIELD_LINE = N_("%(field)s: %(problem)s")  # punctuation differs: French " : ", CJK "：")
