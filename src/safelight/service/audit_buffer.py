"""Audit entries for frequent acts (lookups), appended in batches.

A lookup must not pay a database write (and a wait on the chain's head lock) of its own: it
hands its entry, stamped with the time of the act, to an ``AuditBuffer``; a background
thread appends what has gathered every ``flush_seconds``, or at once when
``flush_entries`` are waiting, in one transaction (``AuditLog.append``: the head locked
once, the chain computed as ever). ``close`` (the app's shutdown) writes the rest, so a
graceful shutdown loses nothing; a synchronous ``AuditLog.record`` in the same process
writes the waiting entries first, so one process's entries keep the order of its acts.

While the store cannot be written (it is down), entries wait and are retried; past
``max_waiting`` entries, ``record`` blocks until there is room: lookups slow down rather
than go unaudited.

    buffer = AuditBuffer(audit, flush_entries=500, flush_seconds=0.2)
    buffer.record("token:platform", "lookup", "/api/v1/lookup", {"queries": [...]})
    buffer.close()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from safelight.service.audit import Act, AuditLog, iso_utc

log = logging.getLogger(__name__)

# After a failed write, how long before the next try.
RETRY_SECONDS = 1.0


class AuditBuffer:
    """Acts waiting to be appended to one audit log (see the module docstring)."""

    def __init__(
        self,
        audit: AuditLog,
        *,
        flush_entries: int = 500,
        flush_seconds: float = 0.2,
        max_waiting: int = 100_000,
    ) -> None:
        self.audit = audit
        self.flush_entries = flush_entries
        self.flush_seconds = flush_seconds
        self.max_waiting = max(max_waiting, flush_entries)
        self._waiting: list[Act] = []
        self._changed = threading.Condition()
        self._write = threading.Lock()  # one batch written at a time by this process
        self._thread: threading.Thread | None = None
        self._closing = False
        self.written = 0  # entries appended so far (metrics, tests)
        self.last_error: str | None = None
        audit.buffer = self

    def record(
        self, actor: str, action: str, target: str = "", details: Mapping[str, Any] | None = None
    ) -> None:
        """Keep an act for the next batch (the time is the act's, taken now)."""
        act = Act(iso_utc(self.audit.clock()), actor, action, target, dict(details or {}))
        with self._changed:
            while len(self._waiting) >= self.max_waiting and not self._closing:
                self._changed.notify_all()
                self._changed.wait(0.1)
            self._waiting.append(act)
            if len(self._waiting) >= self.flush_entries:
                self._changed.notify_all()
        if self._thread is None:
            self._start()

    def take(self) -> list[Act]:
        """Every waiting act, removed (to be written by the caller)."""
        with self._changed:
            taken, self._waiting = self._waiting, []
            self._changed.notify_all()
        return taken

    def put_back(self, acts: list[Act]) -> None:
        """Acts whose write failed (rolled back): first in line again."""
        with self._changed:
            self._waiting[:0] = acts
            self._changed.notify_all()

    def flush(self) -> int:
        """Append every waiting act now; returns how many (an error leaves them waiting)."""
        with self._write:
            acts = self.take()
            if not acts:
                return 0
            try:
                with self.audit.db.begin(lock=True) as conn:
                    self.audit.append(conn, acts)
            except BaseException:
                self.put_back(acts)
                raise
            self.written += len(acts)
            return len(acts)

    def close(self) -> None:
        """Stop the thread and write what is waiting (graceful shutdown)."""
        thread = self._thread
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        if thread is not None:
            thread.join()
        self._thread = None
        self.flush()

    def __len__(self) -> int:
        return len(self._waiting)

    def _start(self) -> None:
        with self._changed:
            if self._thread is not None or self._closing:
                return
            self._thread = threading.Thread(target=self._run, name="audit-buffer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._changed:
                deadline = time.monotonic() + self.flush_seconds
                while not self._closing and len(self._waiting) < self.flush_entries:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
                if self._closing:
                    return
            try:
                self.flush()
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - entries wait; the store may come back
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("audit entries not written yet (%d waiting): %s", len(self), exc)
                time.sleep(RETRY_SECONDS)
