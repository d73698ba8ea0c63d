from __future__ import annotations

import click
from click.testing import CliRunner

from safelight import errors
from safelight.cli import main


def test_tree_maps_to_distinct_exit_codes_and_http() -> None:
    classes = [
        errors.UsageError,
        errors.NotFoundError,
        errors.ConflictError,
        errors.PermissionDeniedError,
        errors.StoreError,
        errors.IndexCorruptError,
    ]
    codes = [c.exit_code for c in classes]
    assert len(set(codes)) == len(codes)
    assert errors.UsageError.exit_code == errors.EXIT_USAGE
    assert errors.NotFoundError.http_status == 404
    assert issubclass(errors.MediaError, errors.InputError)
    assert errors.ValidationError("x").http_status == 422


def test_cli_turns_errors_into_message_and_exit_code() -> None:
    @click.command("boom")
    def boom() -> None:
        raise errors.NotFoundError("list 'x' does not exist")

    main.add_command(boom)
    try:
        result = CliRunner().invoke(main, ["boom"])
    finally:
        main.commands.pop("boom")
    assert result.exit_code == 3
    assert "error: list 'x' does not exist" in result.output


def test_validation_problems_are_listed() -> None:
    @click.command("bad")
    def bad() -> None:
        raise errors.ValidationError("2 invalid lines", [("a.txt:3", "not hex")])

    main.add_command(bad)
    try:
        result = CliRunner().invoke(main, ["bad"])
    finally:
        main.commands.pop("bad")
    assert result.exit_code == 1
    assert "a.txt:3: not hex" in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "0.1.0" in result.output
