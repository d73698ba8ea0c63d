"""Progress while a scan runs: a live bar on a terminal, periodic log lines otherwise.

The total is estimated by a background thread that walks local folders (sizes only, no
archive expansion), so the scan starts at once and the ETA appears when the count is known.
ETA is from bytes: source bytes left at the current byte rate (archive members count their
expanded size, so for archive-heavy sources it is a rough guide).

``hash`` and ``match`` reuse the live line (``StreamProgress``): on stderr, and only when
stderr is a terminal, since their stdout carries the records.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Protocol

from rich.console import Console
from rich.live import Live
from rich.text import Text

from safelight.constants import SCAN_LOG_INTERVAL_SECONDS
from safelight.scan.runs import Tally
from safelight.scan.sources import is_uri

log = logging.getLogger("safelight.scan")


class Progress(Protocol):
    def start(self, run_id: int, sources: list[str], *, already: int) -> None: ...

    def update(self, tally: Tally) -> None: ...

    def stop(self) -> None: ...


class NullProgress:
    def start(self, run_id: int, sources: list[str], *, already: int) -> None:
        pass

    def update(self, tally: Tally) -> None:
        pass

    def stop(self) -> None:
        pass


class _Estimate:
    """Total bytes of local sources, counted in the background (None until known)."""

    def __init__(self, sources: list[str]) -> None:
        self.total: int | None = None
        self._thread = threading.Thread(target=self._count, args=(sources,), daemon=True)
        self._thread.start()

    def _count(self, sources: list[str]) -> None:
        total = 0
        for source in sources:
            if is_uri(source) or source.startswith("@"):
                return  # remote or manifest: no cheap estimate
            if os.path.isfile(source):
                total += os.path.getsize(source)
            for folder, _dirs, files in os.walk(source):
                for name in files:
                    try:
                        total += os.lstat(os.path.join(folder, name)).st_size
                    except OSError:
                        continue
        self.total = total


def describe(tally: Tally, seconds: float, total_bytes: int | None) -> str:
    rate = tally.items / seconds if seconds > 0 else 0.0
    byte_rate = tally.bytes / seconds if seconds > 0 else 0.0
    eta = "?"
    if total_bytes is not None and byte_rate > 0:
        eta = f"{max(0.0, (total_bytes - tally.bytes) / byte_rate):.0f}s"
    return (
        f"{tally.items} items ({rate:.1f}/s), "
        f"{tally.bytes / 1e6:.1f} MB ({byte_rate / 1e6:.1f} MB/s), "
        f"{tally.matched_items} matched, {tally.errors} errors, ETA {eta}"
    )


class LogProgress:
    """A log line every ``interval`` seconds: for CI, cron jobs and redirected output."""

    def __init__(self, interval: float = SCAN_LOG_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.started = time.monotonic()
        self.last = self.started
        self.estimate: _Estimate | None = None

    def start(self, run_id: int, sources: list[str], *, already: int) -> None:
        self.estimate = _Estimate(sources)
        log.info("scan run %d started (%d items already recorded)", run_id, already)

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            total = self.estimate.total if self.estimate else None
            log.info("scan: %s", describe(tally, now - self.started, total))

    def stop(self) -> None:
        pass


class LiveProgress:
    """A status line redrawn in place on a terminal (rich). ``label`` names the work (default:
    the scan run)."""

    def __init__(self, console: Console | None = None, label: str | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.label = label
        self.started = time.monotonic()
        self.live: Live | None = None
        self.estimate: _Estimate | None = None

    def start(self, run_id: int, sources: list[str], *, already: int) -> None:
        self.estimate = _Estimate(sources)
        title = self.label or f"scan run {run_id}"
        self.live = Live(Text(f"{title}: starting"), console=self.console)
        self.live.start()

    def update(self, tally: Tally) -> None:
        if self.live is not None:
            total = self.estimate.total if self.estimate else None
            text = describe(tally, time.monotonic() - self.started, total)
            self.live.update(Text(f"{self.label}: {text}" if self.label else text))

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class StreamProgress:
    """Progress of items outside a scan run (``hash``, ``match``): the live line on stderr
    when it is a terminal, nothing otherwise (their stdout carries the records, and a log
    line per interval would only add noise to a pipeline). A context manager."""

    def __init__(self, label: str, sources: list[str], *, quiet: bool = False) -> None:
        self.label = label
        self.sources = sources
        self.tally = Tally()
        self.display: Progress = NullProgress()
        if not quiet and stderr_is_terminal():
            self.display = LiveProgress(Console(stderr=True, force_terminal=True), label=label)

    def __enter__(self) -> StreamProgress:
        self.display.start(0, self.sources, already=0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.display.stop()

    def add(self, size: int | None, *, matched: bool, failed: bool) -> None:
        """Count one item (no per-list counts outside a scan run)."""
        self.tally.items += 1
        self.tally.bytes += size or 0
        self.tally.matched_items += matched
        self.tally.errors += failed
        self.display.update(self.tally)
