"""One small simulated case end to end, pinned byte for byte.

The simulation, ingest and analysis are deterministic for a seed, so a refactoring of any of
them must leave these digests unchanged. A digest that changes on purpose (a new column, a
new rule) is re-pinned in the same commit, with the reason in its message.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safelight.network.pipeline import analyze_case, ingest
from safelight.network.simulate import simulate
from safelight.store import Database

# sha256 over the simulation's files (geo.mmdb aside: it stamps its build time) and over each
# report (by IP, by peer): report.json less its generated_at and geolocation build date, then
# every CSV.
SIMULATION_DIGEST = "1e2de644080fe61cd51fc35dba6179d0d03ad7f1acfcb4460a789eeabcab25b1"
REPORT_DIGEST = "72b9e60fc13fe755a25d42f26a76a2b6fec23e4275a0e2284c193a605db844df"
# sha256 over each report.html, its generation time and geolocation build date blanked.
HTML_DIGEST = "560741fb5732289e534ec1f32146cabf83c82a5d0319dff622a18b3421c715d2"


def _digest(parts: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in parts:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def _report_without_clock(path: Path) -> bytes:
    report = json.loads(path.read_text())
    del report["generated_at"]
    report["sources"]["geolocation"].pop("date", None)
    return json.dumps(report, sort_keys=True).encode()


def _html_without_clock(out: Path) -> bytes:
    report = json.loads((out / "report.json").read_text())
    html = (out / "report.html").read_text()
    html = html.replace(report["generated_at"], "GENERATED")
    date = report["sources"]["geolocation"].get("date")
    return (html.replace(date, "DATE") if date else html).encode()


def test_a_small_case_gives_the_pinned_outputs(tmp_path: Path) -> None:
    sim = tmp_path / "sim" / "s.csv"
    simulate(sim, connections=300, countries=6, groups=4, files=240, seed=7)
    sim_files = sorted(p for p in sim.parent.iterdir() if p.name != "geo.mmdb")
    simulation = _digest([(p.name, p.read_bytes()) for p in sim_files])

    home = tmp_path / "home"
    db = Database.open(f"sqlite:///{home / 'store.db'}")
    try:
        ingest(db, "pin", [sim], list_files=[sim.parent / "known.csv"], home=home)
        geo = [sim.parent / "geo.mmdb"]
        analyze_case(db, "pin", tmp_path / "ip", geo_paths=geo, home=home)
        # Peer mode: connections merge IPs, and the dictionary holds keys no edge uses.
        analyze_case(db, "pin", tmp_path / "peer", mode="peer", geo_paths=geo, home=home)
    finally:
        db.dispose()
    parts: list[tuple[str, bytes]] = []
    for out in (tmp_path / "ip", tmp_path / "peer"):
        parts.append((f"{out.name}/report.json", _report_without_clock(out / "report.json")))
        csvs = sorted(out.rglob("*.csv"))
        assert len(csvs) > 10
        parts += [(str(p.relative_to(tmp_path)), p.read_bytes()) for p in csvs]
    html = _digest(
        [(out.name, _html_without_clock(out)) for out in (tmp_path / "ip", tmp_path / "peer")]
    )
    assert (simulation, _digest(parts), html) == (SIMULATION_DIGEST, REPORT_DIGEST, HTML_DIGEST)
