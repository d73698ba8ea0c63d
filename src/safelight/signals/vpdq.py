"""vPDQ, Meta's video hash: a bag of per-frame PDQ hashes, and how two bags are matched.

A video's vPDQ hash is a list of ``VpdqFeature`` (one PDQ hash per sampled frame, with its
frame number, quality and timestamp); ``safelight.signals.video.hash_video`` computes it.
Matching ignores frame order (python-threatexchange ``vpdq_brute_matcher.py``): frames of
quality below the threshold are dropped on both sides, identical hashes are counted once,
and a frame matches when *any* frame on the other side is within the distance threshold.
The result is the share of unique query frames that found a match (``query_percent``) and
the share of unique compared frames that did (``compared_percent``).

Two choices, both settings:

* distance: ``<= VPDQ_MATCH_THRESHOLD`` (31), as python-threatexchange and HMA do and as the
  PDQ README defines a match. The C++ brute-force matcher (``matchTwoHash.cpp``) uses
  ``< tolerance`` and does not deduplicate; pass ``distance_threshold=30`` to get its
  distance rule.
* order: quality filter first, then deduplicate (python-threatexchange's index path,
  ``prepare_vpdq_feature``), so a hash whose first copy is low quality is still counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from safelight.constants import (
    VPDQ_COMPARED_MATCH_PERCENT,
    VPDQ_MATCH_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_QUERY_MATCH_PERCENT,
)
from safelight.signals.hashes import VpdqFeature as VpdqFeature  # the one frame shape

_HEX = re.compile(r"[0-9a-f]{64}")
# Rows of the distance matrix computed at once: bounds memory to ~this x 32 x other bytes.
_MATCH_CHUNK_ROWS = 512
_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


def _popcount_words(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.int32]:
    """Set bits per hash along the last axis (4 words); numpy >= 2 has a native popcount."""
    if hasattr(np, "bitwise_count"):
        counts: npt.NDArray[np.int32] = np.bitwise_count(words).sum(axis=-1, dtype=np.int32)
        return counts
    as_bytes = words.view(np.uint8)
    fallback: npt.NDArray[np.int32] = _BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=np.int32)
    return fallback


@dataclass(frozen=True, slots=True)
class VpdqMatch:
    """How much of each video the other one covers, in percent of unique reliable frames."""

    query_percent: float
    compared_percent: float
    matched: bool


def reliable_unique_hashes(
    features: Iterable[VpdqFeature], quality_threshold: int = VPDQ_QUALITY_THRESHOLD
) -> list[str]:
    """Hashes of frames with quality >= threshold, each distinct hash once, in frame order."""
    seen: dict[str, None] = {}
    for feature in features:
        if feature.quality >= quality_threshold:
            seen.setdefault(feature.pdq, None)
    return list(seen)


def _as_words(hashes: Sequence[str]) -> npt.NDArray[np.uint64]:
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hashes), dtype=">u8")
    words: npt.NDArray[np.uint64] = raw.astype(np.uint64).reshape(len(hashes), 4)
    return words


def _matched_rows(
    rows: npt.NDArray[np.uint64], columns: npt.NDArray[np.uint64], threshold: int
) -> npt.NDArray[np.bool_]:
    """For each row hash: is any column hash within ``threshold`` bits (inclusive)?"""
    found = np.zeros(len(rows), dtype=bool)
    for start in range(0, len(rows), _MATCH_CHUNK_ROWS):
        block = rows[start : start + _MATCH_CHUNK_ROWS, None, :] ^ columns[None, :, :]
        distances = _popcount_words(block)
        found[start : start + _MATCH_CHUNK_ROWS] = (distances <= threshold).any(axis=1)
    return found


def _decide(
    query_percent: float, compared_percent: float, query_min: float, compared_min: float
) -> VpdqMatch:
    matched = query_percent > 0 and query_percent >= query_min and compared_percent >= compared_min
    return VpdqMatch(query_percent, compared_percent, matched)


def match_vpdq(
    query: Iterable[VpdqFeature],
    compared: Iterable[VpdqFeature],
    *,
    distance_threshold: int = VPDQ_MATCH_THRESHOLD,
    quality_threshold: int = VPDQ_QUALITY_THRESHOLD,
    query_match_percent: float = VPDQ_QUERY_MATCH_PERCENT,
    compared_match_percent: float = VPDQ_COMPARED_MATCH_PERCENT,
) -> VpdqMatch:
    """Bag-of-frames match of two vPDQ hashes (see the module docstring for the rules).

    ``matched`` needs at least one matching frame and both percentages at or above their
    thresholds. With no reliable frame on either side both percentages are 0.
    """
    query_hashes = reliable_unique_hashes(query, quality_threshold)
    compared_hashes = reliable_unique_hashes(compared, quality_threshold)
    if not query_hashes or not compared_hashes:
        return VpdqMatch(0.0, 0.0, False)
    q_words, c_words = _as_words(query_hashes), _as_words(compared_hashes)
    query_hits = int(_matched_rows(q_words, c_words, distance_threshold).sum())
    compared_hits = int(_matched_rows(c_words, q_words, distance_threshold).sum())
    return _decide(
        query_hits * 100 / len(query_hashes),
        compared_hits * 100 / len(compared_hashes),
        query_match_percent,
        compared_match_percent,
    )
