"""The item page's "resolution" panel (order 10): where the host is, how it was found, and
what was reported before at the same address or on the same host.

Registered at import (the queue pages import this module).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from safelight.hotline.i18n import babel_locale, format_date, format_number, translations
from safelight.hotline.item_view import related_items, resolutions_of
from safelight.hotline.messages_queue import ITEM_STATUSES, OUTCOMES
from safelight.hotline.model import ItemStatus, utc
from safelight.hotline.panels import ItemPanel, PanelContext, register_panel
from safelight.hotline.resolver import Outcome


def country_name(code: str | None, language: str) -> str:
    """``DE`` as the reader calls it ("Deutschland", "ドイツ"), or "" for none."""
    if not code:
        return ""
    return str(babel_locale(language).territories.get(code.upper(), code.upper()))


def load(context: PanelContext) -> Mapping[str, Any]:
    item, language = context.item, context.language
    gettext = translations(language).gettext

    def when(moment: datetime | None) -> str:
        return "" if moment is None else format_date(utc(moment), language)

    history = resolutions_of(context.conn, int(item["id"]))
    attempts = [
        {
            "when": when(attempt["resolved_at"]),
            "outcome": attempt["outcome"],
            "outcome_text": gettext(OUTCOMES[Outcome(attempt["outcome"])]),
            "ips": ", ".join(address["ip"] for address in attempt["addresses"]),
            "actor": attempt["actor"].partition(":")[2] or attempt["actor"],
        }
        for attempt in history
    ]
    latest_good = next((a for a in history if a["outcome"] == Outcome.RESOLVED.value), None)
    addresses = [
        {
            **address,
            "country_name": country_name(address["country"], language),
            "asn_text": f"AS{address['asn']}" if address["asn"] else "",
        }
        for address in (latest_good["addresses"] if latest_good else [])
    ]
    same_url, same_host, same_host_total = related_items(context.conn, item)

    def related(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "id": row["id"],
                "url": row["url"],
                "status": gettext(ITEM_STATUSES[ItemStatus(row["status"])]),
                "reported": when(row["reported_at"]),
                "removed": when(row["removed_at"]),
                "country": row["hosting_country"] or "",
            }
            for row in rows
        ]

    return {
        "host": item["host"],
        "host_is_ip": bool(item["host_is_ip"]),
        "ip": item["hosting_ip"] or "",
        "country": item["hosting_country"] or "",
        "country_name": country_name(item["hosting_country"], language),
        "asn": f"AS{item['hosting_asn']}" if item["hosting_asn"] else "",
        "network": item["hosting_network"] or "",
        "resolved": when(item["resolved_at"]),
        "addresses": addresses,
        "attempts": attempts,
        "latest_failed": attempts[0] if attempts and attempts[0]["outcome"] != "resolved" else None,
        "same_url": related(same_url),
        "same_host": related(same_host),
        "same_host_total": format_number(same_host_total, language),
        "same_host_more": same_host_total > len(same_host),
    }


register_panel(ItemPanel("resolution", 10, "workspace/panels/resolution.html", load))
