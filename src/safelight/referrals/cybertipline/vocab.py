"""The CyberTipline's published vocabulary: enumerations, response codes, country codes.

Every value here comes from /work/shared/reference/cybertipline.md (section numbers below),
which collects NCMEC's "CyberTipline Reporting API Technical Documentation" (2025-06-11) and
the public XSD (2025-11). Values marked *unverified* there are kept out or noted.
"""

from __future__ import annotations

from enum import StrEnum

from safelight.referrals.countries import ISO_3166_ALPHA2

# Reference 1.1: the two documented base URIs. Safelight never calls either in tests.
PRODUCTION_URL = "https://report.cybertip.org/ispws"
TEST_URL = "https://exttest.cybertip.org/ispws"

# Reference 1.1, abandonment: an unfinished report is deleted 24 h after it was opened or 1 h
# after its last modification, whichever is later.
ABANDON_AFTER_OPEN_SECONDS = 24 * 3600
ABANDON_AFTER_CHANGE_SECONDS = 3600


class IncidentType(StrEnum):
    """Reference 1.4, incidentType (8 values)."""

    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    CHILD_SEX_TOURISM = "Child Sex Tourism"
    CHILD_SEXUAL_MOLESTATION = "Child Sexual Molestation"
    MISLEADING_DOMAIN_NAME = "Misleading Domain Name"
    MISLEADING_WORDS_OR_IMAGES = "Misleading Words or Digital Images on the Internet"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"
    UNSOLICITED_OBSCENE_MATERIAL = "Unsolicited Obscene Material Sent to a Child"


# Short names for the command line: the enum member's name in lower case with dashes.
INCIDENT_TYPE_KEYS = {m.name.lower().replace("_", "-"): m for m in IncidentType}

# Reference 1.4, reportAnnotations (presence tags). `informational` is modelled by one client
# but is not in the 2025 XSD or documentation (unverified), so it is not offered.
REPORT_ANNOTATIONS = (
    "sextortion",
    "csamSolicitation",
    "minorToMinorInteraction",
    "spam",
    "sadisticOnlineExploitation",
)

# Reference 1.5 / 1.4, fileAnnotations (presence tags, 10).
FILE_ANNOTATIONS = (
    "animeDrawingVirtualHentai",
    "potentialMeme",
    "viral",
    "possibleSelfProduction",
    "physicalHarm",
    "violenceGore",
    "bestiality",
    "liveStreaming",
    "infant",
    "generativeAi",
)


class EventName(StrEnum):
    """Reference 1.4, ipCaptureEvent.eventName and deviceId event."""

    LOGIN = "Login"
    REGISTRATION = "Registration"
    PURCHASE = "Purchase"
    UPLOAD = "Upload"
    OTHER = "Other"
    UNKNOWN = "Unknown"


class FileRelevance(StrEnum):
    """Reference 1.4: only a Reported file may carry potentialMeme or a classification."""

    REPORTED = "Reported"
    SUPPLEMENTAL = "Supplemental Reported"


class IndustryClassification(StrEnum):
    """Reference 1.4: the ESP industry scale (only for signatories of the hash-sharing MOU)."""

    A1 = "A1"  # prepubescent, sex act
    A2 = "A2"  # prepubescent, lascivious exhibition
    B1 = "B1"  # pubescent, sex act
    B2 = "B2"  # pubescent, lascivious exhibition


class DetailType(StrEnum):
    """Reference 1.4, details/nameValuePair@type."""

    EXIF = "EXIF"
    HASH = "HASH"


EMAIL_TYPES = ("Home", "Work", "Business", "Recovery")  # reference 1.4
PHONE_TYPES = ("Mobile", "Home", "Business", "Work", "Fax", "Internet", "Recovery")

# Reference 1.7: responseCode values. The list is not exhaustive: unknown codes are kept.
RESPONSE_CODES: dict[int, str] = {
    0: "Success",
    1000: "server error",
    1100: "save failed",
    1110: "upload failed",
    1111: "file upload failed",
    1210: "resource not found",
    1300: "update failed",
    2000: "authentication required",
    3000: "not authorised",
    3100: "no submit permission",
    3300: "no update permission",
    4000: "invalid request",
    4100: "validation failed",
    4110: "malformed XML",
    4200: "malformed file",
    5001: "report does not exist",
    5002: "file does not exist",
    5101: "already retracted",
    5102: "already finished",
}
SUCCESS = 0
REPORT_DOES_NOT_EXIST = 5001
ALREADY_RETRACTED = 5101
ALREADY_FINISHED = 5102

# Which codes a retry may cure. The reference does not say (unverified): Safelight treats the
# server-side failures of the 1xxx range (server error, save/upload/update failed) as
# transient, like network errors and HTTP 5xx, and every other code as permanent. 1210
# (resource not found) is permanent: it names something that is not there.
TRANSIENT_CODES = frozenset({1000, 1100, 1110, 1111, 1300})

# ISO 3166-1 alpha-2: one list for every referral (safelight.referrals.countries).
ISO_COUNTRIES = ISO_3166_ALPHA2

# Reference 1.6: a US location with a city needs a US state code as region. The 50 states,
# DC and the inhabited territories (USPS codes).
US_REGIONS = frozenset(
    """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR VI
    """.split()
)
