"""Signals for one item: the photo/video pipeline (``safelight.signals.files``) behind the
``ItemHasher`` seam the scan is built around.

Digests always; PDQ and its quality for photos; vPDQ frame features for videos. The pipeline
records every failure in the record, never raises, so a scan goes on past any bad item.
"""

from __future__ import annotations

import json
from typing import Protocol

from safelight.scan.model import HashRecord
from safelight.signals import files
from safelight.signals import records as signal_records
from safelight.signals.options import HashOptions


class ItemHasher(Protocol):
    def hash_bytes(self, data: bytes, name: str) -> HashRecord:
        """Signals of ``data``; ``name`` (the logical path) labels it in messages."""
        ...

    def hash_file(self, path: str, name: str) -> HashRecord:
        """Signals of the local file at ``path`` (read once, streamed when large)."""
        ...


def from_signals(record: signal_records.HashRecord) -> HashRecord:
    """The scan's flat record from the pipeline's record."""
    vpdq = None
    if record.vpdq is not None:
        frames = [
            {"frame": v.frame, "timestamp": v.timestamp, "pdq": v.pdq, "quality": v.quality}
            for v in record.vpdq
        ]
        vpdq = json.dumps(frames, separators=(",", ":"))
    return HashRecord(
        size=record.size or 0,
        md5=record.digests.get("md5"),
        sha1=record.digests.get("sha1"),
        sha256=record.digests.get("sha256"),
        media=record.media,
        format=record.format,
        pdq=record.pdq.hex if record.pdq else None,
        quality=record.pdq.quality if record.pdq else None,
        vpdq=vpdq,
        error=record.error,
    )


class PipelineHasher:
    """``safelight.signals.files`` with the scan's options (``mode`` "default" unless told)."""

    def __init__(self, options: HashOptions | None = None) -> None:
        self.options = options or HashOptions()

    def hash_bytes(self, data: bytes, name: str) -> HashRecord:
        return from_signals(files.hash_bytes(data, name, self.options))

    def hash_file(self, path: str, name: str) -> HashRecord:
        return from_signals(files.hash_file(path, self.options))
