"""The benchmark-only packages (the ``bench`` extra) stay out of the library.

python-igraph is GPL: bench/network.py uses it as a community-detection baseline, and
Safelight must never import it (docs/performance.md). The others are only there to measure
against (python-threatexchange) or to make a corpus (scikit-image, scikit-learn).
"""

from __future__ import annotations

import ast
from pathlib import Path

import safelight

BENCH_ONLY = frozenset({"igraph", "leidenalg", "threatexchange", "skimage", "sklearn"})


def imported_roots(source: str) -> set[str]:
    """Top-level package names a module's source imports (absolute imports only)."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_imported_roots_sees_every_form_of_import() -> None:
    source = "import igraph\nimport a.b as c\nfrom sklearn.x import y\nfrom . import z\n"
    assert imported_roots(source) == {"igraph", "a", "sklearn"}


def test_the_library_imports_no_benchmark_only_package() -> None:
    package = Path(safelight.__file__).parent
    offenders = {
        str(path.relative_to(package)): sorted(imported_roots(path.read_text()) & BENCH_ONLY)
        for path in package.rglob("*.py")
    }
    assert len(offenders) > 50
    assert {path: names for path, names in offenders.items() if names} == {}
