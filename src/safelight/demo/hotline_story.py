"""The demo hotline's story: who works there, its partners, where hosts are, what was reported
and what happened to each URL since. Data only; ``safelight.demo.hotline`` plays it through
the library.

Everything is a placeholder that cannot point at anyone real: URLs and contacts under the
reserved example.com/.net/.org (RFC 2606), addresses from the documentation blocks TEST-NET-1/
2/3 (RFC 5737), AS numbers from the documentation range 64496-64511 (RFC 5398). The reports
are worded neutrally and describe nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from safelight.hotline.classification import AgeGroup, Assessment, Gender, Illegality
from safelight.hotline.model import SiteType

ANALYSTS = ("amira", "bruno")  # four eyes: each confirms the other's classifications
ADMIN = "admin"
OWN_COUNTRY = "NL"  # the demo hotline's own country: items hosted here go to its police
FALLBACK_PARTNER = "Demo international desk"
DEMO_BANK_LIST = "HOTLINE_DEMO"
HASHES_SEED = 7001  # the benign generated image whose hashes stand for one item's material

# host -> its addresses, in the order DNS would give them
HOSTS: dict[str, tuple[str, ...]] = {
    "forum.example.org": ("203.0.113.30",),
    "files.example.com": ("192.0.2.40",),
    "img.example.net": ("198.51.100.20", "198.51.100.21"),
    "www.example.com": ("192.0.2.10",),
    "share.example.net": ("198.51.100.50",),
    "blog.example.org": ("203.0.113.60",),
}
# address -> (country, AS number, the AS's organisation: the hosting network)
ADDRESSES: dict[str, tuple[str, int, str]] = {
    "203.0.113.30": ("NL", 64502, "Demo Datacenter NL"),
    "192.0.2.40": ("NL", 64502, "Demo Datacenter NL"),
    "198.51.100.20": ("DE", 64501, "Demo Hosting DE"),
    "198.51.100.21": ("DE", 64501, "Demo Hosting DE"),
    "192.0.2.10": ("US", 64500, "Demo Cloud US"),
    "198.51.100.50": ("BR", 64503, "Demo Telecom BR"),
    "203.0.113.60": ("FR", 64505, "Demo Host FR"),
    "203.0.113.77": ("JP", 64504, "Demo Network JP"),
}

# (country, kind, name, contact, active, notes)
PARTNERS: tuple[tuple[str, str, str, str, bool, str], ...] = (
    ("NL", "law_enforcement", "Demo national police (NL)", "police@nl.example.org", True, ""),
    ("DE", "hotline", "Demo hotline (DE)", "reports@de.example.org", True, ""),
    ("DE", "law_enforcement", "Demo police (DE)", "police@de.example.org", True, ""),
    ("US", "hotline", "Demo hotline (US)", "https://us.example.org/report", True, ""),
    ("FR", "hotline", "Demo hotline (FR)", "signalement@fr.example.org", True, ""),
    ("BR", "law_enforcement", "Demo police (BR)", "denuncia@br.example.org", True, ""),
    (
        "JP",
        "hotline",
        "Demo hotline (JP)",
        "report@jp.example.org",
        False,
        "No longer takes referrals: items hosted in JP go to the fallback partner.",
    ),
    (
        "FR",
        "law_enforcement",
        FALLBACK_PARTNER,
        "desk@int.example.org",
        True,
        "The fallback partner: items hosted where no partner works go here.",
    ),
)

# What analysts decided (labels of the hotline's classification scheme).
FORUM = Assessment(
    Illegality.BASELINE, AgeGroup.PRE_PUBESCENT, Gender.FEMALE, SiteType.FORUM, False
)
IMAGES = Assessment(
    Illegality.BASELINE, AgeGroup.PUBESCENT, Gender.UNKNOWN, SiteType.IMAGE_HOST, False
)
IMAGES_NATIONAL = Assessment(
    Illegality.NATIONAL, AgeGroup.PUBESCENT, Gender.MALE, SiteType.IMAGE_HOST, False
)
FILES = Assessment(
    Illegality.BASELINE, AgeGroup.PRE_PUBESCENT, Gender.BOTH, SiteType.FILE_HOST, True
)
WEBSITE = Assessment(Illegality.BASELINE, AgeGroup.PUBESCENT, Gender.FEMALE, SiteType.WEBSITE, True)
SOCIAL = Assessment(
    Illegality.NATIONAL, AgeGroup.PUBESCENT, Gender.FEMALE, SiteType.SOCIAL_NETWORK, False
)
OTHER = Assessment(
    Illegality.BASELINE, AgeGroup.PRE_PUBESCENT, Gender.UNKNOWN, SiteType.OTHER, False
)
BLOG = Assessment(Illegality.BASELINE, AgeGroup.PUBESCENT, Gender.FEMALE, SiteType.BLOG, False)
NOT_ILLEGAL = Assessment(Illegality.NOT_ILLEGAL, notes="Nothing illegal found at this URL.")


Act = Literal[
    "claim",  # the analyst takes the item (located right after, as the desk does)
    "locate",  # the host looked up without taking the item
    "classify",
    "confirm",  # the other analyst confirms the latest classification (four eyes)
    "add_hashes",  # the hashes of the generated image that stands for the material
    "bank",  # into DEMO_BANK_LIST
    "refer",  # to the partner the routing rules choose
    "notify_host",
    "still_online",  # a re-check: still there
    "removed",  # a re-check: gone
]


@dataclass(frozen=True)
class Step:
    """One act on an item, ``after`` days after the report that named it first."""

    after: float
    act: Act
    by: str
    assessment: Assessment | None = None  # for classify


@dataclass(frozen=True)
class Url:
    url: str
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Report:
    days_ago: float
    language: str
    site_type: str
    description: str
    urls: tuple[Url, ...]
    contact: str | None = None
    channel: str = "web"


def assessed(by: str, second: str, assessment: Assessment, at: float = 0.1) -> tuple[Step, ...]:
    """Claimed, classified, and confirmed by the other analyst (four eyes)."""
    return (
        Step(at, "claim", by),
        Step(at + 0.05, "classify", by, assessment),
        Step(at + 0.2, "confirm", second),
    )


def national(by: str, second: str, assessment: Assessment, *notices: float) -> tuple[Step, ...]:
    """Assessed, referred to the national police and a notice (or more) sent to the host."""
    return (
        *assessed(by, second, assessment),
        Step(0.4, "refer", by),
        *(Step(day, "notify_host", by) for day in notices),
    )


A, B = ANALYSTS
REPORTS: tuple[Report, ...] = (
    Report(
        80,
        "en",
        "forum",
        "These links were posted in a thread on a forum I read. I am worried about where "
        "they lead; please have a look.",
        (
            Url(
                "https://forum.example.org/t/1001",
                (*national(A, B, FORUM, 0.45), Step(2.0, "removed", B)),
            ),
            Url(
                "https://forum.example.org/t/1002",
                (
                    Step(0.15, "claim", A),
                    Step(0.2, "classify", A, NOT_ILLEGAL),
                    Step(0.35, "confirm", B),
                ),
            ),
        ),
        contact="reporter@example.com",
    ),
    Report(
        70,
        "de",
        "image_host",
        "Diese Links wurden in einem Bilderforum geteilt. Bitte prüfen Sie sie.",
        (
            Url(
                "https://img.example.net/a/7f3c",
                (
                    *assessed(B, A, IMAGES),
                    Step(0.5, "refer", B),
                    Step(2.0, "still_online", A),
                    Step(4.0, "removed", A),
                ),
            ),
            Url(
                "https://img.example.net/a/8d21",
                (
                    *assessed(B, A, IMAGES_NATIONAL, 0.15),
                    Step(0.5, "refer", B),
                    Step(3.0, "still_online", A),
                    Step(7.0, "still_online", A),
                    Step(9.0, "removed", B),
                ),
            ),
        ),
    ),
    Report(
        45,
        "fr",
        "file_host",
        "J'ai reçu ce lien de téléchargement dans un message privé. Merci de le vérifier.",
        (
            Url(
                "https://files.example.com/d/3k9",
                (
                    *national(A, B, FILES, 0.45, 1.5),
                    Step(0.35, "add_hashes", A),
                    Step(0.38, "bank", B),
                    Step(6.0, "removed", A),
                ),
            ),
        ),
    ),
    Report(
        40,
        "es",
        "website",
        "Encontré esta galería a través de un buscador. Por favor, revísenla.",
        (
            Url(
                "http://www.example.com/gallery/12",
                (*assessed(B, A, WEBSITE), Step(0.4, "refer", B), Step(1.5, "removed", B)),
            ),
        ),
    ),
    Report(
        20,
        "pt",
        "social_network",
        "Estes links foram compartilhados numa rede social. Por favor, verifiquem.",
        (
            Url(
                "https://share.example.net/p/4410",
                (
                    *assessed(A, B, SOCIAL),
                    Step(0.4, "refer", A),
                    Step(3.0, "still_online", B),
                    Step(8.0, "still_online", B),
                ),
            ),
            Url("https://files.example.com/d/5m1", national(B, A, FILES, 0.5, 1.5, 2.5)),
        ),
    ),
    Report(
        12,
        "ja",
        "other",
        "掲示板でこのリンクを見つけました。確認をお願いします。",
        (Url("http://203.0.113.77/album/", assessed(A, B, OTHER)),),
    ),
    Report(
        6,
        "it",
        "blog",
        "Ho trovato questi link in un blog. Vi prego di controllarli.",
        (
            Url(
                "https://blog.example.org/2024/05/post",
                (Step(0.2, "claim", A), Step(0.3, "classify", A, BLOG)),
            ),
            Url("https://files.example.com/d/9q2", (Step(1.0, "claim", B),)),
        ),
    ),
    Report(
        3,
        "ko",
        "image_host",
        "이미지 공유 사이트에서 이 링크를 발견했습니다. 확인 부탁드립니다.",
        (
            Url(
                "https://img.example.net/a/99e0",
                (Step(0.2, "claim", B), Step(0.3, "add_hashes", B)),
            ),
            Url("https://blog.example.org/2024/05/post"),
        ),
    ),  # merged: still open from "it"
    Report(
        1,
        "zh",
        "chat",
        "有人在聊天群里分享了这些链接，请核查。",
        (
            Url("https://gone.example.net/invite/abc", (Step(0.1, "locate", A),)),
            Url("http://www.example.com/gallery/12", (Step(0.1, "locate", A),)),
            Url("https://share.example.net/p/5120", (Step(0.1, "locate", A),)),
        ),
    ),
)
