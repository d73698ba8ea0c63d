"""A tile-grid world map: every country one labelled cell, placed near where it lies.

Positions come from approximate country centroids (latitude, longitude in whole degrees),
compiled for Safelight for layout only: they are not geodetic data and decide nothing but
where a cell is drawn. Cells are placed on an equirectangular grid; when two countries fall
into one cell the later one takes the nearest free cell, so small neighbours stay close.
"""

from __future__ import annotations

from functools import lru_cache

# ISO 3166-1 alpha-2, latitude, longitude (approximate centroids, whole degrees).
_CENTROIDS = """
IS 65 -18 GL 72 -40 NO 61 9 SE 62 15 FI 64 26 EE 59 25 LV 57 25 LT 55 24 DK 56 10 IE 53 -8
GB 54 -2 NL 52 5 BE 50 4 LU 49 6 DE 51 10 PL 52 19 BY 53 28 RU 60 90 FR 46 2 CH 47 8
AT 47 14 CZ 50 15 SK 48 19 UA 49 32 MD 47 29 PT 39 -8 ES 40 -4 IT 42 12 SI 46 15 HR 45 16
HU 47 19 RO 46 25 BA 44 18 RS 44 21 ME 42 19 AL 41 20 MK 41 22 BG 43 25 GR 39 22 TR 39 35
CY 35 33 MT 36 14 AD 42 1 MC 44 7 LI 47 9 SM 44 12 GE 42 43 AM 40 45 AZ 40 47 KZ 48 68
UZ 41 64 TM 39 59 KG 41 75 TJ 39 71 AF 33 65 PK 30 70 IN 22 79 NP 28 84 BT 27 90 BD 24 90
LK 7 81 MV 3 73 CN 35 103 MN 46 103 KP 40 127 KR 36 128 JP 36 138 TW 24 121 HK 22 114
MO 22 113 VN 16 107 LA 18 103 KH 12 105 TH 15 101 MM 21 96 MY 4 102 SG 1 104 BN 4 115
ID -2 118 PH 12 122 TL -9 126 PG -6 145 AU -25 134 NZ -41 174 FJ -18 178 SB -9 160
VU -16 167 NC -21 165 IR 32 53 IQ 33 44 SY 35 38 LB 34 36 IL 31 35 PS 32 35 JO 31 36
SA 24 45 KW 29 48 BH 26 51 QA 25 51 AE 24 54 OM 21 57 YE 15 48 EG 27 30 LY 27 17 TN 34 9
DZ 28 3 MA 32 -6 EH 24 -13 MR 20 -10 ML 17 -4 NE 17 9 TD 15 19 SD 15 30 SS 7 30 ER 15 39
DJ 12 43 ET 9 39 SO 6 46 KE 0 38 UG 1 32 RW -2 30 BI -3 30 TZ -6 35 SN 14 -14 GM 13 -15
GW 12 -15 GN 10 -11 SL 8 -12 LR 6 -9 CI 8 -5 BF 12 -2 GH 8 -1 TG 8 1 BJ 9 2 NG 9 8
CM 6 12 CF 7 21 GQ 2 10 GA -1 12 CG -1 15 CD -3 23 AO -12 18 ZM -14 28 MW -13 34
MZ -18 35 ZW -19 30 BW -22 24 NA -22 17 ZA -29 24 LS -30 28 SZ -27 31 MG -19 47 MU -20 58
SC -5 55 KM -12 44 CV 16 -24 ST 0 7 CA 56 -106 US 38 -97 MX 23 -102 GT 15 -90 BZ 17 -89
SV 14 -89 HN 15 -87 NI 13 -85 CR 10 -84 PA 9 -80 CU 22 -80 JM 18 -77 HT 19 -72 DO 19 -70
PR 18 -66 BS 24 -76 TT 10 -61 BB 13 -60 CO 4 -73 VE 7 -66 GY 5 -59 SR 4 -56 EC -2 -78
PE -10 -76 BR -10 -53 BO -17 -65 PY -23 -58 CL -30 -71 AR -35 -65 UY -33 -56 FK -52 -59
"""

COLUMNS = 40
ROWS = 20


def centroids() -> dict[str, tuple[int, int]]:
    tokens = _CENTROIDS.split()
    return {tokens[i]: (int(tokens[i + 1]), int(tokens[i + 2])) for i in range(0, len(tokens), 3)}


@lru_cache(maxsize=1)
def grid() -> dict[str, tuple[int, int]]:
    """Country -> (column, row) on the tile grid; deterministic."""
    taken: dict[tuple[int, int], str] = {}
    placed: dict[str, tuple[int, int]] = {}
    for code, (lat, lon) in centroids().items():
        col = round((lon + 180) / 360 * (COLUMNS - 1))
        row = round((75 - max(-55, min(75, lat))) / 130 * (ROWS - 1))
        best = None
        for radius in range(0, max(COLUMNS, ROWS)):
            ring = [
                (col + dc, row + dr)
                for dr in range(-radius, radius + 1)
                for dc in range(-radius, radius + 1)
                if max(abs(dc), abs(dr)) == radius
            ]
            free = [
                (abs(c - col) + abs(r - row), r, c)
                for c, r in ring
                if 0 <= c < COLUMNS and 0 <= r < ROWS and (c, r) not in taken
            ]
            if free:
                _, r, c = min(free)
                best = (c, r)
                break
        assert best is not None
        taken[best] = code
        placed[code] = best
    return placed
