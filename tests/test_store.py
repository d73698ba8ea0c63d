from __future__ import annotations

import logging
import os
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from safelight.cli import main
from safelight.errors import StoreError
from safelight.store import Database
from safelight.store.database import applied, migration_config, migration_heads
from safelight.store.redact import redact
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


def test_a_migrated_store_is_current_though_alembic_omits_a_depended_on_head(
    db: Database,
) -> None:
    """hotline_routing_0002 depends on referrals_0001 (a head of its own branch): Alembic's
    version table then leaves referrals_0001 out, and a front that checks without migrating
    (the service, the demo's serve command) refused the store as "behind this release"."""
    stored = db.stored_revisions()
    assert stored is not None and "referrals_0001" in migration_heads()
    assert "referrals_0001" in applied(stored)
    assert db.is_current()
    db.check_current()  # raised StoreError before


def test_current_store_skips_alembic(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic import command

    assert applied(db.stored_revisions() or frozenset()) == applied(migration_heads())

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


# --- credentials never reach a message ------------------------------------------------------

SECRET = "s3cretpw"
NO_SERVER = "127.0.0.1:1"  # nothing listens on port 1
PASSWORD_URLS = [
    f"postgresql+psycopg://user:{SECRET}@{NO_SERVER}/none",
    f"postgresql+psycopg://user:{SECRET}@127.0.0.1:notaport/none",
    f"postgresql+nosuchdriver://user:{SECRET}@{NO_SERVER}/none",
    f"postgresql+psycopg://user:{SECRET}@pw@{NO_SERVER}/none",  # '@' not percent-encoded
    f"postgresql+psycopg://user:{SECRET}@{NO_SERVER}/none?sslmode=bogus",
    f"postgresql+psycopg://user@{NO_SERVER}/none?password={SECRET}",
    f"host=127.0.0.1 port=1 user=u password={SECRET} dbname=x",  # a libpq DSN, not a URL
]


def _assert_hidden(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    shown = [str(exc), "".join(traceback.format_exception(exc))]
    shown += [record.getMessage() for record in caplog.records]
    shown += [record.exc_text or "" for record in caplog.records]
    for text_shown in shown:
        assert SECRET not in text_shown


@pytest.mark.parametrize("url", PASSWORD_URLS)
def test_store_errors_never_show_the_password(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError) as info:
        Database.open(url)
    assert "cannot " in info.value.message
    _assert_hidden(info.value, caplog)


@pytest.mark.parametrize("url", PASSWORD_URLS[:2])
def test_cli_store_errors_never_show_the_password(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAFELIGHT_HOME", str(tmp_path))
    monkeypatch.setenv("SAFELIGHT_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["lists", "ls"])
    assert result.exit_code == 6, result.output
    assert "user:***@" in result.stderr
    assert SECRET not in result.stderr + result.output


def test_redact_hides_url_and_dsn_passwords() -> None:
    assert redact("postgresql+psycopg://u:p%40ss@h:5432/d") == "postgresql+psycopg://u:***@h:5432/d"
    assert redact("x 'mysql://u:a@b@h/d' y") == "x 'mysql://u:***@h/d' y"
    assert redact("host=h password='a b' user=u") == "host=h password=*** user=u"
    assert redact("pg://h/d?user=u&password=p&x=1") == "pg://h/d?user=u&password=***&x=1"
    assert redact("pg://u@h/d and pg://h/d") == "pg://u@h/d and pg://h/d"  # nothing to hide
    assert redact("failed for 'hunter2'", secrets=["hunter2"]) == "failed for '***'"


def _postgres_url() -> str:
    url = os.environ.get("SAFELIGHT_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("needs SAFELIGHT_DATABASE_URL set to a PostgreSQL URL")
    # Trust authentication accepts any password: the server answers, the password is ours.
    return make_url(url).set(password=SECRET).render_as_string(hide_password=False)


def test_postgres_errors_never_show_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = _postgres_url()
    missing_database = make_url(url).set(database="no_such_database_here")
    bad_schema = 'no"such'
    schema = f"t_{uuid.uuid4().hex[:12]}"
    unknown_revision = Database(url, schema=schema)
    try:
        with unknown_revision.engine.begin() as conn:  # a store from a newer release
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'CREATE TABLE "{schema}".alembic_version (version_num text)'))
            conn.execute(text(f"INSERT INTO \"{schema}\".alembic_version VALUES ('9999_future')"))
        cases = [
            (missing_database.render_as_string(hide_password=False), None),
            (url, bad_schema),
            (url, schema),
        ]
        for case_url, case_schema in cases:
            with pytest.raises(StoreError) as info:
                Database.open(case_url, schema=case_schema)
            assert (
                "cannot migrate database 'postgresql+psycopg://postgres:***@" in info.value.message
            )
            _assert_hidden(info.value, caplog)
    finally:
        with unknown_revision.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        unknown_revision.dispose()
