"""A self-contained HTML report: inline CSS and SVG, no script, font or image fetched.

Sections: headline numbers, a tile-grid world map of connections by country, the daily
timeline, the group graph, the top leads, candidate files and the sources. Every value is
escaped; the page makes no request of any kind when opened.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np

from safelight.constants import NETWORK_TOP_LEADS
from safelight.network.worldgrid import COLUMNS, ROWS, grid

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f5f6f8;color:#1d2330}
header{background:#1d2b45;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.8}
main{padding:18px 28px;max-width:1340px}
.notice{background:#fff4d6;border:1px solid #e8c35c;padding:8px 12px;border-radius:6px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:130px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card b{display:block;font-size:26px;color:#1d2b45} .card span{color:#5b6475;font-size:12px}
section{background:#fff;border-radius:8px;padding:14px 18px;margin:14px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:16px;margin:0 0 10px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:4px 7px;border-bottom:1px solid #e6e8ee;text-align:left;white-space:nowrap}
th{background:#eef1f6} td.n{text-align:right;font-variant-numeric:tabular-nums}
.row{display:flex;gap:14px;flex-wrap:wrap} .row>section{flex:1;min-width:420px}
svg text{font-family:system-ui,sans-serif}
small{color:#5b6475}
"""
PLAIN_COLUMNS = ("asn", "connection", "file_key")
HEADLINE = (
    ("connections", "connections with known files"),
    ("countries", "countries"),
    ("groups", "groups"),
    ("known_files", "known files"),
    ("unknown_candidate_files", "unknown candidate files"),
    ("sightings", "sightings"),
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _color(value: float, top: float) -> str:
    if value <= 0 or top <= 0:
        return "#e4e7ee"
    t = math.log1p(value) / math.log1p(top)
    light = np.array([198, 219, 239])
    dark = np.array([8, 48, 107])
    r, g, b = (light + (dark - light) * t).astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def world_map(countries: list[dict[str, Any]]) -> str:
    cells = grid()
    counts = {str(r["country"]): int(r["connections"]) for r in countries}
    top = max(counts.values(), default=0)
    w, h = 32, 26
    parts = [
        f'<svg viewBox="0 0 {COLUMNS * w} {ROWS * h + 20}" width="100%" role="img" '
        'aria-label="connections by country">'
    ]
    for code, (col, row) in sorted(cells.items()):
        n = counts.get(code, 0)
        fill = _color(n, top)
        ink = "#fff" if n and n > top**0.5 else "#33415c"
        x, y = col * w, row * h
        parts.append(
            f"<g><title>{code}: {n:,} connections</title>"
            f'<rect x="{x + 1}" y="{y + 1}" width="{w - 2}" height="{h - 2}" rx="3" '
            f'fill="{fill}"/><text x="{x + w / 2}" y="{y + h / 2 + 4}" font-size="10" '
            f'text-anchor="middle" fill="{ink}">{code}</text></g>'
        )
    others = {c: n for c, n in counts.items() if c not in cells and n}
    note = ", ".join(f"{escape(c)}: {n:,}" for c, n in sorted(others.items()))
    parts.append(
        f'<text x="4" y="{ROWS * h + 14}" font-size="11" fill="#5b6475">'
        f"{'Not on the grid: ' + note if note else ''}</text></svg>"
    )
    return "".join(parts)


def timeline_svg(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><small>No sightings.</small></p>"
    width, height, pad = 620, 200, 34
    top = max(int(r["sightings"]) for r in rows) or 1
    bar = (width - pad - 8) / len(rows)
    parts = [
        f'<svg viewBox="0 0 {width} {height + 30}" width="100%" role="img" '
        'aria-label="sightings per day">'
    ]
    for i, r in enumerate(rows):
        x = pad + i * bar
        total_h = (height - 10) * int(r["sightings"]) / top
        known_h = (height - 10) * int(r["known_sightings"]) / top
        parts.append(
            f"<g><title>{escape(str(r['day']))}: {int(r['sightings']):,} sightings, "
            f"{int(r['known_sightings']):,} of known files</title>"
            f'<rect x="{x:.1f}" y="{height - total_h:.1f}" width="{max(bar - 1, 1):.1f}" '
            f'height="{total_h:.1f}" fill="#9ecae1"/>'
            f'<rect x="{x:.1f}" y="{height - known_h:.1f}" width="{max(bar - 1, 1):.1f}" '
            f'height="{known_h:.1f}" fill="#08519c"/></g>'
        )
    parts.append(
        f'<text x="{pad}" y="{height + 16}" font-size="11">{escape(str(rows[0]["day"]))}</text>'
        f'<text x="{width - 8}" y="{height + 16}" font-size="11" text-anchor="end">'
        f"{escape(str(rows[-1]['day']))}</text>"
        f'<text x="2" y="12" font-size="11">{top:,}</text>'
        f'<line x1="{pad}" y1="{height}" x2="{width - 8}" y2="{height}" stroke="#888"/>'
        f'<text x="{width - 8}" y="12" font-size="11" text-anchor="end" fill="#08519c">'
        "dark: known files</text></svg>"
    )
    return "".join(parts)


def _layout(n: int, links: list[tuple[int, int, float]], seed: int = 7) -> np.ndarray:
    """A small deterministic force layout (Fruchterman-Reingold) in the unit square."""
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2))
    if n <= 1:
        return np.full((n, 2), 0.5)
    k = 1.0 / math.sqrt(n)
    temp = 0.1
    for _ in range(200):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.linalg.norm(delta, axis=2) + 1e-9
        force = (delta / dist[..., None] * (k * k / dist)[..., None]).sum(axis=1)
        for a, b, w in links:
            d = pos[a] - pos[b]
            dd = np.linalg.norm(d) + 1e-9
            pull = d / dd * (dd * dd / k) * min(1.0, math.log1p(w))
            force[a] -= pull
            force[b] += pull
        length = np.linalg.norm(force, axis=1) + 1e-9
        pos += force / length[:, None] * np.minimum(length, temp)[:, None]
        pos = np.clip(pos, 0, 1)
        temp *= 0.98
    return pos


