"""Options shared by several commands: one flag, one meaning, one definition.

Commands import these decorators instead of declaring the option again (as datasette and
sqlite-utils do), so ``--format``, ``--out``, ``--jobs``, ``--list`` or ``--fast`` read,
validate and default the same way everywhere (docs/cli.md, "One grammar"). An option that
was renamed keeps its old spelling as a hidden alias that still works and says on stderr
what replaces it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from safelight.constants import (
    FAST_MODE_MAX_BITS_PHOTOS,
    JOBS_DEFAULT,
    MATCH_MIN_QUALITY,
    PDQ_MAX_LIST_THRESHOLD,
)
from safelight.errors import UsageError
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


F = TypeVar("F", bound=Callable[..., Any])


def deprecated(old: str, new: str) -> None:
    """Say on stderr that an old spelling still works, and what replaces it."""
    click.echo(f"warning: {old} is deprecated and will be removed; use {new}", err=True)


def renamed_option(old: str, new: str, target: str, **option: Any) -> Callable[[F], F]:
    """The hidden old spelling ``old`` of the parameter ``target``: given, it sets ``target``
    (to ``option["flag_value"]`` for a flag, else to its own value) and warns on stderr."""
    dest = "renamed_" + old.lstrip("-").replace("-", "_")
    value = option.pop("flag_value", None)

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = kwargs.pop(dest)
            if given is not None and given is not False:
                deprecated(old, new)
                kwargs[target] = given if value is None else value
            return f(*args, **kwargs)

        flag = {"is_flag": True, "default": False} if value is not None else {"default": None}
        return click.option(old, dest, hidden=True, **flag, **option)(wrapper)  # type: ignore[return-value]

    return decorate


def format_option(*choices: str, default: str, help: str = "Output format.") -> Callable[[F], F]:
    """``--format``: the OUTPUT format of what the command prints (never an input format).
    The default follows one rule: ``table`` for listings and reports people read, ``jsonl``
    for record streams other programs read (hash, match)."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help=help,
    )


def json_alias(f: F) -> F:
    """The old ``--json`` of the commands that print a summary: ``--format json`` now."""
    return renamed_option("--json", "--format json", "output_format", flag_value="json")(f)


def out_option(*, folder: bool = False, help: str, **option: Any) -> Callable[[F], F]:
    """``-o``/``--out PATH``: the file (or, for commands writing several, the folder) the
    command writes its main output to. Missing folders above it are created, and a path that
    cannot be written is a usage error naming it (``safelight.outputs``)."""
    kind = click.Path(file_okay=not folder, dir_okay=folder, path_type=Path)
    metavar = "DIR" if folder else "FILE"
    return click.option("-o", "--out", type=kind, metavar=metavar, help=help, **option)


def _jobs(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value == 0:
        from safelight.workers import usable_cpus

        return usable_cpus()
    return value


def jobs_option(help: str = "Worker processes on this machine") -> Callable[[F], F]:
    """``-j``/``--jobs N``: worker processes on this machine, default ``JOBS_DEFAULT`` (the
    command's own process) everywhere; 0 is one per CPU."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=0),
        default=JOBS_DEFAULT,
        show_default=True,
        callback=_jobs,
        help=f"{help} (1: this process; 0: one per CPU).",
    )


def hash_mode_options(f: F) -> F:
    """``--fast`` / ``--exact-reference``, wherever images are hashed: one ``mode`` parameter
    (``default``, ``fast`` or ``reference``; safelight.signals.options.Mode)."""

    @functools.wraps(f)
    def wrapper(*args: Any, fast: bool, exact_reference: bool, **kwargs: Any) -> Any:
        if fast and exact_reference:
            raise UsageError("--fast and --exact-reference exclude each other: choose one")
        kwargs["mode"] = "fast" if fast else "reference" if exact_reference else "default"
        return f(*args, **kwargs)

    exact = click.option(
        "--exact-reference",
        is_flag=True,
        help="Pillow full RGB decode: bit-identical to the HMA/python-threatexchange PDQ path.",
    )
    fast = click.option(
        "--fast",
        is_flag=True,
        help=(
            "Decode large JPEGs at reduced scale: faster, but PDQ is no longer bit-exact with "
            f"HMA (up to {FAST_MODE_MAX_BITS_PHOTOS} bits measured; the default is exact)."
        ),
    )
    return fast(exact(wrapper))  # type: ignore[return-value]


def lists_option(help: str = "Hash list to match against") -> Callable[[F], F]:
    """``--list NAME``, repeatable; none given means every enabled list (``lists=()``)."""
    return click.option(
        "--list",
        "lists",
        multiple=True,
        metavar="NAME",
        help=f"{help} (repeatable; default: every enabled list).",
    )


threshold_option = click.option(
    "--threshold",
    type=click.IntRange(0, PDQ_MAX_LIST_THRESHOLD),
    default=None,
    help="PDQ distance threshold for every list (default: each list's own).",
)

min_quality_option = click.option(
    "--min-quality",
    type=click.IntRange(0, 100),
    default=MATCH_MIN_QUALITY,
    show_default=True,
    help="Do not match photo PDQ hashes below this quality.",
)

quiet_option = click.option("--quiet", is_flag=True, help="No progress display on stderr.")

# One meaning wherever folders are walked (hash, match, scan): see safelight.signals.walk.
follow_links_option = click.option(
    "--follow-links",
    is_flag=True,
    help="Follow symbolic links that leave the folder being walked (default: report them, "
    "do not follow). Each file is read once whatever the links.",
)
