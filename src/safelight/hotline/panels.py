"""The item page is made of panels, one per concern (where it is hosted, its hashes, its
classification, its media, its routing and timeline), each owned by the module that knows
that concern. A module registers its panel once, at import; the item page renders every
registered panel in ``order`` and knows none of them by name.

A panel is a template under ``hotline/templates/`` and a ``load`` function giving the
template its values for one item. The item page renders the template with those values as
names of their own, all of them as ``values``, the panel as ``panel``, and the page's basics
(``item``, ``principal``, ``roles``, ``csrf_token``, ``next``: the item page's path).
``load`` reads through ``PanelContext.conn`` (the page's one read transaction) and may
return ``None`` to leave the panel out for this viewer.

A panel's forms come back to the item page with ``?done=CODE`` or ``?problem=CODE``; the
line the page then shows is the one its area registered for the code (``register_notes``),
so the item page knows no area's codes by name either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection

if TYPE_CHECKING:  # the service imports the hotline, never the reverse at run time
    from safelight.service.context import ServiceContext
    from safelight.service.roles import Principal


@dataclass(frozen=True)
class PanelContext:
    """What a panel may know about the page it is drawn on."""

    ctx: ServiceContext
    principal: Principal
    item: Mapping[str, Any]  # the hotline_items row
    language: str
    conn: Connection
    csrf_token: str


@dataclass(frozen=True)
class ItemPanel:
    key: str  # also the panel's HTML id: "panel-<key>"
    order: int
    template: str  # e.g. "workspace/panels/routing.html"
    load: Callable[[PanelContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    template: str
    values: Mapping[str, Any]


_PANELS: dict[str, ItemPanel] = {}


def register_panel(panel: ItemPanel) -> None:
    """Add (or replace, by key) a panel of the item page."""
    _PANELS[panel.key] = panel


def registered_panels() -> list[ItemPanel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.key))


def load_panels(context: PanelContext) -> list[RenderedPanel]:
    """Every registered panel's values for one item, in order (left out where ``load``
    returns None)."""
    rendered = []
    for panel in registered_panels():
        values = panel.load(context)
        if values is not None:
            rendered.append(RenderedPanel(panel.key, panel.template, values))
    return rendered


NoteKind = Literal["done", "problem"]
_NOTES: dict[NoteKind, dict[str, str]] = {"done": {}, "problem": {}}


def register_notes(
    *, done: Mapping[str, str] | None = None, problems: Mapping[str, str] | None = None
) -> None:
    """The lines an area's forms ask the item page to show, by code: ``done`` after an act
    succeeded, ``problems`` when it was refused. Each is an English message id (translated
    when shown) and may use ``%(item)s`` and ``%(name)s``. One code means one thing: a code
    registered again with other words is a mistake (ValueError)."""
    given: tuple[tuple[NoteKind, Mapping[str, str] | None], ...] = (
        ("done", done),
        ("problem", problems),
    )
    for kind, notes in given:
        for code, message in (notes or {}).items():
            known = _NOTES[kind].get(code)
            if known is not None and known != message:
                raise ValueError(f"{kind} note {code!r} is registered with other words already")
            _NOTES[kind][code] = message


def note_message(kind: NoteKind, code: str) -> str | None:
    """The message id registered for ``?done=code`` / ``?problem=code`` (None: unknown)."""
    return _NOTES[kind].get(code)
