"""``safelight demo``: the guided tour on generated, benign data."""

from __future__ import annotations

from pathlib import Path

import click

from safelight.cli_options import out_option
from safelight.demo import run_demo


@click.command("demo")
@out_option(
    folder=True,
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the generated files.",
)
def demo_command(out: Path) -> None:
    """Run the pipeline on benign generated data: hash photos, scan a corpus against a demo
    list, analyze a simulated distribution network, and seed a demo hotline workspace."""
    run_demo(out, echo=click.echo)
