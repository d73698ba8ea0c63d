"""Matching hashes and files against the hash lists (``safelight match``); docs/match.md.

The names below are imported on first use (PEP 562): ``safelight.cli`` imports
``safelight.match.commands`` for every command, and ``--help`` or ``safelight lists`` should
not pay for numba and the index kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safelight.match.indexes import IndexSync, index_root
    from safelight.match.matcher import Matcher, QueryResult
    from safelight.match.results import Match

__all__ = ["IndexSync", "Match", "Matcher", "QueryResult", "index_root"]

_HOMES = {
    "IndexSync": "safelight.match.indexes",
    "index_root": "safelight.match.indexes",
    "Match": "safelight.match.results",
    "Matcher": "safelight.match.matcher",
    "QueryResult": "safelight.match.matcher",
}


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
