"""The summary for people: ``summary.pdf``, written with reportlab (BSD).

A headline, who sends it to whom and what it may carry, the sources, the timeline, the top
leads, files and reported URLs, and the fields withheld. The CSVs hold every row; the PDF
shows the first ``TOP_ROWS`` of each table and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

TOP_ROWS = 25
# Columns shown per table in the PDF (when carried), narrow enough for a landscape page.
SHOWN: dict[str, tuple[str, ...]] = {
    "leads": (
        "lead",
        "ip",
        "asn",
        "client",
        "known_files",
        "known_sightings",
        "first_seen",
        "last_seen",
        "group",
    ),
    "files": ("file", "source", "digest", "pdq", "lists", "labels", "holders"),
    "matches": ("file", "list", "signal_type", "distance", "labels"),
    "urls": (
        "item",
        "url",
        "ip",
        "asn",
        "classification",
        "reports",
        "reported_at",
        "assessed_at",
        "removed_at",
    ),
    "timeline": ("day", "source", "sightings", "known_sightings", "connections", "matched_files"),
}
_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _cell(value: Any, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _table(header: list[str], rows: list[list[Any]]) -> Table:
    # Digests and URLs whole or nearly (a recipient types them into a search or a browser);
    # other text cut to fit.
    widths = [72 if name in ("digest", "url") else 40 for name in header]
    cells = [[_cell(v, w) for v, w in zip(row, widths, strict=True)] for row in rows]
    table = Table([header, *cells], repeatRows=1, hAlign="LEFT")
    table.setStyle(_STYLE)
    return table


def write_summary(
    path: Path,
    document: dict[str, Any],
    tables: dict[str, tuple[list[str], list[dict[str, Any]]]],
) -> None:
    styles = getSampleStyleSheet()
    body, head = styles["BodyText"], styles["Heading2"]

    def para(text: str) -> Paragraph:
        return Paragraph(escape(text), body)

    recipient, sender = document["recipient"], document["sender"]
    story: list[Any] = [
        Paragraph(
            escape(f"Referral to {document['country']}: {_headline_text(document)}"),
            styles["Title"],
        ),
        para(
            f"Referral {document['referral_id']}, created {document['created_at']} by "
            f"{sender['organisation']} for a recipient of role {recipient['role']}."
        ),
        para(f"Signed with key {sender['key_fingerprint']}."),
        para(document["notice"]),
    ]
    if document["supersedes"]:
        sup = document["supersedes"]
        story.append(para(f"Supersedes referral {sup['referral_id']}: {sup['reason']}"))
    story += [Paragraph("Headline", head)]
    story.append(_table(["measure", "value"], [[k, v] for k, v in document["headline"].items()]))
    story += [Paragraph("Sources", head)]
    story.append(_table(["kind", "source"], [[s["kind"], s["name"]] for s in document["sources"]]))
    story += [Paragraph("Timeline", head)]
    events = [[e["at"], e["source"], e["event"]] for e in document["timeline"]]
    story.append(_table(["at", "source", "event"], events) if events else para("No events."))
    for name in ("leads", "files", "matches", "urls", "timeline"):
        columns, rows = tables[name]
        story.append(Paragraph(_title(name, len(rows)), head))
        if not rows:
            story.append(para("None."))
            continue
        if name == "timeline":
            story += _day_chart(rows)
        top = [_with_digest(row) for row in rows[:TOP_ROWS]]
        # Only the columns that hold something in the rows shown.
        shown = [c for c in SHOWN[name] if (c in columns or c == "digest") and _any(top, c)]
        story.append(_table(shown, [[row.get(c) for c in shown] for row in top]))
    withheld = [f for f in document["fields"] if not f["carried"]]
    story += [Paragraph("Fields withheld for this recipient", head)]
    story.append(
        _table(
            ["file", "column", "category"],
            [[f["file"], f["column"], f["category"]] for f in withheld],
        )
        if withheld
        else para("None: every field is carried.")
    )
    story.append(Spacer(1, 4 * mm))
    story.append(para("Every file of the package is listed with its SHA-256 in MANIFEST."))
    doc = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Safelight referral {document['referral_id']}",
        author=sender["organisation"],
        invariant=1,  # no random document id or time: the same input gives the same bytes
    )
    doc.build(story)


def _any(rows: list[dict[str, Any]], column: str) -> bool:
    return any(row.get(column) not in (None, "") for row in rows)


def _with_digest(row: dict[str, Any]) -> dict[str, Any]:
    """A file's strongest digest as ``type:hex`` (one column instead of three mostly empty)."""
    for name in ("sha256", "sha1", "md5"):
        if row.get(name):
            return {**row, "digest": f"{name}:{row[name]}"}
    return row


def _day_chart(rows: list[dict[str, Any]]) -> list[Any]:
    """Known sightings per day (network) as bars, every day of the table."""
    days = [r for r in rows if r.get("known_sightings") is not None]
    if len(days) < 2:
        return []
    drawing = Drawing(250 * mm, 45 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 8 * mm, 230 * mm, 33 * mm
    chart.data = [[int(r["known_sightings"]) for r in days]]
    chart.categoryAxis.categoryNames = [str(r["day"])[5:] for r in days]
    chart.categoryAxis.labels.fontSize = 5
    chart.categoryAxis.labels.angle = 90
    chart.categoryAxis.labels.dy = -8
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#52708f")
    drawing.add(chart)
    drawing.add(String(0, 42 * mm, "known sightings per day", fontSize=7))
    return [drawing]


def _title(name: str, count: int) -> str:
    label = {
        "timeline": "Days",
        "leads": "Leads",
        "files": "Files",
        "matches": "Matches",
        "urls": "Reported URLs",
    }[name]
    more = f" (first {TOP_ROWS} of {count}; all in {name}.csv)" if count > TOP_ROWS else ""
    return f"{label}: {count}{more}"


def _headline_text(document: dict[str, Any]) -> str:
    h = document["headline"]
    parts = []
    if h.get("connections"):
        parts.append(f"{h['connections']} connections")
    if h.get("known_files"):
        parts.append(f"{h['known_files']} known files in the network")
    if h.get("matched_files"):
        parts.append(f"{h['matched_files']} matched files from scans")
    if h.get("urls"):
        parts.append(f"{h['urls']} reported URLs assessed illegal")
    return ", ".join(parts) or "no items"
