"""``safelight demo``: a tour on benign generated data, step by step.

Each step is a function taking the output folder and an ``echo`` callable and returning what it
found, so tests can assert on results and later steps (scan, network) can be appended to
``run_demo`` without touching earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from safelight.demo.photos import PhotoDemo, run_photo_demo

Echo = Callable[[str], None]

__all__ = ["PhotoDemo", "run_demo", "run_photo_demo"]


def run_demo(out_dir: Path, echo: Echo = print) -> dict[str, object]:
    """Run every demo step into ``out_dir``; returns each step's result by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    results["photos"] = run_photo_demo(out_dir / "photos", echo=echo)
    return results
