"""Charts drawn on the server as inline SVG: no script, no CDN, no external font or image.

Two shapes cover the metrics page: columns per category (months along the bottom) and bars
per category (countries, networks down the side), each with one or more series side by
side. Every chart is an image with a name and a description for assistive technology
(``role="img"``, ``aria-labelledby`` its ``<title>`` and ``<desc>``); every bar carries its
own ``<title>`` (category, series and value, as a tooltip); the page shows the same numbers
in a table beside it. Colours differ from white by at least 3:1 (WCAG 2.1, 1.4.11) and the
series are told apart by the legend's words, not by colour alone.

Text is escaped here (``html.escape``), so callers pass plain strings; numbers are written
by the caller's ``fmt`` (the reader's locale).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# Blue, dark orange, green: 7.6:1, 4.6:1 and 5.4:1 against white.
PALETTE = ("#0a4fa8", "#b35c00", "#1b7837")
FONT = 'font-family="system-ui, Noto Sans, Noto Sans CJK JP, sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per category; None: nothing to draw


@dataclass(frozen=True)
class Chart:
    chart_id: str  # unique on the page: the ids of its title and description derive from it
    title: str
    description: str
    categories: Sequence[str]
    series: Sequence[Series]
    fmt: Callable[[float], str]  # a value as the reader writes it
    no_data: str  # what the chart says when there is nothing to draw
    integers: bool = False  # counts: ticks at whole numbers only
    # the axis reaches at least this far: values far smaller than the unit the reader
    # thinks in (minutes, on an axis of days) would get ticks that all read "0"
    least_top: float = 0.0


def nice_ceiling(value: float, *, integers: bool = False) -> tuple[float, float]:
    """An axis top at or above ``value`` and its tick step (1, 2 or 5 times a power of
    ten, four to ten steps; for ``integers`` a whole step, so fewer steps for small tops)."""
    if value <= 0:
        return (1.0, 1.0) if integers else (1.0, 0.25)
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0):
        step = factor * magnitude
        if value / step <= 10:
            break
    else:  # pragma: no cover - 10 x magnitude always covers value
        step = 10 * magnitude
    if integers:
        step = max(step, 1.0)
    top = round(math.ceil(value / step - 1e-9) * step, 9)  # no 0.30000000000000004
    while top / step < 4 and not (integers and step <= 1):
        step /= 2
    return top, step


def columns(chart: Chart, *, width: int = 760, height: int = 300) -> Markup:
    """Vertical columns: categories along the bottom (months), series side by side."""
    left, right, top, bottom = 56, 12, 40, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in chart.series for v in s.values if v is not None]
    parts = _open(chart, width, height)
    parts += _legend(chart, left, 18)
    if not values:
        parts.append(_text(left + plot_w / 2, top + plot_h / 2, chart.no_data, anchor="middle"))
        return _close(parts)
    peak, step = nice_ceiling(max(*values, chart.least_top), integers=chart.integers)
    parts += _value_grid(chart, left, top, plot_w, plot_h, peak, step)
    slot = plot_w / max(len(chart.categories), 1)
    bar = min(28.0, slot * 0.8 / max(len(chart.series), 1))
    label_every = max(1, math.ceil(len(chart.categories) * 56 / plot_w))
    for index, category in enumerate(chart.categories):
        x0 = left + index * slot + (slot - bar * len(chart.series)) / 2
        for number, series in enumerate(chart.series):
            value = series.values[index]
            if value is None:
                continue
            h = plot_h * value / peak
            parts.append(
                _rect(
                    x0 + number * bar,
                    top + plot_h - h,
                    bar - 1,
                    h,
                    number,
                    f"{category}, {series.name}: {chart.fmt(value)}",
                )
            )
        if index % label_every == 0:
            parts.append(
                _text(left + index * slot + slot / 2, top + plot_h + 18, category, anchor="middle")
            )
    parts.append(_line(left, top + plot_h, left + plot_w, top + plot_h))
    return _close(parts)


def bars(chart: Chart, *, width: int = 760, row: int = 32) -> Markup:
    """Horizontal bars: categories down the side (countries, networks), series stacked
    within each category's row."""
    left, right, top = 190, 70, 40
    height = top + max(len(chart.categories), 1) * row + 34
    plot_w = width - left - right
    values = [v for s in chart.series for v in s.values if v is not None]
    parts = _open(chart, width, height)
    parts += _legend(chart, 8, 18)
    if not values:
        parts.append(_text(width / 2, top + row / 2 + 4, chart.no_data, anchor="middle"))
        return _close(parts)
    peak, step = nice_ceiling(max(*values, chart.least_top), integers=chart.integers)
    thick = (row - 6) / max(len(chart.series), 1)
    for index, category in enumerate(chart.categories):
        y0 = top + index * row + 3
        parts.append(_text(left - 8, y0 + row / 2, _short(category, 28), anchor="end"))
        for number, series in enumerate(chart.series):
            value = series.values[index]
            if value is None:
                continue
            w = plot_w * value / peak
            y = y0 + number * thick
            parts.append(
                _rect(
                    left, y, w, thick - 1, number, f"{category}, {series.name}: {chart.fmt(value)}"
                )
            )
            parts.append(_text(left + w + 4, y + thick - 3, chart.fmt(value), size=11))
    axis_y = top + len(chart.categories) * row + 4
    parts.append(_line(left, top, left, axis_y))
    tick = 0.0
    while tick <= peak + 1e-9:
        x = left + plot_w * tick / peak
        parts.append(_line(x, axis_y, x, axis_y + 4))
        parts.append(_text(x, axis_y + 18, chart.fmt(tick), anchor="middle", size=11))
        tick += step
    return _close(parts)


def _open(chart: Chart, width: int, height: int) -> list[str]:
    title_id, desc_id = f"{chart.chart_id}-title", f"{chart.chart_id}-desc"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{title_id} {desc_id}" '
        f'id="{escape(chart.chart_id)}" class="chart" {FONT} font-size="12" '
        'style="max-width: 100%; height: auto; display: block">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(chart.description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def _close(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("\n".join(parts))  # every text part went through escape


def _legend(chart: Chart, x: float, y: float) -> list[str]:
    parts = []
    for number, series in enumerate(chart.series):
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" '
            f'fill="{PALETTE[number % len(PALETTE)]}"/>'
        )
        parts.append(_text(x + 16, y, series.name))
        x += 36 + _width(series.name)
    return parts


def _value_grid(
    chart: Chart, left: float, top: float, plot_w: float, plot_h: float, peak: float, step: float
) -> list[str]:
    parts = []
    tick = 0.0
    while tick <= peak + 1e-9:
        y = top + plot_h - plot_h * tick / peak
        parts.append(_line(left, y, left + plot_w, y, colour="#d0d0d0"))
        parts.append(_text(left - 6, y + 4, chart.fmt(tick), anchor="end", size=11))
        tick += step
    return parts


def _rect(x: float, y: float, w: float, h: float, number: int, label: str) -> str:
    colour = PALETTE[number % len(PALETTE)]
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{max(h, 0.0):.1f}" '
        f'fill="{colour}"><title>{escape(label)}</title></rect>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, *, colour: str = "#4a4a4a") -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
        'stroke-width="1"/>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="#1b1b1b">{escape(text)}</text>'
    )


def _width(text: str, size: int = 12) -> float:
    """About how wide ``text`` is drawn: CJK and other wide characters take a full em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
