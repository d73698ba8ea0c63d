"""Actions on match in the service, through its extension points only (docs/webhooks.md):

    app = create_app(settings)          # installs them: create_app calls install_actions

puts into ``ctx.extensions``

* ``"webhooks"``: a ``DeliveryQueue`` (its thread runs for the app's lifetime; pending
  deliveries are stored on shutdown and resumed on the next start),
* ``"flood"``: a ``FloodCounter`` whose sightings the queue's thread writes once a second
  (each pause is audited as ``entry.flood_pause`` in the transaction that pauses),

and adds scrape-time metrics: ``safelight_webhook_deliveries{status}`` and
``safelight_entries_paused``. The lookup engine, per lookup, applies
``safelight.match.rules.apply_rules`` and then hands the served matches to
``observe_and_submit`` (memory only: no SQL on the request path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from safelight.lists.store import HashListStore
from safelight.match.flood import FloodCounter
from safelight.match.results import Match
from safelight.service.context import ServiceContext
from safelight.store import Database
from safelight.store.lists_tables import hash_entries, webhook_deliveries
from safelight.webhooks.delivery import DeliveryQueue
from safelight.webhooks.store import STATUSES, WebhookStore

FLUSH_AFTER_SECONDS = 1.0


def install_actions(app: FastAPI, ctx: ServiceContext) -> None:
    """Flood counting and webhooks, started and stopped with the app (``create_app`` installs
    them; a second call changes nothing)."""
    if "webhooks" in ctx.extensions:
        return
    store = HashListStore(ctx.db)
    flood = FloodCounter(store, flush_after_s=FLUSH_AFTER_SECONDS)
    # The queue's thread also writes the flood sightings, once a second: off the requests.
    queue = DeliveryQueue(WebhookStore(ctx.db), on_tick=flood.flush_due)
    ctx.extensions["webhooks"] = queue
    ctx.extensions["flood"] = flood
    ctx.metrics.add_collector(_ActionsCollector(ctx.db))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(owner: FastAPI) -> AsyncIterator[Any]:
        queue.start()
        try:
            async with inner(owner) as state:
                yield state
        finally:
            ctx.extensions["flood"].flush()
            queue.stop()

    app.router.lifespan_context = lifespan


def observe_and_submit(
    ctx: ServiceContext,
    query: tuple[str, str],
    served: Sequence[Match],
    context: Mapping[str, Any] | None = None,
) -> None:
    """What the lookup engine calls per query with ``Ruled.matches``: counts the sightings
    for flood protection and queues webhook deliveries, both in memory."""
    flood: FloodCounter | None = ctx.extensions.get("flood")
    queue: DeliveryQueue | None = ctx.extensions.get("webhooks")
    if flood is not None:
        flood.observe(f"{query[0]}:{query[1]}", served)
    if queue is not None:
        queue.submit({"signal_type": query[0], "value": query[1]}, served, context)


class _ActionsCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.db.connect() as conn:
            counts: dict[str, int] = {
                str(status): int(n)
                for status, n in conn.execute(
                    select(webhook_deliveries.c.status, func.count()).group_by(
                        webhook_deliveries.c.status
                    )
                )
            }
            paused = conn.execute(
                select(func.count()).where(hash_entries.c.paused_at.is_not(None))
            ).scalar_one()
        deliveries = GaugeMetricFamily(
            "safelight_webhook_deliveries",
            "Webhook deliveries in the log, by status.",
            labels=["status"],
        )
        for status in STATUSES:
            deliveries.add_metric([status], float(counts.get(status, 0)))
        yield deliveries
        yield GaugeMetricFamily(
            "safelight_entries_paused",
            "Entries paused for review by flood protection.",
            value=float(paused),
        )
