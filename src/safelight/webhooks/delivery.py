"""Sending deliveries: signed POSTs, retried with exponential backoff, outside any request.

``deliver_due`` is one pass of a worker (``safelight webhooks deliver``); ``DeliveryQueue``
is the service's background queue: lookups ``submit`` served matches in memory (no SQL on
the request path), a thread writes them to the store as pending deliveries and sends what
is due. Pending deliveries are in the store, so a restart resumes them.

No secret ever reaches a log or an error: an attempt's error is the HTTP status or the
exception's class and reason, never the URL (which may carry a token) or a header.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from safelight.constants import (
    WEBHOOK_BACKOFF_BASE_SECONDS,
    WEBHOOK_BACKOFF_CAP_SECONDS,
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMEOUT_SECONDS,
)
from safelight.match.results import Match
from safelight.store.redact import redact
from safelight.webhooks.signing import sign
from safelight.webhooks.store import Delivery, WebhookStore

log = logging.getLogger("safelight.webhooks")

# send(url, body, headers, timeout) -> HTTP status; raises OSError when nothing came back.
Send = Callable[[str, bytes, Mapping[str, str], float], int]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would re-send a signed body elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects())


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST with the standard library; any HTTP status comes back, only transport fails."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1 = the first retry): base * 2^(attempt-1),
    capped."""
    return float(
        min(WEBHOOK_BACKOFF_CAP_SECONDS, WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: int
    status: str
    status_code: int | None
    error: str | None


def _describe(exc: BaseException) -> str:
    """The class and reason of a transport failure; no URL, no header."""
    reason = getattr(exc, "reason", None)
    text = f"{type(exc).__name__}: {reason if reason is not None else exc}"
    return redact(text)[:500]


def attempt(
    hooks: WebhookStore,
    delivery: Delivery,
    *,
    send: Send = post,
    max_attempts: int = WEBHOOK_MAX_ATTEMPTS,
    timeout: float = WEBHOOK_TIMEOUT_SECONDS,
) -> Attempt:
    """One signed POST of one delivery, logged; schedules the retry or marks it failed."""
    body = delivery.body.encode("utf-8")
    now = hooks.clock()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "safelight-webhooks",
        "Safelight-Delivery": str(delivery.id),
        "Safelight-Event": str(json.loads(delivery.body).get("event_id", "")),
        WEBHOOK_SIGNATURE_HEADER: sign(
            hooks.secret_of(delivery.endpoint_id), int(now.timestamp()), body
        ),
    }
    status_code: int | None = None
    error: str | None = None
    try:
        status_code = send(hooks.url_of(delivery.endpoint_id), body, headers, timeout)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except OSError as exc:  # connection refused, timeout, TLS, DNS: all OSError
        error = _describe(exc)
    tries = delivery.attempts + 1
    retry = None
    if error is not None and tries < max_attempts:
        retry = now + timedelta(seconds=backoff(tries))
    status = hooks.record_attempt(
        delivery, status_code=status_code, error=error, next_attempt_at=retry
    )
    log.info("webhook delivery %s: %s (attempt %s, %s)", delivery.id, status, tries, error or "ok")
    return Attempt(delivery.id, status, status_code, error)


def deliver_due(
    hooks: WebhookStore,
    *,
    limit: int = 100,
    send: Send = post,
    max_attempts: int = WEBHOOK_MAX_ATTEMPTS,
    timeout: float = WEBHOOK_TIMEOUT_SECONDS,
) -> list[Attempt]:
    """Send every due pending delivery once (up to ``limit``): one pass of a worker."""
    lease = timedelta(seconds=timeout * 2 + 1)
    return [
        attempt(hooks, d, send=send, max_attempts=max_attempts, timeout=timeout)
        for d in hooks.claim_due(limit=limit, lease=lease)
    ]


class DeliveryQueue:
    """The service's background queue: ``submit`` is in memory; a thread stores and sends.

    ``stop`` writes whatever was submitted but not yet stored, so nothing is lost on a
    graceful shutdown; deliveries stored and not yet sent wait in the store for the next
    start (or ``safelight webhooks deliver``).
    """

    def __init__(
        self,
        hooks: WebhookStore,
        *,
        interval: float = 1.0,
        send: Send = post,
        max_attempts: int = WEBHOOK_MAX_ATTEMPTS,
        on_tick: Callable[[], object] | None = None,
    ) -> None:
        self.hooks = hooks
        # Also run on every pass of the thread (the service's flood counter writes here).
        self.on_tick = on_tick
        self.interval = interval
        self.send = send
        self.max_attempts = max_attempts
        self._inbox: queue.SimpleQueue[tuple[dict[str, Any], list[Match], dict[str, Any]]] = (
            queue.SimpleQueue()
        )
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(
        self,
        query: Mapping[str, Any],
        matches: Sequence[Match],
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Served matches of one query (``Ruled.matches``); returns at once. Matches on
        lists without endpoints go no further (most lookups: no thread wake, no SQL)."""
        if matches and self.hooks.wants(matches):
            self._inbox.put((dict(query), list(matches), dict(context or {})))
            self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._store_inbox()

    def _store_inbox(self) -> int:
        stored = 0
        while True:
            try:
                query, matches, context = self._inbox.get_nowait()
            except queue.Empty:
                return stored
            stored += self.hooks.enqueue(query, matches, context)

    def run_once(self) -> list[Attempt]:
        """Store what was submitted, then send what is due (the thread's loop body)."""
        self._store_inbox()
        if self.on_tick is not None:
            self.on_tick()
        return deliver_due(self.hooks, send=self.send, max_attempts=self.max_attempts)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # the queue must outlive a store hiccup
                log.warning("webhook queue: %s", _describe(exc))
            self._wake.wait(self.interval)
            self._wake.clear()
