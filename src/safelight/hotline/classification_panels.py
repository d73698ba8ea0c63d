"""The item page's "hashes" (order 20) and "classification" (order 30) panels.

Each panel is a template under ``templates/workspace/panels/`` and a ``load`` that reads
through the page's connection (``PanelContext.conn``). Their forms post to the routes of
``safelight.service.routes.workspace_classification`` and come back here (``back``).
Registered at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from safelight.hotline import messages_classification as words
from safelight.hotline.i18n import format_date, translations
from safelight.hotline.messages import SITE_TYPES
from safelight.hotline.panels import ItemPanel, PanelContext, register_panel
from safelight.hotline.workbench import overview

if TYPE_CHECKING:
    from safelight.service.context import ServiceContext
    from safelight.service.roles import Principal


FORM_FIELDS = ("illegality", "age_group", "gender", "site_type", "commercial", "notes")


def item_page(item_id: int, panel: str) -> str:
    return f"/workspace/items/{item_id}#panel-{panel}"


def panel_values(
    ctx: ServiceContext,
    principal: Principal,
    conn: Any,
    item_id: int,
    language: str,
    *,
    back: str | None = None,
    typed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What both panels show, ready for the templates (dates formatted, labels chosen)."""
    values = overview(conn, item_id, four_eyes=ctx.settings.four_eyes)
    gettext = translations(language).gettext
    for row in values["history"]:
        row["when"] = _date(row["classified_at"], language)
        row["state_text"] = _state(row, gettext)
    for row in values["hashes"]:
        row["when"] = _date(row["added_at"], language)
        source = gettext(words.HASH_SOURCES[row["source"]])
        row["source_text"] = source % {"run": row["scan_run_id"], "path": row["scan_path"]}
    for row in values["bankings"]:
        row["when"] = _date(row["banked_at"], language)
    latest = values["latest"]
    values.update(
        words=words,
        site_types=SITE_TYPES,
        back_hashes=back or item_page(item_id, "hashes"),
        back_classification=back or item_page(item_id, "classification"),
        own_latest=bool(latest) and latest["classified_by"] == principal.actor,
        block_lists=[
            hash_list.name
            for hash_list in ctx.lists.list()
            if not hash_list.is_allow and principal.can_use_list(hash_list.name)
        ],
        not_bankable_text=_not_bankable(values["not_bankable_because"], gettext),
        typed=dict(typed or {}),
        chosen=_chosen(latest, typed),
    )
    return values


def _load(context: PanelContext) -> dict[str, Any]:
    return panel_values(
        context.ctx, context.principal, context.conn, int(context.item["id"]), context.language
    )


def _date(text: str, language: str) -> str:
    return format_date(datetime.fromisoformat(text), language)


def _state(row: Mapping[str, Any], gettext: Any) -> str:
    review = row["review"] or {}
    text: str = gettext(words.STATES[row["state"]])
    return text % {"name": review.get("by", ""), "reason": review.get("reason") or ""}


def _not_bankable(reason: str | None, gettext: Any) -> str:
    if reason is None:
        return ""
    for start, message in words.NOT_BANKABLE.items():
        if reason.startswith(start):
            return str(gettext(message))
    return reason


def _chosen(latest: Mapping[str, Any] | None, typed: Mapping[str, str] | None) -> dict[str, str]:
    """The form's values: what was typed (a refused form), else the latest classification."""
    if typed and any(name in typed for name in FORM_FIELDS):
        return dict(typed)  # a refused classification form: what was typed
    if not latest:
        return {}
    commercial = latest["commercial"]
    return {
        "illegality": latest["illegality"],
        "age_group": latest["age_group"] or "",
        "gender": latest["gender"] or "",
        "site_type": latest["site_type"] or "",
        "commercial": "" if commercial is None else ("yes" if commercial else "no"),
        "notes": "" if latest["source"] == "known" else latest["notes"],
    }


register_panel(ItemPanel("hashes", 20, "workspace/panels/hashes.html", _load))
register_panel(ItemPanel("classification", 30, "workspace/panels/classification.html", _load))
