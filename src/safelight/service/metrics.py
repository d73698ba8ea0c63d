"""Prometheus metrics of one service (``GET /metrics``).

``ServiceMetrics`` owns a registry per app (tests build many apps in one process). The
request middleware fills the HTTP metrics; the rest are hooks for the domain code:

    metrics = request.app.state.service.metrics   # or ServiceContext.metrics
    metrics.lookups.labels(list="KNOWN").inc()
    metrics.matches.labels(list="KNOWN").inc(len(hits))
    metrics.set_index_state("pdq", entries=n, generation=g, updated_at=time.time())
    metrics.import_rows.labels(list="KNOWN").inc(rows)

With several workers each process counts for itself; set ``PROMETHEUS_MULTIPROC_DIR`` (see
prometheus_client's multiprocess mode) to have ``/metrics`` add up every worker's counters.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Seconds; fine at the low end, where lookups live (target p99 25 ms).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
UNMATCHED_ROUTE = "<unmatched>"  # one label for every unknown path: bounded cardinality


class ServiceMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "safelight_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "safelight_http_request_duration_seconds",
            "Request latency by route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "safelight_http_errors", "Error responses by error code.", ["code"], registry=r
        )
        self.lookups = Counter(
            "safelight_lookups", "Hash lookups by list searched.", ["list"], registry=r
        )
        self.matches = Counter("safelight_matches", "Matches by list.", ["list"], registry=r)
        self.import_rows = Counter(
            "safelight_import_rows", "Rows read by list imports.", ["list"], registry=r
        )
        self.index_entries = Gauge(
            "safelight_index_entries", "Entries in each index.", ["signal_type"], registry=r
        )
        self.index_generation = Gauge(
            "safelight_index_generation",
            "Store generation each index reflects.",
            ["signal_type"],
            registry=r,
        )
        self._index_updated: dict[str, float] = {}
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        r.register(_IndexAge(self._index_updated))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled children, found once per (method, route template, status): labels()
        # costs more than the increment it serves on the lookup path.
        children = self._children.get((method, route, status))
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def set_index_state(
        self, signal_type: str, *, entries: int, generation: int, updated_at: float
    ) -> None:
        """What an index holds; ``updated_at`` (epoch seconds) gives its age at scrape time."""
        self.index_entries.labels(signal_type).set(entries)
        self.index_generation.labels(signal_type).set(generation)
        self._index_updated[signal_type] = updated_at

    def add_collector(self, collector: Collector) -> None:
        """For figures computed at scrape time (a custom ``collect()``)."""
        self.registry.register(collector)

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _IndexAge(Collector):
    def __init__(self, updated: dict[str, float]) -> None:
        self.updated = updated

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "safelight_index_age_seconds",
            "Seconds since each index last caught up.",
            labels=["signal_type"],
        )
        now = time.time()
        for signal_type, at in sorted(self.updated.items()):
            family.add_metric([signal_type], max(0.0, now - at))
        yield family
