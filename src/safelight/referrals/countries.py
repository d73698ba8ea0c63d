"""Country codes: ISO 3166-1 alpha-2, the officially assigned codes only.

Source: ISO 3166 Maintenance Agency, ISO 3166-1 "officially assigned" alpha-2 codes
(249 codes, as published in the ISO Online Browsing Platform, 2024; unchanged since the
addition of SS (South Sudan) in 2011 and the withdrawal of AN in 2010). User-assigned
codes (AA, QM-QZ, XA-XZ, ZZ), exceptionally reserved codes (EU, UK, ...) and the network
report's ``unknown`` are not countries a referral can go to.
"""

from __future__ import annotations

from safelight.errors import UsageError

ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)


def validate_country(code: str) -> str:
    """``code`` as an upper-case ISO 3166-1 alpha-2 code, or a UsageError that says why."""
    text = code.strip().upper()
    if len(text) != 2 or not text.isascii() or not text.isalpha():
        raise UsageError(
            f"country {code!r}: expected an ISO 3166-1 alpha-2 code (two letters, e.g. DE)",
            code="unknown_country",
            field="country",
        )
    if text not in ISO_3166_ALPHA2:
        hint = " (the United Kingdom is GB)" if text == "UK" else ""
        raise UsageError(
            f"country {code!r} is not an ISO 3166-1 alpha-2 country code{hint}",
            code="unknown_country",
            field="country",
        )
    return text
