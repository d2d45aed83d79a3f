"""Database work runs in the store's thread pool: a slow query delays neither the event loop
nor other requests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from tests.support.engine import running_engine

SLOW_S = 1.5


async def test_a_slow_query_blocks_neither_the_loop_nor_other_requests(tmp_path: Path) -> None:
    async with running_engine(tmp_path / "data") as engine:
        await engine.workspaces.create("ws", "tester")

        def slow_read() -> None:
            with engine.store.read() as db:
                if engine.store.dialect == "postgresql":
                    db.execute(text(f"SELECT pg_sleep({SLOW_S})"))
                else:  # SQLite has no sleep in SQL: hold a read transaction open as long
                    db.execute(text("SELECT count(*) FROM workspaces"))
                    time.sleep(SLOW_S)

        slow = asyncio.ensure_future(engine.store.call(slow_read))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        ticks = 0
        while time.monotonic() - started < 0.5:  # the loop keeps turning
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks >= 20
        before = time.monotonic()
        assert [w.name for w in await engine.workspaces.list()] == ["ws"]
        created = await engine.workspaces.create("second", "tester")  # a write, too
        assert created.name == "second" and time.monotonic() - before < 0.5
        assert not slow.done()
        await slow
