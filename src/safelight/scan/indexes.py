"""Hash lists from the store as index directories a worker can open without the database.

The scanning process (which has the store) builds, per list and list generation, a directory
under ``$SAFELIGHT_HOME/indexes/scan/<LIST>/gen-<N>/``:

* ``pdq/``: a ``HammingIndex`` of the list's enabled PDQ entries;
* ``md5/``, ``sha1/``, ``sha256/``: ``DigestIndex`` es;
* ``vpdq.jsonl``: the enabled vPDQ entries (id and features), matched bag-of-frames;
* ``complete``: written last; a directory without it is rebuilt.

It is built in a temporary directory and renamed into place, so a crash never leaves a
half-built index that looks finished. Workers get an ``IndexSpec`` (list name, directory,
generation, threshold): small and picklable, and the key of their cache, so a new list
generation is picked up by every worker on its next task. On a cluster, SAFELIGHT_HOME must be
shared storage (the directories are memory-mapped by every worker).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safelight.constants import DIGEST_HEX_LENGTHS
from safelight.index import DigestIndex, HammingIndex
from safelight.lists import HashListStore
from safelight.store import Database

DIGEST_TYPES = tuple(DIGEST_HEX_LENGTHS)
COMPLETE_MARKER = "complete"


@dataclass(frozen=True, slots=True)
class IndexSpec:
    list_name: str
    directory: str
    generation: int
    pdq_threshold: int
    enabled: bool = True


def index_root(home: Path) -> Path:
    return home / "indexes" / "scan"


def prepare_indexes(db: Database, home: Path, names: list[str]) -> tuple[IndexSpec, ...]:
    """An up-to-date index directory for each named list (NotFoundError for unknown names)."""
    lists = HashListStore(db)
    specs = []
    for name in names:
        hash_list = lists.get(name)
        directory = index_root(home) / name / f"gen-{hash_list.generation}"
        if hash_list.enabled and not (directory / COMPLETE_MARKER).exists():
            _build(lists, name, directory)
        specs.append(
            IndexSpec(
                name,
                str(directory.resolve()),
                hash_list.generation,
                hash_list.pdq_threshold,
                hash_list.enabled,
            )
        )
    return tuple(specs)


def _build(lists: HashListStore, name: str, directory: Path) -> None:
    temporary = directory.with_name(f"{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    counts: dict[str, int] = {}
    pdq = list(lists.iter_entries([name], "pdq"))
    if pdq:
        HammingIndex.build(temporary / "pdq", [e.id for e in pdq], [e.value for e in pdq])
    counts["pdq"] = len(pdq)
    for signal_type in DIGEST_TYPES:
        entries = list(lists.iter_entries([name], signal_type))
        if entries:
            DigestIndex.build(
                temporary / signal_type,
                [e.id for e in entries],
                [e.value for e in entries],
                signal_type=signal_type,
            )
        counts[signal_type] = len(entries)
    videos = 0
    with open(temporary / "vpdq.jsonl", "w", encoding="utf-8") as out:
        for entry in lists.iter_entries([name], "vpdq"):
            out.write(json.dumps({"id": entry.id, "features": json.loads(entry.value)}) + "\n")
            videos += 1
    counts["vpdq"] = videos
    (temporary / COMPLETE_MARKER).write_text(json.dumps(counts) + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(temporary, directory)


def spec_to_dict(spec: IndexSpec) -> dict[str, Any]:
    return {
        "name": spec.list_name,
        "directory": spec.directory,
        "generation": spec.generation,
        "pdq_threshold": spec.pdq_threshold,
    }


def create_list(
    db: Database,
    name: str,
    entries: list[tuple[str, str, list[str]]],
    *,
    workdir: Path,
    description: str = "",
) -> None:
    """Create list ``name`` holding (type, value, labels) entries, through the normal import
    (a JSONL file in ``workdir``): for the demo, tests and benchmarks."""
    lists = HashListStore(db)
    lists.create(name, description=description)
    if not entries:
        return
    path = workdir / f"{name}.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for signal_type, value, labels in entries:
            out.write(json.dumps({"type": signal_type, "value": value, "labels": labels}) + "\n")
    lists.import_file(name, path, fmt="jsonl")


def vpdq_list_value(vpdq_json: str) -> str:
    """A list entry value (pytx vPDQ signal string) from a scanned video's ``vpdq`` JSON."""
    features = [
        f"{f['pdq']},{f['quality']},{float(f['timestamp']):.3f}" for f in json.loads(vpdq_json)
    ]
    return json.dumps(features)
