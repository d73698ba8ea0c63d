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

    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    results["photos"] = run_photo_demo(out_dir / "photos", echo=echo)
    return results
