"""The public API: ``safelight.__all__`` is what docs/api.md documents, every name resolves,
``import safelight`` stays cheap, and the page's example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import safelight

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_every_exported_name_resolves_and_is_documented() -> None:
    page = DOCS.read_text(encoding="utf-8")
    for name in safelight.__all__:
        assert getattr(safelight, name) is not None
        if name != "__version__" and not name.endswith("Error"):
            assert f"`{name}" in page or f" {name}(" in page or f"`{name}`" in page, name
    assert sorted(safelight.__all__) == safelight.__all__
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = safelight.nope  # type: ignore[attr-defined]


def test_import_safelight_loads_no_decoder_or_kernel() -> None:
    script = (
        "import sys, safelight\n"
        "print(sorted(m for m in ('numba', 'PIL', 'av', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_example_on_the_api_page_runs(tmp_path: Path) -> None:
    [example] = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)[:1]
    env = {**os.environ, "SAFELIGHT_HOME": str(tmp_path / "home")}
    env.pop("SAFELIGHT_DATABASE_URL", None)
    env.pop("SAFELIGHT_DATABASE_SCHEMA", None)
    done = subprocess.run(
        [sys.executable, "-c", example], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert '"list": "KNOWN_SHA"' in done.stdout.replace("'", '"')
    assert "sha256 exact 64" in done.stdout
