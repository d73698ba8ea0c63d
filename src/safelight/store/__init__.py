"""One storage layer: SQLite is the embedded default, PostgreSQL serves production."""

from safelight.store.database import Database, default_database_url

__all__ = ["Database", "default_database_url"]
