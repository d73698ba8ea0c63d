"""Test helpers that put known hashes into store lists through the normal import."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from safelight.lists import HashListStore
from safelight.signals.hashes import VpdqFeature
from safelight.store import Database


def create_list(
    db: Database,
    name: str,
    entries: list[tuple[str, str, list[str]]],
    *,
    workdir: Path,
    description: str = "",
) -> None:
    """Create list ``name`` holding (type, value, labels) entries, through the normal import
    (a JSONL file written in ``workdir``)."""
    lists = HashListStore(db)
    lists.create(name, description=description)
    if not entries:
        return
    path = workdir / f"{name}.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for signal_type, value, labels in entries:
            out.write(json.dumps({"type": signal_type, "value": value, "labels": labels}) + "\n")
    lists.import_file(name, path, fmt="jsonl")


def vpdq_list_value(frames: Iterable[VpdqFeature]) -> str:
    """A list entry value (pytx vPDQ signal string) from a hashed video's vPDQ frames."""
    features = [f"{f.pdq},{f.quality},{float(f.timestamp):.3f}" for f in frames]
    return json.dumps(features)
