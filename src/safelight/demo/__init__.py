"""``safelight demo``: a tour on benign generated data, step by step.

Each step is a function taking the output folder and an ``echo`` callable and returning what it
found, so tests can assert on results and later steps (scan, network) can be appended to
``run_demo`` without touching earlier ones. Steps import their heavy dependencies when they
run, so importing this package (the CLI does) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Echo = Callable[[str], None]


def run_demo(out_dir: Path, echo: Echo = print) -> dict[str, object]:
    """Run every demo step into ``out_dir``; returns each step's result by name."""
    from safelight.demo.photos import run_photo_demo
    from safelight.network.pipeline import run_demo_network
    from safelight.scan.demo import run_demo_scan

    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    results["photos"] = run_photo_demo(out_dir / "photos", echo=echo)

    echo("")
    echo("== Scan: a folder and nested archives against a demo hash list (the embedded store)")
    results["scan"] = run_demo_scan(out_dir / "scan", echo=echo)

    echo("")
    echo("== Network: simulated sighting logs to groups, countries and leads")
    headline = run_demo_network(out_dir / "network")
    for key, value in headline.items():
        echo(f"  {key}: {value}")
    report = out_dir / "network" / "report" / "report.html"
    echo(f"  report: {report} (open it in a browser; it works offline)")
    results["network"] = headline

    from safelight.demo.hotline import run_hotline_step
    from safelight.demo.serve_commands import run_serve_step

    echo("")
    echo("== Hotline: a demo analyst workspace in the store (placeholder reports and partners)")
    hotline = results["hotline"] = run_hotline_step(echo=echo)

    echo("")
    echo("== Serve: the demo store as a matching service (HMA-compatible routes) and workspace")
    results["serve"] = run_serve_step(echo=echo, hotline=hotline)
    return results
