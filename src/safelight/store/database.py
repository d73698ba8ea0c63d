"""Engine creation, migrations and transactions for the embedded and production stores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from safelight.errors import StoreError

ENV_DATABASE_URL = "SAFELIGHT_DATABASE_URL"
ENV_HOME = "SAFELIGHT_HOME"
# PostgreSQL schema to confine tables to (tests give each run its own).
ENV_SCHEMA = "SAFELIGHT_DATABASE_SCHEMA"


def default_home() -> Path:
    """Where the embedded store and indexes live: $SAFELIGHT_HOME or ./.safelight."""
    return Path(os.environ.get(ENV_HOME, ".safelight"))


def default_database_url() -> str:
    """$SAFELIGHT_DATABASE_URL, else an SQLite file in the Safelight home."""
    url = os.environ.get(ENV_DATABASE_URL)
    if url:
        return url
    return f"sqlite:///{default_home() / 'safelight.db'}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers proceed while a writer commits; the busy timeout makes concurrent CLI
    # processes wait for the lock instead of failing at once.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def migration_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("safelight.store") / "migrations"))
    return cfg


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The newest revision of every domain branch, from the migration scripts."""
    return frozenset(ScriptDirectory.from_config(migration_config()).get_heads())


class Database:
    """A store: a SQLAlchemy engine plus its migrations.

    ``schema`` (PostgreSQL only) confines every table to one schema, which lets each test
    run on a database of its own inside the shared ``test`` database.
    """

    def __init__(self, url: str | None = None, *, schema: str | None = None) -> None:
        self.url = url or default_database_url()
        self.schema = schema or os.environ.get(ENV_SCHEMA) or None
        self.engine: Engine = self._make_engine()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _make_engine(self) -> Engine:
        if self.url.startswith("sqlite"):
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(self.url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        connect_args: dict[str, Any] = {}
        if self.schema:
            connect_args["options"] = f"-csearch_path={self.schema}"
        try:
            return create_engine(self.url, connect_args=connect_args, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot use database {self.url!r}: {exc}") from exc

    def stored_revisions(self) -> frozenset[str] | None:
        """The revisions the store says it is at; None if it has no version table (new)."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text("SELECT version_num FROM alembic_version"))
                return frozenset(str(row[0]) for row in rows)
        except SQLAlchemyError:  # no table (or schema) yet: a new store
            return None

    def is_current(self) -> bool:
        return self.stored_revisions() == migration_heads()

    def migrate(self) -> None:
        """Bring the schema to the newest revision of every domain branch.

        A store already at every head is left alone: one query instead of loading Alembic's
        migration environment on every command."""
        if self.is_current():
            return
        try:
            with self.engine.begin() as conn:
                if self.dialect == "sqlite":
                    # pysqlite runs DDL outside any transaction unless one was begun: without
                    # this, a kill mid-migration left a half-made schema no command could open.
                    conn.exec_driver_sql("BEGIN")
                if self.schema and self.dialect == "postgresql":
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                cfg = migration_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate database {self.url!r}: {exc}") from exc

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any exception."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}") from exc

    def dispose(self) -> None:
        self.engine.dispose()

    @classmethod
    def open(cls, url: str | None = None, *, schema: str | None = None) -> Database:
        """Open and migrate: what every command does before touching data."""
        db = cls(url, schema=schema)
        db.migrate()
        return db
