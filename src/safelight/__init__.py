"""Safelight: find known material by hash, trace its spread, and refer it to who can act.

The public API is small and typed; the CLI, and later the service, are fronts over it::

    import safelight

    record = safelight.hash_file("photo.jpg")              # PDQ, digests, vPDQ for videos
    with safelight.Database.open("sqlite:///store.db") as db:
        lists = safelight.HashListStore(db)
        lists.create("KNOWN", default_signal_type="sha256")
        matcher = safelight.Matcher.open(db)
        result = matcher.match_record(record)              # a QueryResult with its Matches

docs/api.md shows more; docs/model.md explains the model (signal types, records, lists,
indexes, matches). Names are imported on first use, so ``import safelight`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from safelight.errors import (
    ConflictError,
    IndexCorruptError,
    InputError,
    MediaError,
    NotFoundError,
    PermissionDeniedError,
    SafelightError,
    StoreError,
    UsageError,
    ValidationError,
)

if TYPE_CHECKING:
    from safelight.lists import HashList, HashListStore, ParseOptions
    from safelight.match import Match, Matcher, QueryResult
    from safelight.network.pipeline import analyze_case, ingest
    from safelight.scan import ScanOptions, ScanSummary, run_scan
    from safelight.signals.files import hash_bytes, hash_file
    from safelight.signals.options import HashOptions
    from safelight.signals.records import HashRecord
    from safelight.signals.types import SignalType, registry
    from safelight.store import Database

__version__ = "0.1.0"

# name -> the module that defines it (imported on first use: PEP 562).
_HOMES = {
    "Database": "safelight.store",
    "HashList": "safelight.lists",
    "HashListStore": "safelight.lists",
    "HashOptions": "safelight.signals.options",
    "HashRecord": "safelight.signals.records",
    "Match": "safelight.match",
    "Matcher": "safelight.match",
    "ParseOptions": "safelight.lists",
    "QueryResult": "safelight.match",
    "ScanOptions": "safelight.scan",
    "ScanSummary": "safelight.scan",
    "SignalType": "safelight.signals.types",
    "analyze_case": "safelight.network.pipeline",
    "hash_bytes": "safelight.signals.files",
    "hash_file": "safelight.signals.files",
    "ingest": "safelight.network.pipeline",
    "registry": "safelight.signals.types",
    "run_scan": "safelight.scan",
}

__all__ = [
    "ConflictError",
    "Database",
    "HashList",
    "HashListStore",
    "HashOptions",
    "HashRecord",
    "IndexCorruptError",
    "InputError",
    "Match",
    "Matcher",
    "MediaError",
    "NotFoundError",
    "ParseOptions",
    "PermissionDeniedError",
    "QueryResult",
    "SafelightError",
    "ScanOptions",
    "ScanSummary",
    "SignalType",
    "StoreError",
    "UsageError",
    "ValidationError",
    "__version__",
    "analyze_case",
    "hash_bytes",
    "hash_file",
    "ingest",
    "registry",
    "run_scan",
]


def __getattr__(name: str) -> Any:
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module 'safelight' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
