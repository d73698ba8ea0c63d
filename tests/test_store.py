from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from safelight.errors import StoreError
from safelight.store import Database
from safelight.store.database import migration_config, migration_heads
from safelight.store.schema import store_info


def test_migrate_creates_tables_and_is_repeatable(db: Database) -> None:
    db.migrate()  # a second run must be a no-op
    names = inspect(db.engine).get_table_names()
    assert "store_info" in names
    assert "alembic_version" in names


def test_transaction_rolls_back_on_error(db: Database) -> None:
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError):
        with db.begin() as conn:
            conn.execute(store_info.insert().values(key="k", value="v", updated_at=now))
            raise RuntimeError("killed mid-way")
    with db.connect() as conn:
        assert conn.execute(select(store_info)).fetchall() == []


def test_unreachable_database_is_a_store_error() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError) as info:
        db.migrate()
    assert "cannot migrate" in info.value.message


def test_default_store_is_sqlite_in_safelight_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFELIGHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("SAFELIGHT_HOME", str(tmp_path))
    db = Database.open()
    try:
        assert db.dialect == "sqlite"
        assert (tmp_path / "safelight.db").exists()
        with db.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"
    finally:
        db.dispose()


def test_current_store_skips_alembic(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command

    assert db.stored_revisions() == migration_heads()

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the migration environment was loaded for a current store")

    monkeypatch.setattr(command, "upgrade", refuse)
    db.migrate()


def test_store_behind_a_head_is_upgraded(database_url: tuple[str, str | None]) -> None:
    from alembic import command

    url, schema = database_url
    db = Database(url, schema=schema)
    try:
        with db.engine.begin() as conn:  # the base revision only, as an older release left it
            if schema:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            cfg = migration_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001_base")
        assert db.stored_revisions() == {"0001_base"} and not db.is_current()
        db.migrate()
        assert db.is_current()
        assert "network_cases" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()


def test_new_store_has_no_revisions(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        assert db.stored_revisions() is None and not db.is_current()
        db.migrate()
        assert db.is_current()
    finally:
        db.dispose()
