"""Actions on match: per-list webhooks, signed, retried with backoff, logged, replayable
(docs/webhooks.md).

    hooks = WebhookStore(db)
    hooks.add("KNOWN", "https://t.example/hook")         # -> (Endpoint, secret shown once)
    hooks.enqueue(("pdq", hex), ruled.matches, {...})   # served matches only
    deliver_due(hooks)                                  # a worker, outside the request path
"""

from safelight.webhooks.delivery import DeliveryQueue, deliver_due, post
from safelight.webhooks.signing import sign, verify
from safelight.webhooks.store import Delivery, Endpoint, WebhookStore

__all__ = [
    "Delivery",
    "DeliveryQueue",
    "Endpoint",
    "WebhookStore",
    "deliver_due",
    "post",
    "sign",
    "verify",
]
