"""Messages the referral and CyberTipline pages word in Python, picked by a value.

``N_`` only marks a message for extraction; the page translates it when it shows it.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


# A referral's status (safelight.referrals.records.ReferralRecord.status).
REFERRAL_STATUSES = {
    "draft": N_("Draft: not sent yet"),
    "sent": N_("Sent"),
    "superseded": N_("Superseded"),
}

# Who receives a package (safelight.referrals.roles.ROLES), and what that means.
RECIPIENT_ROLES = {
    "hotline": N_("Hotline: hashes, metadata and where the material is, no personal data"),
    "law_enforcement": N_("Law enforcement: everything, IP addresses included"),
    "platform": N_("Platform: hashes and metadata only"),
}
RECIPIENT_SHORT = {
    "hotline": N_("Hotline"),
    "law_enforcement": N_("Law enforcement"),
    "platform": N_("Platform"),
}

# The kinds of source a referral is built of (each source's describe()["kind"]).
SOURCE_KINDS = {
    "hotline_items": N_("Hotline items"),
    "network_case": N_("Network case"),
    "scan_run": N_("Scan run"),
}

# A CyberTipline report's status (safelight.referrals.cybertipline.status).
CYBERTIP_STATUSES = {
    "failed": N_("Failed"),
    "opened": N_("Open at NCMEC"),
    "drafted": N_("Drafted: not sent"),
    "finished": N_("Filed"),
    "retracted": N_("Retracted"),
}

# What a page says after a form did something (``?done=...``).
DONE = {
    "sent": N_("The referral is recorded as sent. From now on it can only be superseded."),
    "superseded": N_("This referral supersedes the one before it."),
    "built": N_("The referral package is built, signed and recorded."),
}
BUILD_FAILED = N_("The referral was not built:")
ACT_FAILED = N_("This was not done:")
FAILED_BANNER = N_(
    "CyberTipline reports that failed and wait for a retry: %(count)s. "
    "See CyberTipline reports under Referrals."
)
RETRIED = {
    "finished": N_("Report %(id)s was sent again and filed."),
    "failed": N_("Report %(id)s failed again: %(reason)s"),
    "other": N_("Report %(id)s is now: %(status)s"),
}

# The headline counts of a referral (referral.json "headline").
HEADLINE = {
    "urls": N_("Reported URLs"),
    "connections": N_("Connections"),
    "known_files": N_("Known files in the network"),
    "matched_files": N_("Matched files"),
    "matches": N_("Matches"),
}

# The categories of field a recipient's role may receive (safelight.referrals.roles).
CATEGORIES = {
    "hashes": N_("Hashes"),
    "metadata": N_("Metadata"),
    "network": N_("Network and location"),
    "personal": N_("Personal data"),
}
