"""Messages of the queue and item pages that Python words (the templates hold the rest).

``N_`` marks a message for extraction; the pages translate it when they show it.
"""

from __future__ import annotations

from safelight.hotline.model import ItemStatus
from safelight.hotline.queue import SortKey
from safelight.hotline.resolver import Outcome


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


ITEM_STATUSES: dict[ItemStatus, str] = {
    ItemStatus.RECEIVED: N_("Received"),
    ItemStatus.IN_REVIEW: N_("In review"),
    ItemStatus.NOT_ILLEGAL: N_("Not illegal"),
    ItemStatus.ILLEGAL: N_("Illegal"),
    ItemStatus.REFERRED: N_("Referred"),
    ItemStatus.REMOVED: N_("Removed"),
    ItemStatus.CLOSED: N_("Closed"),
}

SORT_LABELS: dict[SortKey, str] = {
    SortKey.REPORTED_AT: N_("First reported"),
    SortKey.LAST_REPORTED_AT: N_("Last reported"),
    SortKey.TIMES_REPORTED: N_("Times reported"),
    SortKey.STATUS: N_("Status"),
    SortKey.COUNTRY: N_("Hosting country"),
}

OUTCOMES: dict[Outcome, str] = {
    Outcome.RESOLVED: N_("Found"),
    Outcome.NXDOMAIN: N_("The name does not exist (NXDOMAIN)"),
    Outcome.NO_ADDRESS: N_("The name has no address"),
    Outcome.TIMEOUT: N_("No answer in time"),
    Outcome.DNS_ERROR: N_("The name server failed"),
}

# The query parameters' names as the filter form labels them (for problems with them).
FILTER_FIELDS: dict[str, str] = {
    "status": N_("Status"),
    "country": N_("Hosting country"),
    "site_type": N_("Type of site"),
    "reported_from": N_("Reported from"),
    "reported_to": N_("Reported until"),
    "older_than_days": N_("Older than (days)"),
    "assignee": N_("Held by"),
    "search": N_("Address contains"),
    "sort": N_("Sort by"),
    "order": N_("Order"),
    "page": N_("Page"),
    "page_size": N_("Items per page"),
}
FILTER_PROBLEM = N_("%(field)s: this value cannot be used.")
UNKNOWN_FILTER = N_("The address of this page has a parameter the queue does not know.")

# What an action did (``done=``) and why one did not happen (``problem=``).
DONE: dict[str, str] = {
    "claimed": N_("You hold item %(item)s now."),
    "assigned": N_("Item %(item)s was given to %(name)s."),
    "released": N_("Item %(item)s is back in the queue."),
    "resolved": N_("The host of item %(item)s was looked up again."),
}
PROBLEMS: dict[str, str] = {
    "held_by_other": N_("Someone else holds item %(item)s. Only an administrator can reassign it."),
    "assignee": N_("Items can only be given to an enabled analyst."),
    "forbidden": N_("Items are held by people: sign in as an analyst."),
}
