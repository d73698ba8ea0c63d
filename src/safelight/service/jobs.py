"""Background work of the service: scans run in worker threads, the run id returned at once.

``ScanJobs.start(options)`` submits ``run_scan`` to a thread pool (``scan_workers`` at once)
and waits only until the run exists in the store (``Progress.start`` gives its id) or fails
to start (a bad list, a bad source: the error is raised to the caller as it would be by the
CLI). ``cancel(run_id)`` asks the run to stop after the batch in flight: the progress hook
raises ``KeyboardInterrupt``, which ``run_scan`` records as an interrupted (resumable) run.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from safelight.scan.runner import ScanInterrupted, ScanOptions, run_scan
from safelight.scan.runs import Tally
from safelight.store import Database

log = logging.getLogger(__name__)

START_WAIT_SECONDS = 600.0  # run_scan creates the run before it loads any index


class _Hook:
    """The run's progress hook: learns the run id, carries the cancel flag."""

    def __init__(self) -> None:
        self.run_id: int | None = None
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def start(self, run_id: int, sources: list[str], *, already: int) -> None:
        self.run_id = run_id
        self.started.set()

    def update(self, tally: Tally) -> None:
        if self.cancelled.is_set():
            raise KeyboardInterrupt("cancelled through the API")

    def stop(self) -> None:
        pass


class ScanJobs:
    def __init__(self, db: Database, workers: int) -> None:
        self.db = db
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="safelight-scan")
        self.running: dict[int, _Hook] = {}
        self.futures: set[Future[None]] = set()
        self.lock = threading.Lock()

    def start(self, options: ScanOptions) -> int:
        """Start a scan; its run id once it exists (or the error that stopped it)."""
        hook = _Hook()
        future = self.pool.submit(self._run, options, hook)
        with self.lock:
            self.futures = {f for f in self.futures if not f.done()} | {future}
        while not hook.started.wait(0.05):
            if future.done():
                future.result()  # raises the start error
                break
        if hook.run_id is None:
            hook.started.wait(START_WAIT_SECONDS)
        assert hook.run_id is not None
        return hook.run_id

    def _run(self, options: ScanOptions, hook: _Hook) -> None:
        def remember(run_id: int, sources: list[str], *, already: int) -> None:
            with self.lock:
                self.running[run_id] = hook
            _Hook.start(hook, run_id, sources, already=already)

        hook.start = remember  # type: ignore[method-assign]
        try:
            run_scan(self.db, options, progress=hook)
        except ScanInterrupted:
            pass
        except Exception:
            if hook.run_id is None:
                raise
            log.exception("scan run %s failed", hook.run_id)
        finally:
            if hook.run_id is not None:
                with self.lock:
                    self.running.pop(hook.run_id, None)

    def cancel(self, run_id: int) -> bool:
        """Ask a running scan to stop; False when it is not running in this process."""
        with self.lock:
            hook = self.running.get(run_id)
        if hook is None:
            return False
        hook.cancelled.set()
        return True

    def is_running(self, run_id: int) -> bool:
        with self.lock:
            return run_id in self.running

    def drain(self) -> None:
        """Wait for every scan submitted so far to end."""
        with self.lock:
            pending = set(self.futures)
        wait(pending)

    def close(self) -> None:
        with self.lock:
            hooks = list(self.running.values())
        for hook in hooks:
            hook.cancelled.set()
        self.pool.shutdown(wait=True)


_CREATE = threading.Lock()


def scan_jobs(extensions: dict[str, object], db: Database, workers: int) -> ScanJobs:
    """The app's scan pool, made on first use (``extensions["scans"]``)."""
    with _CREATE:
        jobs = extensions.get("scans")
        if not isinstance(jobs, ScanJobs):
            jobs = extensions["scans"] = ScanJobs(db, workers)
        return jobs
