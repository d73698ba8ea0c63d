"""Full checksums of large index segments, once per file version rather than on every open.

``HammingIndex.open``/``DigestIndex.open`` checksum every file of at most
``INDEX_FULL_VERIFY_BYTES`` in full, but larger ones (the base segment from about 640k PDQ
entries on) only by header, size and manifest: a flipped bit inside their data would be
served. ``safelight match`` must never serve a damaged index, and checksumming a 1 GB base
on every run costs ~0.4 s, so each large file is checksummed once per *version*: its
(name, size, inode, mtime_ns, ctime_ns) after a successful check is recorded in
``<type>.verified.json`` beside the index, and the check is repeated whenever any of those
change. Index files are immutable (a writer adds new files, never rewrites one), so a
changed stat means something other than Safelight touched the file: any write, truncation,
copy or replacement changes ``ctime``, which no user call can set back. What this cannot see
is decay that bypasses the filesystem (media bit rot under an unchanged inode): ``verify``
(``IndexSync.verify_all``) rereads everything for that.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from safelight.constants import INDEX_FULL_VERIFY_BYTES
from safelight.index.fileformat import SegmentFile

# Index files that carry checksummed sections (segments and id sets); see index-format.md.
_CHECKED_SUFFIXES = (".seg", ".ids")
Stamp = list[int]


def _stamp(stat: os.stat_result) -> Stamp:
    return [stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns]


def _read(record: Path) -> dict[str, Stamp]:
    """The recorded stamps; an unreadable or foreign record means nothing was verified."""
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, list)}


def _write(record: Path, stamps: dict[str, Stamp]) -> None:
    temporary = record.with_name(f".{record.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(json.dumps(stamps, sort_keys=True), encoding="utf-8")
        os.replace(temporary, record)
    finally:
        temporary.unlink(missing_ok=True)


def verify_large_files(directory: Path, record: Path, *, everything: bool = False) -> int:
    """Checksum every large index file in ``directory`` not verified in its current version
    (all of them with ``everything``); raises ``IndexCorruptError`` on a mismatch.

    Returns how many files were checksummed. Small files are left to the index's own open.
    """
    known = {} if everything else _read(record)
    stamps: dict[str, Stamp] = {}
    checked = 0
    for path in sorted(directory.iterdir()):
        if not path.name.endswith(_CHECKED_SUFFIXES) or path.name.startswith("."):
            continue
        try:
            before = path.stat()
        except FileNotFoundError:
            continue  # removed by a writer's clean-up since the listing
        if before.st_size <= INDEX_FULL_VERIFY_BYTES and not everything:
            continue
        stamp = _stamp(before)
        if known.get(path.name) != stamp:
            try:
                SegmentFile(path, verify=True)
            except FileNotFoundError:
                continue
            checked += 1
        stamps[path.name] = stamp
    if stamps != known:
        _write(record, stamps)
    return checked
