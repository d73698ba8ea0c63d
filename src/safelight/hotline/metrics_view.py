"""The metrics page's tables and charts, worded and formatted for the reader.

Every chart is drawn from the same rows as the table below it (``safelight.hotline.charts``
draws it as inline SVG); the CSV download holds those rows unformatted.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import format_decimal, format_percent
from markupsafe import Markup

from safelight.hotline.charts import Chart, Series, bars, columns
from safelight.hotline.i18n import babel_locale, format_number, translations
from safelight.hotline.messages_routing import (
    ALL_ITEMS,
    CHART_SUMMARY,
    CHARTS,
    COLUMNS,
    NO_DATA,
    SERIES,
    SHARE_CELL,
    TABLES,
    UNKNOWN,
)
from safelight.hotline.metrics import UNKNOWN as UNKNOWN_KEY
from safelight.hotline.metrics import Figures, Metrics
from safelight.hotline.routing_view import country_name

KEY_COLUMNS = {"months": "month", "countries": "country", "networks": "network"}
CHART_ROWS = 15  # bars per country or network chart; the table lists every row


def days(value: float | None, language: str) -> str:
    if value is None:
        return "—"
    # half up, as people round (2.25 days shows 2.3), not the banker's half to even
    tenths = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return format_decimal(tenths, format="#,##0.0", locale=babel_locale(language))


def key_label(table: str, key: str, language: str) -> str:
    gettext = translations(language).gettext
    if key == UNKNOWN_KEY:
        return gettext(UNKNOWN)
    if key == "all":
        return gettext(ALL_ITEMS)
    return country_name(key, language) if table == "countries" else key


def share_cell(row: Figures, window: int, language: str) -> str:
    share = row.within[window]
    if share.value is None:
        return "—"
    gettext = translations(language).gettext
    return gettext(SHARE_CELL) % {
        "share": format_percent(share.value, locale=babel_locale(language)),
        "removed": format_number(share.removed, language),
        "counted": format_number(share.counted, language),
    }


def table_cells(table: str, row: Figures, language: str) -> list[str]:
    return [
        key_label(table, row.key, language),
        *(
            format_number(n, language)
            for n in (row.reports, row.items, row.illegal, row.removed, row.still_online)
        ),
        days(row.median_days, language),
        days(row.p90_days, language),
        share_cell(row, 3, language),
        share_cell(row, 7, language),
    ]


def headers(table: str, language: str) -> list[str]:
    gettext = translations(language).gettext
    names = [KEY_COLUMNS.get(table, "month"), "reports", "items", "illegal", "removed"]
    names += ["still_online", "median_days", "p90_days", "within_3", "within_7"]
    return [gettext(COLUMNS[name]) for name in names]


def metrics_tables(metrics: Metrics, language: str) -> list[dict[str, Any]]:
    gettext = translations(language).gettext
    out = [
        {
            "name": "total",
            "title": gettext(ALL_ITEMS),
            "headers": headers("total", language)[1:],
            "rows": [table_cells("total", metrics.total, language)[1:]],
            "csv": None,
        }
    ]
    for name in Metrics.TABLES:
        out.append(
            {
                "name": name,
                "title": gettext(TABLES[name]),
                "headers": headers(name, language),
                "rows": [table_cells(name, row, language) for row in metrics.table(name)],
                "csv": name,
            }
        )
    return out


def charts_of(metrics: Metrics, language: str) -> list[dict[str, Any]]:
    """(table it belongs to, SVG) for each chart."""
    gettext = translations(language).gettext
    locale = babel_locale(language)

    def count(value: float) -> str:
        return format_decimal(value, format="#,##0.##", locale=locale)

    def percent(value: float) -> str:
        return format_decimal(value, format="#,##0", locale=locale) + "%"

    def chart(key: str, rows: list[Figures], table: str, series: list[Series], fmt: Any) -> Chart:
        integers = fmt is count and key != "times"
        summary = gettext(CHART_SUMMARY) % {"rows": format_number(len(rows), language)}
        return Chart(
            chart_id=f"chart-{key}",
            title=gettext(CHARTS[key]),
            description=summary,
            categories=[key_label(table, row.key, language) for row in rows],
            series=series,
            fmt=fmt,
            no_data=gettext(NO_DATA),
            integers=integers,
            least_top=1.0 if key == "times" else 0.0,  # days: an axis of at least one day
        )

    months = metrics.months
    volume = [
        Series(gettext(SERIES["illegal"]), [row.illegal for row in months]),
        Series(gettext(SERIES["removed"]), [row.removed for row in months]),
    ]
    times = [
        Series(gettext(SERIES["median"]), [row.median_days for row in months]),
        Series(gettext(SERIES["p90"]), [row.p90_days for row in months]),
    ]
    shares = [
        Series(gettext(SERIES[f"within_{n}"]), [_percent(row, n) for row in months]) for n in (3, 7)
    ]
    out: list[dict[str, Any]] = [
        {"table": "months", "svg": columns(chart("volume", months, "months", volume, count))},
        {"table": "months", "svg": columns(chart("times", months, "months", times, count))},
        {"table": "months", "svg": columns(chart("shares", months, "months", shares, percent))},
    ]
    for table in ("countries", "networks"):
        rows = metrics.table(table)[:CHART_ROWS]
        series = [
            Series(gettext(SERIES["illegal"]), [row.illegal for row in rows]),
            Series(gettext(SERIES["removed"]), [row.removed for row in rows]),
        ]
        svg: Markup = bars(chart(table, rows, table, series, count))
        out.append({"table": table, "svg": svg})
    return out


def _percent(row: Figures, window: int) -> float | None:
    value = row.within[window].value
    return None if value is None else value * 100
