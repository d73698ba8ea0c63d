"""The fuzz harnesses' committed seeds (and every crash found, kept as a seed) replay clean.

This runs without atheris: ``make test`` catches a regression on any input the fuzzers have
stored, and a harness that drifted from the code it drives fails here first.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fuzz import TARGETS

SEEDS = Path(__file__).resolve().parent.parent / "fuzz" / "seeds"
# "A few KB per target": seeds are tiny generated benign files, never real media.
MAX_SEED_BYTES_PER_TARGET = 16 * 1024

CASES = [(target, path.name) for target in TARGETS for path in sorted((SEEDS / target).iterdir())]


def test_every_target_has_small_seeds() -> None:
    for target in TARGETS:
        files = list((SEEDS / target).iterdir())
        assert files, f"no seeds for {target}: run python fuzz/run.py --make-seeds"
        assert sum(f.stat().st_size for f in files) <= MAX_SEED_BYTES_PER_TARGET, target


@pytest.mark.parametrize(("target", "seed"), CASES)
def test_seed_replays_without_a_crash(target: str, seed: str) -> None:
    harness = importlib.import_module(f"fuzz.{target}")
    harness.TestOneInput((SEEDS / target / seed).read_bytes())


def test_a_harness_fails_on_a_broken_promise(monkeypatch: pytest.MonkeyPatch) -> None:
    """The crash rule is not vacuous: a reader that loses a line, or an exception outside
    the error tree, fails the harness."""
    common = importlib.import_module("fuzz.common")
    lines = importlib.import_module("fuzz.lists_lines")
    monkeypatch.setattr(common, "read_records", lambda *args, **kwargs: iter(()))
    with pytest.raises(common.Crash):
        lines.TestOneInput(b"d41d8cd98f00b204e9800998ecf8427e\n")
    photo = importlib.import_module("fuzz.photo")

    def escapes(*args: object) -> None:
        raise ValueError("not from the error tree")

    monkeypatch.setattr(photo, "hash_photo", escapes)
    with pytest.raises(ValueError, match="not from the error tree"):
        photo.TestOneInput((SEEDS / "photo" / "png").read_bytes())


def test_the_numba_modules_are_found_by_scanning() -> None:
    """atheris must skip every module with compiled kernels; a hand-kept list had missed
    network.hashtables, and the network_logs harness died on its first input."""
    import ast

    from fuzz.run import ROOT, numba_modules

    found = numba_modules()
    assert {"safelight.network.hashtables", "safelight.index.kernels"} <= set(found)
    for path in (ROOT / "src" / "safelight").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        decorated = any(
            "jit" in ast.unparse(decorator)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            for decorator in node.decorator_list
        )
        name = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        assert not decorated or name in found, name


def test_outside_parsers_are_imported_only_under_instrumentation() -> None:
    """atheris instruments a module only when it is first imported inside the runner's
    ``instrument_imports``: one the runner (or atheris) loads earlier would be fuzzed blind."""
    import subprocess
    import sys

    run_py = Path(__file__).resolve().parent.parent / "fuzz" / "run.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('fuzz_run', {str(run_py)!r})\n"
        "run = importlib.util.module_from_spec(spec); spec.loader.exec_module(run)\n"
        "import atheris\n"
        "names = [n for ns in run.INSTRUMENT_ALSO.values() for n in ns]\n"
        "assert names, 'nothing to check'\n"
        "print(sorted(n for n in names if n in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
