"""Signals for one item: the photo/video pipeline (``safelight.signals.files``) behind the
``ItemHasher`` seam the scan is built around.

Digests always; PDQ and its quality for photos; vPDQ frame features for videos. The pipeline
records every failure in the record, never raises, so a scan goes on past any bad item. The
record is the signals ``HashRecord`` itself: what ``hash`` writes is what a scan stores.
"""

from __future__ import annotations

from typing import Protocol

from safelight.signals import files
from safelight.signals.options import HashOptions
from safelight.signals.records import HashRecord


class ItemHasher(Protocol):
    def hash_bytes(self, data: bytes, name: str) -> HashRecord:
        """Signals of ``data``; ``name`` (the logical path) labels it in messages."""
        ...

    def hash_file(self, path: str, name: str) -> HashRecord:
        """Signals of the local file at ``path`` (read once, streamed when large)."""
        ...


class PipelineHasher:
    """``safelight.signals.files`` with the scan's options (``mode`` "default" unless told)."""

    def __init__(self, options: HashOptions | None = None) -> None:
        self.options = options or HashOptions()

    def hash_bytes(self, data: bytes, name: str) -> HashRecord:
        return files.hash_bytes(data, name, self.options)

    def hash_file(self, path: str, name: str) -> HashRecord:
        return files.hash_file(path, self.options)
