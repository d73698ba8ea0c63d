"""Server-drawn SVG charts (safelight.hotline.charts): accessible, escaped, to scale."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from safelight.hotline.charts import Chart, Series, bars, columns, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def chart(categories: list[str], *series: Series, integers: bool = True) -> Chart:
    return Chart(
        chart_id="chart-x",
        title="Items <by> month",
        description="2 rows & a table",
        categories=categories,
        series=series,
        fmt=lambda value: f"{value:g}",
        no_data="Nothing to show",
        integers=integers,
    )


def test_a_chart_is_a_named_described_image_with_escaped_text() -> None:
    drawn = str(
        columns(
            chart(
                ["2025-01", "<script>alert(1)</script>"],
                Series("Illegal", [4, 2]),
                Series("Removed & gone", [3, None]),
            )
        )
    )
    root = ET.fromstring(drawn)  # well-formed XML: every text was escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "chart-x-title chart-x-desc"
    assert root.find(f"{SVG}title").text == "Items <by> month"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "2 rows & a table"  # type: ignore[union-attr]
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    bars_drawn = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [r.find(f"{SVG}title").text for r in bars_drawn] == [  # type: ignore[union-attr]
        "2025-01, Illegal: 4",
        "2025-01, Removed & gone: 3",
        "<script>alert(1)</script>, Illegal: 2",
    ]
    heights = [float(r.get("height", 0)) for r in bars_drawn]
    assert heights[0] / heights[1] == 4 / 3 and heights[0] / heights[2] == 2  # to scale
    assert "http" not in drawn.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched


def test_bars_are_to_scale_and_labelled() -> None:
    drawn = bars(chart(["Germany (DE)", "unknown"], Series("Illegal", [10, 5])))
    root = ET.fromstring(str(drawn))
    widths = [
        float(r.get("width", 0))
        for r in root.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    ]
    assert widths[0] == 2 * widths[1]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Germany (DE)" in texts and "10" in texts


def test_an_empty_chart_says_so() -> None:
    for draw in (columns, bars):
        drawn = str(draw(chart([], Series("Illegal", []))))
        assert "Nothing to show" in drawn and 'role="img"' in drawn


@given(st.floats(min_value=1e-3, max_value=1e7, allow_nan=False), st.booleans())
def test_axis_tops_cover_the_data_in_round_steps(value: float, integers: bool) -> None:
    top, step = nice_ceiling(value, integers=integers)
    assert top >= value - 1e-9 and step > 0
    steps = top / step
    assert abs(steps - round(steps)) < 1e-6 and 1 <= round(steps) <= 10
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5))
    if integers:
        assert step >= 1 and step == int(step)
    else:
        assert round(steps) >= 4
    assert re.fullmatch(r"[0-9.e+-]+", repr(top))


def axis_labels(drawn: str) -> list[str]:
    root = ET.fromstring(drawn)
    return [str(t.text) for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]


def test_an_axis_of_days_reaches_a_day_when_every_time_is_minutes() -> None:
    """Removals minutes after the report: ticks 0.0001 apart would all read "0"."""
    minutes = Series("Median", [0.0007, None])
    days = chart(["2026-11", "2026-12"], minutes, integers=False)
    rounded = replace(days, fmt=lambda v: f"{round(v, 2):g}")
    assert set(axis_labels(str(columns(rounded)))) == {"0"}  # what the metrics page showed
    labels = axis_labels(str(columns(replace(rounded, least_top=1.0))))
    assert labels[0] == "0" and labels[-1] == "1" and len(set(labels)) == len(labels)
    longer = replace(rounded, series=[Series("Median", [2.25, 6.0])], least_top=1.0)
    assert axis_labels(str(columns(longer)))[-1] == "6"  # longer times: the axis as before
