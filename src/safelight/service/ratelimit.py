"""Token-bucket rate limits, in memory, per worker process.

Each key (a client address, a user name) holds up to ``per_minute`` tokens, refilled
continuously; a request takes one. Limits are per worker: with N workers a client may get up
to N times the limit, which still stops brute force (the account lockout, kept in the
database, is shared by every worker).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from safelight.errors import RateLimitedError

MAX_KEYS = 100_000  # the least recently seen keys are forgotten beyond this


class RateLimiter:
    def __init__(
        self, per_minute: int, *, what: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.what = what
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Take one token for ``key``, or raise RateLimitedError with when to retry."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise RateLimitedError(f"too many {self.what}; retry in {wait} s", retry_after=wait)
            self._buckets[key] = (tokens - 1.0, now)
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
