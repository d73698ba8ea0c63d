"""Flood counting and webhooks wired into the service through ``create_app(extend=...)``:
the lookup engine's one call per query stays in memory; the app's thread writes and sends."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from safelight.lists.store import HashListStore
from safelight.match import Matcher
from safelight.match.flood import paused_entries
from safelight.service.context import ServiceContext
from safelight.store import Database
from safelight.webhooks import WebhookStore
from safelight.webhooks.service import install_actions, observe_and_submit

from .service_support import BASE, make_app
from .test_match import add, flip, random_pdq
from .test_webhooks import SECRET, Receiver


def test_lookups_queue_deliveries_and_count_floods_off_the_request_path(
    db: Database, tmp_path: Path
) -> None:
    store = HashListStore(db)
    base = random_pdq()
    store.create("KNOWN", flood_threshold=1)
    add(store, tmp_path, "KNOWN", [{"type": "pdq", "value": base}])
    receiver = Receiver(failures=1)
    try:
        WebhookStore(db).add("KNOWN", receiver.url, secret=SECRET)
        app = make_app(db, extend=install_actions)
        ctx: ServiceContext = app.state.service
        matcher = Matcher(store, home=tmp_path / "home")
        with TestClient(app, base_url=BASE):
            for bits in (1, 2):
                query = ("pdq", flip(base, bits))
                [ruled] = matcher.match_hashes_ruled([query])
                observe_and_submit(ctx, query, ruled.matches, {"token": "t1"})
            hooks = WebhookStore(db)
            for _ in range(200):  # the thread's first pass stores and sends (one 500)
                if len(receiver.received) >= 2:
                    break
                time.sleep(0.05)
            assert len(receiver.received) == 2 and receiver.bad_signatures == 0
            body = receiver.received[0]["body"]
            assert body["context"] == {"token": "t1"} and body["match"]["distance"] in (1, 2)
            metrics = ctx.metrics.render()[0].decode()
            assert 'safelight_webhook_deliveries{status="pending"}' in metrics
        # Shutdown flushed the sightings: two distinct queries > threshold 1.
        [paused] = paused_entries(store)
        assert paused.paused_reason and "2 distinct" in paused.paused_reason
        statuses = sorted(d.status for d in hooks.deliveries())
        assert statuses in (["delivered", "pending"], ["pending", "pending"])
        assert "safelight_entries_paused 1.0" in ctx.metrics.render()[0].decode()
    finally:
        receiver.close()