def group_graph_svg(graph: dict[str, list[dict[str, Any]]]) -> str:
    nodes = graph.get("nodes", [])
    if not nodes:
        return "<p><small>No groups: no two connections share a known file.</small></p>"
    index = {int(n["group"]): i for i, n in enumerate(nodes)}
    links = [
        (index[int(link["source"])], index[int(link["target"])], float(link["shared_files"]))
        for link in graph.get("links", [])
        if int(link["source"]) in index and int(link["target"]) in index
    ]
    pos = _layout(len(nodes), links)
    width, height, margin = 620, 380, 30
    xy = margin + pos * np.array([width - 2 * margin, height - 2 * margin])
    top = max(int(n["connections"]) for n in nodes)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="groups and the known files they share">'
    ]
    for a, b, w in links:
        parts.append(
            f'<line x1="{xy[a, 0]:.1f}" y1="{xy[a, 1]:.1f}" x2="{xy[b, 0]:.1f}" '
            f'y2="{xy[b, 1]:.1f}" stroke="#9aa5b8" stroke-width="{min(1 + math.log1p(w), 6):.1f}"'
            f' opacity=".6"><title>{int(w)} shared known files</title></line>'
        )
    for i, node in enumerate(nodes):
        r = 6 + 22 * math.sqrt(int(node["connections"]) / top)
        parts.append(
            f"<g><title>group {int(node['group'])}: {int(node['connections']):,} connections, "
            f"{int(node['known_files']):,} known files, mostly {escape(str(node['country']))}"
            f'</title><circle cx="{xy[i, 0]:.1f}" cy="{xy[i, 1]:.1f}" r="{r:.1f}" '
            f'fill="#3182bd" fill-opacity=".8" stroke="#08306b"/>'
            f'<text x="{xy[i, 0]:.1f}" y="{xy[i, 1] + 4:.1f}" font-size="10" fill="#fff" '
            f'text-anchor="middle">{int(node["group"])}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def table_html(rows: list[dict[str, Any]], columns: list[str], limit: int) -> str:
    if not rows:
        return "<p><small>None.</small></p>"
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for r in rows[:limit]:
        cells = []
        for c in columns:
            v = r.get(c)
            cls = ' class="n"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
            text = escape(str(v)) if c in PLAIN_COLUMNS else _fmt(v)
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


LEAD_COLUMNS = [
    "rank",
    "connection",
    "country",
    "asn",
    "client",
    "known_files",
    "known_sightings",
    "unknown_files",
    "first_seen",
    "last_seen",
    "group",
    "share_of_group_files",
    "pagerank",
    "removal_step",
]


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page: header, summary, map and charts, tables, sources."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Safelight network report: {escape(report["case"])}</title><style>{CSS}</style></head>
<body>{_header(report)}
<main>{_summary(report)}
{_charts(report)}
{_tables(report)}
{_sources(report)}</main></body></html>
"""


def _header(report: dict[str, Any]) -> str:
    h = report["headline"]
    return f"""<header><h1>Distribution network: {escape(report["case"])}</h1>
<p>{_fmt(h.get("first_seen"))} to {_fmt(h.get("last_seen"))} &middot; entity:
{escape(report["entity_mode"])} &middot; group resolution {_fmt(report.get("resolution", 1.0))}
&middot; generated {escape(report["generated_at"])}</p></header>"""


def _summary(report: dict[str, Any]) -> str:
    """The notice, any notes, the headline cards and the headline in a sentence."""
    h = report["headline"]
    cards = "".join(
        f'<div class="card" data-key="{key}"><b>{_fmt(h.get(key, 0))}</b>'
        f"<span>{escape(label)}</span></div>"
        for key, label in HEADLINE
    )
    notes = "".join(
        f'<p class="notice note">{escape(note)}</p>' for note in report.get("notes", [])
    )
    return f"""<p class="notice">{escape(report["notice"])}</p>
{notes}
<div class="cards">{cards}</div>
<p>A network of <b>{_fmt(h.get("connections"))}</b> internet connections in
<b>{_fmt(h.get("countries"))}</b> countries, exchanging known files in
<b>{_fmt(h.get("groups"))}</b> groups ({_fmt(h.get("components"))} connected components,
modularity {_fmt(h.get("modularity"))}); {_fmt(h.get("connections_total"))} connections seen
in all, {_fmt(h.get("countries_unknown_connections"))} of them in the network without a
known country.</p>"""


def _charts(report: dict[str, Any]) -> str:
    graph = report["group_graph"]
    world = world_map(report.get("countries", []))
    days = timeline_svg(report.get("timeline", []))
    return f"""<section><h2>Connections by country</h2>{world}</section>
<div class="row"><section><h2>Sightings per day</h2>{days}
</section><section><h2>Groups (largest {len(graph.get("nodes", []))}),
linked by shared known files</h2>{group_graph_svg(graph)}</section></div>"""


def _tables(report: dict[str, Any]) -> str:
    def table(name: str, columns: list[str], limit: int) -> str:
        return table_html(report.get(name, []), columns, limit)

    breakdown = ["connections", "connections_total", "sightings"]
    leads = table("leads", LEAD_COLUMNS, NETWORK_TOP_LEADS)
    removal = table(
        "removal",
        ["step", "connection", "files_lost", "known_files_available", "share_available"],
        20,
    )
    candidates = table("candidates", ["file_key", "holders_with_known", "holders", "sightings"], 20)
    countries = table("countries", ["country", *breakdown], 25)
    clients = table("clients", ["client", *breakdown], 25)
    asns = table("asns", ["asn", *breakdown], 25)
    return f"""<section><h2>Top leads</h2>{leads}
</section>
<div class="row"><section><h2>Removal impact</h2><small>Connections taken offline one by one,
each the one whose loss makes most known files unavailable.</small>
{removal}</section>
<section><h2>Unknown files shared with known material (for review)</h2>
{candidates}</section></div>
<div class="row"><section><h2>Countries</h2>{countries}</section>
<section><h2>Clients</h2>{clients}</section>
<section><h2>Networks (ASN)</h2>{asns}</section></div>"""


def _sources(report: dict[str, Any]) -> str:
    geo = report["sources"]["geolocation"]
    attribution = escape(geo.get("attribution", ""))
    if "db-ip.com" in attribution.lower():
        attribution = '<a href="https://db-ip.com">IP Geolocation by DB-IP</a> (CC BY 4.0)'
    date = ("&middot; " + escape(geo["date"])) if geo.get("date") else ""
    tables = ", ".join(escape(v) for v in report["tables"].values())
    return f"""<section><h2>Sources</h2><p>Geolocation: {escape(geo.get("name", ""))}
{date} &middot; {attribution}</p>
<p>Known material: {escape(str(report["sources"]["known_material"]))}</p>
<p><small>Full tables: {tables}.</small></p>
</section>"""
