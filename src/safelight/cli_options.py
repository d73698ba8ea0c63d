"""Options shared by several commands: one flag, one meaning, one definition.

Commands import these decorators instead of declaring the option again (as datasette and
sqlite-utils do), so ``--type`` or ``--list`` reads and validates the same way everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from safelight.signals.types import UnknownSignalTypeError, registry

# click >= 8.5 types its ParamType by value; older clicks cannot subscript it at run time.
if TYPE_CHECKING:
    _StrParam = click.ParamType[str]
else:
    _StrParam = click.ParamType


class SignalTypeParam(_StrParam):
    """A signal type name or alias, checked against the registry when parsed (so types
    registered by installed packages are accepted), given back as the canonical name."""

    name = "signal type"

    def __init__(self, *, indexed_only: bool = False, allow_auto: bool = False) -> None:
        self.indexed_only = indexed_only
        self.allow_auto = allow_auto

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None:
            return None
        text = str(value).strip().lower()
        if self.allow_auto and text == "auto":
            return "auto"
        try:
            found = registry.get(text)
        except UnknownSignalTypeError:
            self.fail(f"{value!r} is not one of {', '.join(self._choices())}", param, ctx)
        if self.indexed_only and found not in registry.indexed():
            self.fail(f"{found.name} values cannot be given here", param, ctx)
        return found.name

    def _choices(self) -> list[str]:
        types = registry.indexed() if self.indexed_only else tuple(registry)
        return (["auto"] if self.allow_auto else []) + [t.name for t in types]
