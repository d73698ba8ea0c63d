"""Known material: which sighted files are on the chosen hash lists, and with which labels.

Network analysis needs one question answered about each distinct file: is it known, on which
lists, with which labels. ``KnownMaterial`` is that question as a small typed protocol, so the
analysis does not depend on how lists are stored. Two sources answer it, both through the
Matcher's index classes: the store's lists (``known_sources.StoreKnownMaterial``) and list
files (``list_files.ListFileMaterial``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

EXACT = ("md5", "sha1", "sha256")


@dataclass(frozen=True, slots=True)
class FileDigests:
    """Every digest seen for one file; ``key`` is the file's id in the analysis."""

    key: str
    md5: str = ""
    sha1: str = ""
    sha256: str = ""
    pdq: str = ""


@dataclass(frozen=True, slots=True)
class KnownMatch:
    lists: tuple[str, ...]
    labels: tuple[str, ...]


class KnownMaterial(Protocol):
    """Looks files up on hash lists. ``description`` says which lists, for reports."""

    description: str

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        """file key -> match, for the files that are known; unknown files are absent."""
        ...


class NoKnownMaterial:
    """No lists chosen or none exist: nothing is known, and reports say so."""

    description = "no hash lists: every file counts as unknown"

    def lookup(self, files: Sequence[FileDigests]) -> dict[str, KnownMatch]:
        return {}


def file_columns(files: Sequence[FileDigests]) -> list[list[str]]:
    """FileDigests as columns: key, md5, sha1, sha256, pdq (the order of ``lookup_columns``)."""
    return [[getattr(f, name) for f in files] for name in ("key", *EXACT, "pdq")]


def lookup_columns(known: KnownMaterial, columns: Sequence[Sequence[str]]) -> dict[str, KnownMatch]:
    """``known.lookup`` over files given as columns (key, md5, sha1, sha256, pdq): a source
    with its own ``lookup_columns`` (the in-memory matcher, a combination holding one) takes
    the columns as they are; other sources get FileDigests."""
    by_columns = getattr(known, "lookup_columns", None)
    if by_columns is not None:
        found: dict[str, KnownMatch] = by_columns(*columns)
        return found
    return known.lookup([FileDigests(*values) for values in zip(*columns, strict=True)])
