"""Engine creation, migrations and transactions for the embedded and production stores."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from safelight.errors import StoreError
from safelight.store.redact import redact, url_passwords

# Hooks a transaction of ``Database.begin`` runs once it has committed (``after_commit``).
_AFTER_COMMIT = "safelight.after_commit"

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


@lru_cache(maxsize=1)
def _parents() -> dict[str, frozenset[str]]:
    """Each revision's parents: its down revisions and the revisions it depends on."""
    scripts = ScriptDirectory.from_config(migration_config())
    parents: dict[str, frozenset[str]] = {}
    for script in scripts.walk_revisions():
        names: set[str] = set()
        for field in (script.down_revision, script.dependencies):
            names.update((field,) if isinstance(field, str) else field or ())
        parents[script.revision] = frozenset(scripts.get_revision(name).revision for name in names)
    return parents


def applied(revisions: frozenset[str]) -> frozenset[str]:
    """Every revision a store at ``revisions`` has applied. Alembic's version table omits a
    head another branch depends on (``depends_on``), so stores are compared by this, not by
    the table's rows. Revisions unknown to this release stay as they are."""
    parents, seen, todo = _parents(), set(revisions), list(revisions)
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return frozenset(seen)


class Database:
    """A store: a SQLAlchemy engine plus its migrations.

    ``schema`` (PostgreSQL only) confines every table to one schema, which lets each test
    run on a database of its own inside the shared ``test`` database.

    ``url`` may hold a password: messages show ``shown_url`` and every error raised here has
    its text, the driver's included, passed through ``redact``, and does not chain the
    driver's exception (its text would show the password again), except an IntegrityError
    (SQL and parameters only), which callers inspect.
    """

    def __init__(self, url: str | None = None, *, schema: str | None = None) -> None:
        self.url = url or default_database_url()
        self.shown_url = redact(self.url)
        self._secrets = url_passwords(self.url)
        self.schema = schema or os.environ.get(ENV_SCHEMA) or None
        self.engine: Engine = self._make_engine()

    def __repr__(self) -> str:
        return f"Database({self.shown_url!r}, schema={self.schema!r})"

    def _error(self, what: str, exc: BaseException) -> StoreError:
        return StoreError(redact(f"{what}: {exc}", self._secrets))

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
        what = f"cannot use database {self.shown_url!r}"
        try:
            if "@" in (make_url(self.url).host or ""):
                # The driver would show the rest of the password as the host name.
                raise StoreError(f"{what}: its password holds '@': write it as %40")
            return create_engine(self.url, connect_args=connect_args, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise self._error(what, exc) from None

    def stored_revisions(self) -> frozenset[str] | None:
        """The revisions the store says it is at; None if it has no version table (new)."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text("SELECT version_num FROM alembic_version"))
                return frozenset(str(row[0]) for row in rows)
        except SQLAlchemyError:  # no table (or schema) yet: a new store
            return None

    def is_current(self) -> bool:
        stored = self.stored_revisions()
        return stored is not None and applied(stored) == applied(migration_heads())

    def check_current(self) -> None:
        """Raise ``StoreError`` (code ``schema_outdated``) unless the store is at every head.

        For fronts that must not migrate on their own (the service: one operator step,
        ``db upgrade``, migrates; several workers must not race to do it)."""
        stored = self.stored_revisions()
        heads = applied(migration_heads())
        if stored is not None and applied(stored) == heads:
            return
        where = f"database {self.shown_url!r}"
        if not stored:
            problem = f"{where} has no Safelight schema (it was never migrated)"
        elif stored - heads and not _known(stored - heads):
            newer = ", ".join(sorted(stored - heads))
            problem = f"{where} was migrated by a newer release (revisions {newer})"
        else:
            missing = ", ".join(sorted(heads - applied(stored)))
            problem = f"{where} is behind this release (it lacks revisions {missing})"
        raise StoreError(problem, code="schema_outdated")

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
        except (SQLAlchemyError, CommandError) as exc:
            # CommandError: a revision this release does not know (a newer release's store).
            raise self._error(f"cannot migrate database {self.shown_url!r}", exc) from None

    @contextmanager
    def begin(self, *, lock: bool = False) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any exception.

        ``lock`` takes SQLite's write lock at the start (BEGIN IMMEDIATE), waiting for it
        under the busy timeout: a transaction that reads, then writes, could otherwise fail
        at once when another process wrote in between. PostgreSQL needs no such step."""
        hooks: list[Callable[[], object]] = []
        try:
            with self.engine.begin() as conn:
                if lock and self.dialect == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                finally:  # off the pooled connection whatever happens
                    hooks = conn.info.pop(_AFTER_COMMIT, [])
        except SQLAlchemyError as exc:
            raise self._error("database error", exc) from _inspectable(exc)
        for hook in hooks:  # committed
            hook()

    @staticmethod
    def after_commit(conn: Connection, hook: Callable[[], object]) -> None:
        """Run ``hook`` once the transaction of ``conn`` (from ``begin``) has committed;
        never if it rolls back."""
        conn.info.setdefault(_AFTER_COMMIT, []).append(hook)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._error("database error", exc) from _inspectable(exc)

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        """``with Database.open() as db:``: connections are released however the block ends."""
        self.dispose()

    @classmethod
    def open(
        cls, url: str | None = None, *, schema: str | None = None, migrate: bool = True
    ) -> Database:
        """Open and migrate: what every command does before touching data.

        With ``migrate=False`` the store is only checked: a store not at every head raises
        ``StoreError`` (code ``schema_outdated``) and nothing is changed."""
        db = cls(url, schema=schema)
        try:
            db.migrate() if migrate else db.check_current()
        except BaseException:
            db.dispose()  # close the pool's connections, not leave them to the collector
            raise
        return db


def _known(revisions: frozenset[str]) -> bool:
    """Whether every one of ``revisions`` is a migration script of this release."""
    scripts = ScriptDirectory.from_config(migration_config())
    try:
        return all(scripts.get_revision(rev) is not None for rev in revisions)
    except CommandError:  # a revision id no script of this release has
        return False


def _inspectable(exc: SQLAlchemyError) -> SQLAlchemyError | None:
    """The cause to chain: an IntegrityError (its text is SQL, callers test for it), else
    none, since a connection error's text can hold the URL."""
    return exc if isinstance(exc, IntegrityError) else None
