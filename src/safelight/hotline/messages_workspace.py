"""Messages the workspace shell words in Python (the templates hold the rest).

``N_`` marks a message for extraction; pages translate it when they show it.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


LOGIN_PROBLEMS = {
    "form_expired": N_("The form had expired. Please sign in again."),
    "missing": N_("Enter your user name and your password."),
    "invalid": N_("That user name and password do not match an active account."),
    "rate_limited": N_("Too many sign-in attempts. Wait a minute, then try again."),
}

# The navigation's labels, by nav key (the same keys as the home page's areas).
NAV_LABELS = {
    "queue": N_("Queue"),
    "partners": N_("Partners"),
    "referrals": N_("Referrals"),
    "metrics": N_("Metrics"),
    "wellness": N_("Wellness"),
}
NAV_HINTS = {
    "queue": N_("Reported URLs waiting for assessment, and the ones you hold."),
    "partners": N_("Hotlines and law enforcement to refer to, per country."),
    "referrals": N_("Signed referral packages and CyberTipline reports."),
    "metrics": N_("Reports by hosting country and network; time to removal."),
    "wellness": N_("Your viewing time today, your limit and your settings."),
}
