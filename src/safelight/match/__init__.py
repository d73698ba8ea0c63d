"""Matching hashes and files against the hash lists (``safelight match``); docs/match.md."""

from safelight.match.indexes import IndexSync, index_root
from safelight.match.matcher import Match, Matcher, QueryResult

__all__ = ["IndexSync", "Match", "Matcher", "QueryResult", "index_root"]
