"""Durable records in SQL: a SQLite file by default, PostgreSQL by URL.

:func:`open_database` turns a URL (empty: ``sqlite:///<data_dir>/hotline.db``) into a
:class:`Database` whose schema is brought up to date by the Alembic migrations in
``hotline/db/migrations`` before anything else touches it. Driver exceptions are translated
into :class:`DatabaseError` here and nowhere else.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from hotline.config.settings import mask_url
from hotline.db import tables
from hotline.errors import HotlineError

__all__ = ["Database", "DatabaseError", "open_database", "tables"]

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseError(HotlineError):
    """The database cannot be reached, migrated or written."""

    error_id = "database_error"
    status = 503


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'hotline.db'}"


def _normalise(url: str) -> str:
    # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


class Database:
    """A migrated database: an engine plus transactional helpers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def url(self) -> str:
        """The URL with any password hidden (safe to log)."""
        return mask_url(self.engine.url.render_as_string(hide_password=False))

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database error on {self.url}: {exc.__class__.__name__}: "
                                f"{str(exc).splitlines()[0]}") from exc

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent).

        Several processes may start at once on one database: the migration runs under a lock
        (an advisory lock on PostgreSQL, a lock file beside a SQLite file), so the second
        process finds the schema already current instead of racing to create it.
        """
        config = _alembic_config()
        try:
            with self._migration_lock(), self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7461626)")
                config.attributes["connection"] = connection
                command.upgrade(config, "heads")
        except SQLAlchemyError as exc:
            # the driver's first line says what failed; the rest is SQLAlchemy's boilerplate
            raise DatabaseError(f"cannot migrate the database at {self.url}: "
                                f"{str(exc).splitlines()[0]}") from exc

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def revision(self) -> set[str]:
        with self.engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())

    @staticmethod
    def head_revisions() -> set[str]:
        return set(ScriptDirectory.from_config(_alembic_config()).get_heads())

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, data_dir: Path | None = None, migrate: bool = True) -> Database:
    """Connect to ``url`` (empty: a SQLite file in ``data_dir``) and migrate it."""
    if not url:
        if data_dir is None:
            raise DatabaseError("no database URL is configured and there is no data folder")
        data_dir.mkdir(parents=True, exist_ok=True)
        url = default_url(data_dir)
    url = _normalise(url)
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError) as exc:
        raise DatabaseError(f"cannot use database URL {mask_url(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    database = Database(engine)
    if migrate:
        database.migrate()
    log.info("database ready at %s", database.url)
    return database


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
