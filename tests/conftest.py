"""Shared fixtures: a fresh store per test on SQLite (default) or PostgreSQL.

Set SAFELIGHT_DATABASE_URL to a PostgreSQL URL to run every store test there; each test then
gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from safelight.store import Database

# The browser tests' fixtures (server, browser, shots): tests/browser_support.py.
pytest_plugins = ("tests.browser_support",)


def _find_conformance() -> Path:
    # ../shared beside the clone (CI, main checkout), or further up for git worktrees.
    override = os.environ.get("SAFELIGHT_CONFORMANCE_DIR")
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents[1:]:
        candidate = parent / "shared" / "conformance"
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "shared" / "conformance"


CONFORMANCE = _find_conformance()


def conformance_dir(*parts: str) -> Path:
    """A folder of ../shared/conformance, or a skip that says why it is absent."""
    path = CONFORMANCE.joinpath(*parts)
    if not path.is_dir():
        pytest.skip(f"conformance data not found at {path} (see DEVELOPERS.md: shared/)")
    return path


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    url = os.environ.get("SAFELIGHT_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'store.db'}", None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield url, schema
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def db(database_url: tuple[str, str | None]) -> Iterator[Database]:
    url, schema = database_url
    database = Database.open(url, schema=schema)
    yield database
    database.dispose()


@pytest.fixture
def safelight_env(
    tmp_path: Path, database_url: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Environment for CLI tests: a private home and the test's database."""
    url, schema = database_url
    home = tmp_path / "home"
    monkeypatch.setenv("SAFELIGHT_HOME", str(home))
    monkeypatch.setenv("SAFELIGHT_DATABASE_URL", url)
    if schema:
        monkeypatch.setenv("SAFELIGHT_DATABASE_SCHEMA", schema)
    else:
        monkeypatch.delenv("SAFELIGHT_DATABASE_SCHEMA", raising=False)
    return home
