"""Exact hash indexes: Hamming search for PDQ and exact lookup for MD5/SHA-1/SHA-256.

Both are index *directories* of memory-mapped, checksummed, immutable segment files plus an
atomically replaced manifest: cheap to open, updated without rebuilds, safe against crashes.
See docs/index-format.md for the format and docs/performance.md (## Index) for figures.
"""

from safelight.index.digest import DigestIndex
from safelight.index.directory import IndexStats
from safelight.index.hamming import HammingIndex, check_threshold
from safelight.index.hashes import array_to_hex, hex_to_array, parse_hex
from safelight.index.results import SearchResult

__all__ = [
    "DigestIndex",
    "HammingIndex",
    "IndexStats",
    "SearchResult",
    "array_to_hex",
    "check_threshold",
    "hex_to_array",
    "parse_hex",
]
