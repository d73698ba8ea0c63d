"""The manifest: which files make up an index directory at one generation.

It is a small JSON file, replaced atomically (write a temporary file, fsync, rename, fsync the
directory), and carries its own CRC-32 so a damaged manifest is refused, never half-read.
Readers notice a new generation by ``stat``-ing it (inode, size and mtime change on rename).
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from safelight.constants import INDEX_FORMAT_VERSION
from safelight.errors import IndexCorruptError
from safelight.index.fileformat import fsync_dir, temp_name
from safelight.index.segments import SegmentInfo

MANIFEST_NAME = "MANIFEST"
_FORMAT = "safelight-index-manifest"


@dataclass(frozen=True, slots=True)
class Manifest:
    """One generation of an index directory. ``segments[0]`` is the base, the rest deltas."""

    kind: str
    signal_type: str
    generation: int
    segments: tuple[SegmentInfo, ...]
    disabled: SegmentInfo | None = None
    removed: SegmentInfo | None = None
    # Delta files a running compaction is merging into a new base; writers leave them alone.
    compacting: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.segments)

    @property
    def files(self) -> set[str]:
        names = {s.file for s in self.segments}
        names.update(s.file for s in (self.disabled, self.removed) if s is not None)
        return names

    def next(self, **changes: Any) -> Manifest:
        return replace(self, generation=self.generation + 1, **changes)

    def to_json(self) -> dict[str, Any]:
        def info(s: SegmentInfo | None) -> dict[str, Any] | None:
            return None if s is None else s.to_json()

        return {
            "format": _FORMAT,
            "version": INDEX_FORMAT_VERSION,
            "kind": self.kind,
            "signal_type": self.signal_type,
            "generation": self.generation,
            "segments": [s.to_json() for s in self.segments],
            "disabled": info(self.disabled),
            "removed": info(self.removed),
            "compacting": list(self.compacting),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        def info(d: Any) -> SegmentInfo | None:
            return None if d is None else SegmentInfo.from_json(d)

        return cls(
            kind=str(data["kind"]),
            signal_type=str(data["signal_type"]),
            generation=int(data["generation"]),
            segments=tuple(SegmentInfo.from_json(s) for s in data["segments"]),
            disabled=info(data["disabled"]),
            removed=info(data["removed"]),
            compacting=tuple(str(f) for f in data["compacting"]),
            meta=dict(data["meta"]),
        )


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def encode(manifest: Manifest) -> bytes:
    body = manifest.to_json()
    return json.dumps({"body": body, "crc32": zlib.crc32(_canonical(body))}, indent=1).encode()


def decode(path: Path, raw: bytes) -> Manifest:
    """Parse and check a manifest; any damage raises ``IndexCorruptError``."""
    try:
        outer = json.loads(raw)
        body = outer["body"]
        if zlib.crc32(_canonical(body)) != outer["crc32"]:
            raise ValueError("checksum mismatch")
        if body.get("format") != _FORMAT:
            raise ValueError("not a Safelight index manifest")
        if body.get("version") != INDEX_FORMAT_VERSION:
            raise ValueError(
                f"format version {body.get('version')}, Safelight reads {INDEX_FORMAT_VERSION}"
            )
        manifest = Manifest.from_json(body)
        if not manifest.segments:
            raise ValueError("no base segment")
        return manifest
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexCorruptError(
            f"index manifest {path}: {exc}; rebuild the index from the store"
        ) from exc


def read(directory: Path) -> tuple[Manifest, tuple[int, int, int]]:
    """The current manifest and the stat key (inode, size, mtime) of the file it came from."""
    path = directory / MANIFEST_NAME
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        raw = handle.read()
    return decode(path, raw), (st.st_ino, st.st_size, st.st_mtime_ns)


def stat_key(directory: Path | str) -> tuple[int, int, int] | None:
    """The manifest's identity on disk (inode, size, mtime); None if it is missing.
    ``directory`` may be a str: readers check it before every search."""
    try:
        st = os.stat(os.path.join(directory, MANIFEST_NAME))
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def write(directory: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically and durably."""
    final = directory / MANIFEST_NAME
    tmp = temp_name(final)
    with open(tmp, "wb") as handle:
        handle.write(encode(manifest))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    fsync_dir(directory)
