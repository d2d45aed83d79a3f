"""An engine running on the test's event loop, stopped however the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jupyter_orch.engine import Engine, EngineConfig


@asynccontextmanager
async def running_engine(data_dir: Path, **config: Any) -> AsyncIterator[Engine]:
    engine = Engine(EngineConfig(data_dir=data_dir, **config))
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()
