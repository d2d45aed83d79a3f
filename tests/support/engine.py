"""An engine running on the test's event loop, stopped however the test ends. It uses the
database the test runs on (see tests/conftest.py's `db_url`): a SQLite file in the data dir, or
a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory

from jupyter_orch.engine import Engine, EngineConfig
from jupyter_orch.engine.store.database import MIGRATIONS, sqlite_url

current_db_url: str | None = None  # set per test by the `db_url` fixture


def database_url(data_dir: Path) -> str:
    return current_db_url or sqlite_url(data_dir / "orch.sqlite3")


@asynccontextmanager
async def running_engine(data_dir: Path, **config: Any) -> AsyncIterator[Engine]:
    engine = Engine(EngineConfig(data_dir=data_dir, db_url=current_db_url, **config))
    await engine.start()
    if engine.warm is not None:  # the first runs are warm ones
        await engine.warm.wait_ready()
    try:
        yield engine
    finally:
        await engine.stop()


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
