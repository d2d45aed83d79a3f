"""The Engine facade: owns the store, the event bus and every domain service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from .blobs import BlobStore
from .connections import Connections
from .environments import Environments
from .events import EventBus
from .orchestrations import Orchestrations
from .store import Store
from .workspaces import Workspaces
from .zips import ZipLimits


@dataclass
class EngineConfig:
    data_dir: Path
    max_upload_bytes: int = 256 * 1024 * 1024
    max_unpacked_bytes: int = 1024 * 1024 * 1024
    max_zip_files: int = 10_000
    installer: str = "auto"  # "uv", "pip" or "auto" (uv when present)
    server_url: str | None = None
    server_token: str | None = None


class Engine:
    def __init__(self, config: EngineConfig):
        self.config = config
        data_dir = Path(config.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "orch.sqlite3")
        self.bus = EventBus()
        self.blobs = BlobStore(data_dir / "blobs")
        self.workspaces = Workspaces(self.store)
        self.connections = Connections(self.store, self.workspaces)
        self.environments = Environments(self.store, data_dir / "envs", config.installer)
        self.orchestrations = Orchestrations(
            self.store,
            self.blobs,
            self.environments,
            self.workspaces,
            self.bus,
            data_dir / "unpacked",
            ZipLimits(config.max_unpacked_bytes, config.max_zip_files),
        )
        self._started = False

    async def start(self) -> None:
        """Bind to the running loop and resume whatever a previous process left unfinished."""
        if self._started:
            return
        self._started = True
        self.bus.bind(asyncio.get_running_loop())
        self.orchestrations.resume_interrupted()

    async def stop(self) -> None:
        self._started = False
        await self.orchestrations.stop()
        self.store.close()
