"""docs/cli.md shows the exact ``--help`` of every registered command.

Each command needs a fenced block in docs/cli.md holding ``$ safelight <command> --help``
and then the help text verbatim, rendered at 80 columns. To print the current blocks:
``.venv/bin/python tests/test_cli_docs.py [command prefix ...]``; with ``--write`` the blocks
already in docs/cli.md are replaced by the current ones (new commands still need a place).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from safelight.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
WIDTH = 80


def command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every registered command and subcommand (the root group's own help is not pinned:
    it lists every domain's commands and changes with each one added)."""
    paths = []
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, (*prefix, name)))
    return paths


def help_block(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(
        main, [*path, "--help"], prog_name="safelight", terminal_width=WIDTH
    )
    assert result.exit_code == 0, result.output
    return f"```console\n$ safelight {' '.join(path)} --help\n{result.output}```\n"


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_help_is_in_the_cli_docs(path: tuple[str, ...]) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    block = help_block(path)
    assert block in docs, (
        f"docs/cli.md lacks the current help of `safelight {' '.join(path)}`; "
        f"print it with: .venv/bin/python tests/test_cli_docs.py {' '.join(path)}\n{block}"
    )


def test_there_are_commands_to_check() -> None:
    assert ("lists", "import") in command_paths()


def rewrite_blocks(docs: str) -> tuple[str, list[tuple[str, ...]]]:
    """``docs`` with every pinned help block replaced by the current one; and the commands
    that have no block yet."""
    missing = []
    for path in command_paths():
        opening = f"```console\n$ safelight {' '.join(path)} --help\n"
        start = docs.find(opening)
        if start < 0:
            missing.append(path)
            continue
        end = docs.index("```\n", start + len(opening)) + len("```\n")
        docs = docs[:start] + help_block(path) + docs[end:]
    return docs, missing


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--write"]:
        updated, absent = rewrite_blocks(DOCS.read_text(encoding="utf-8"))
        DOCS.write_text(updated, encoding="utf-8")
        for path in absent:
            print(f"no block yet for: safelight {' '.join(path)}", file=sys.stderr)
    else:
        for found in command_paths():
            if found[: len(args)] == tuple(args):
                print(help_block(found))
