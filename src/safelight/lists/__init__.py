"""Hash lists ("banks"): named sets of hashes with labels and provenance.

``HashListStore`` is the API: create, import, export, enable/disable, and the streaming
queries indexes build from. See docs/lists.md.
"""

from safelight.lists.models import (
    Entry,
    HashList,
    ImportInfo,
    ImportReport,
    IndexEntry,
    ListSummary,
    Problem,
)
from safelight.lists.records import ParseOptions, parse_column_map
from safelight.lists.store import (
    FOREVER,
    HashListStore,
    ListDisabledError,
    ListNotFoundError,
    PastTimeError,
)

__all__ = [
    "FOREVER",
    "Entry",
    "HashList",
    "HashListStore",
    "ImportInfo",
    "ImportReport",
    "IndexEntry",
    "ListDisabledError",
    "ListNotFoundError",
    "ListSummary",
    "ParseOptions",
    "PastTimeError",
    "Problem",
    "parse_column_map",
]
