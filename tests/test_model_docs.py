"""docs/model.md shows the signal-type registry as it is: its table is rendered from it."""

from __future__ import annotations

from pathlib import Path

from safelight.signals.types import SignalType, registry

DOCS = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def _row(kind: SignalType) -> str:
    aliases = ", ".join(f"`{a}`" for a in kind.aliases) or "-"
    width = f"{kind.hex_length} hex" if kind.hex_length else "JSON (frames)"
    quality = "-" if kind.min_quality is None else str(kind.min_quality)
    return (
        f"| `{kind.name}` | {aliases} | {', '.join(kind.content_types)} | {width} | "
        f"{kind.distance} | {kind.index_kind} | {kind.default_threshold} / "
        f"{kind.max_threshold} | {quality} |"
    )


def signal_types_table() -> str:
    head = (
        "| type | aliases (HMA, pytx) | content | width | distance | index | "
        "default / max threshold | quality cut-off |\n|---|---|---|---|---|---|---|---|\n"
    )
    return head + "".join(_row(kind) + "\n" for kind in registry)


def test_the_signal_type_table_is_the_registry() -> None:
    page = DOCS.read_text(encoding="utf-8")
    start = page.index("-->\n", page.index("<!-- signal-types:start")) + len("-->\n")
    end = page.index("<!-- signal-types:end")
    assert page[start:end] == signal_types_table(), "re-render the table in docs/model.md"
