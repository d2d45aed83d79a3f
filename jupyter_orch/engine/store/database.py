"""The store: a SQLAlchemy engine on SQLite (the default, a file in the data dir) or PostgreSQL
(a `postgresql+psycopg://` URL), migrated with Alembic on open, and a thread pool that runs every
database call off the server's event loop.

Domain code reads in `read()` and writes in `write()`; a write is one transaction (on SQLite it
takes the write lock up front, `BEGIN IMMEDIATE`, so two writers queue instead of failing). A
write inside a write of the same thread is a savepoint of it (one commit for both, each fsync
counts on a run's way to its first line), and a read inside a write sees what it wrote. The
driver's exceptions never leave this module: a uniqueness violation is `Duplicate` (a Conflict),
a value the database cannot hold is `Invalid`, a database that cannot be reached is `Unavailable`.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from ..errors import Conflict, Invalid, Unavailable
from .schema import metadata

P = ParamSpec("P")
T = TypeVar("T")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision that stands for the schema release 0.1.0 made itself (before Alembic).
RELEASE_0_1 = "0001"
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK = 0x6A6F7263  # "jorc": the advisory lock engines migrate a PostgreSQL database under
# FULL: each commit's WAL frames are fsynced before it is acknowledged, so a power cut loses no
# acknowledged commit (NORMAL may lose the last ones). Its cost: bench/durability.py.
SQLITE_SYNCHRONOUS = "FULL"


class Duplicate(Conflict):
    """A row with the same unique key exists."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Store:
    def __init__(self, url: str, threads: int = 4):
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if self.dialect == "sqlite":
            self.engine = create_engine(url, pool_size=threads + 1, connect_args={"check_same_thread": False})
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, pool_size=threads + 1, pool_pre_ping=True)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="orch-db")
        self._writing = threading.local()  # `conn`: the write this thread has open

    # --- schema ----------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the database to the current schema, JupyterHub's way: a new database gets the
        tables as they are now, stamped with the newest revision; one written by release 0.1.0
        (tables but no Alembic version) is stamped as that release, then upgraded."""
        with self._translated(), self.engine.begin() as conn:
            if self.dialect == "postgresql":  # engines starting together migrate one at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            current = MigrationContext.configure(conn).get_current_revision()
            if current is None and not inspect(conn).has_table("workspaces"):
                metadata.create_all(conn)
                command.stamp(config, "head")
                return
            if current is None:
                command.stamp(config, RELEASE_0_1)
            command.upgrade(config, "head")

    def revision(self) -> str | None:
        with self.read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # --- transactions ----------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        writing: Connection | None = getattr(self._writing, "conn", None)
        if writing is not None:
            yield writing
            return
        with self._translated(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        writing: Connection | None = getattr(self._writing, "conn", None)
        if writing is not None:  # a failure rolls back this part alone
            with self._translated(), writing.begin_nested():
                yield writing
            return
        with self._translated(), self.engine.connect() as conn:
            conn.execution_options(orch_write=True)
            self._writing.conn = conn
            try:
                with conn.begin():
                    yield conn
            finally:
                self._writing.conn = None

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` (which uses `read`/`write`) in the store's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as e:
            raise Duplicate(_first_line(e)) from None
        except DataError as e:  # e.g. a NUL character, which PostgreSQL's text cannot hold
            raise Invalid(f"a value cannot be stored: {_first_line(e)}") from None
        except OperationalError as e:
            raise Unavailable(f"the database is unavailable: {_first_line(e)}") from None
        except DBAPIError as e:
            if e.connection_invalidated:
                raise Unavailable(f"the database connection was lost: {_first_line(e)}") from None
            raise


def _first_line(error: DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__


def _configure_sqlite(engine: SqlEngine) -> None:
    """WAL with synchronous=FULL, a busy timeout and foreign keys on every connection; transactions begun by us (the
    driver's own implicit BEGIN is off), `BEGIN IMMEDIATE` for writes."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("orch_write") else "BEGIN")
