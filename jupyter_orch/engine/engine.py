"""The Engine facade: owns the store, the event bus and every domain service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from .events.bus import EventBus
from .orchestrations.blobs import BlobStore
from .orchestrations.environments import Environments
from .orchestrations.orchestrations import Orchestrations
from .orchestrations.zips import ZipLimits
from .pipelines.inference_log import InferenceLog
from .pipelines.onnx_models import Models
from .pipelines.pipelines import InferenceSettings, Pipelines
from .store.database import Store
from .tasks.tasks import Tasks
from .workspaces.connections import Connections
from .workspaces.workspaces import Workspaces


@dataclass
class EngineConfig:
    data_dir: Path
    max_upload_bytes: int = 256 * 1024 * 1024
    max_unpacked_bytes: int = 1024 * 1024 * 1024
    max_zip_files: int = 10_000
    installer: str = "auto"  # "uv", "pip" or "auto" (uv when present)
    server_url: str | None = None
    server_token: str | None = None
    max_concurrent_runs: int = 4
    max_log_lines_per_run: int = 100_000
    kill_grace_seconds: float = 5.0
    missed_fire_policy: str = "run_once"  # "run_once", "skip" or "run_all"
    overlap_policy: str = "skip"  # "skip" or "queue"
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    log_flush_rows: int = 500_000
    log_flush_seconds: float = 5.0


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
        self.tasks = Tasks(
            self.store, self.bus, self.workspaces, self.orchestrations, self.environments, config,
            data_dir / "runs",
        )
        self.models = Models(self.store, self.blobs, self.workspaces)
        self.inference_log = InferenceLog(
            data_dir / "inference_logs", config.log_flush_rows, config.log_flush_seconds
        )
        self.pipelines = Pipelines(
            self.store, self.models, self.workspaces, self.blobs, self.bus, self.inference_log,
            config.inference,
        )
        self._started = False
        self.ready = asyncio.Event()  # set once start-up recovery is done

    async def start(self) -> None:
        """Bind to the running loop and resume whatever a previous process left unfinished."""
        if self._started:
            return
        self._started = True
        self.bus.bind(asyncio.get_running_loop())
        self.orchestrations.resume_interrupted()
        await self.tasks.start()
        await asyncio.to_thread(self.inference_log.start)
        self.pipelines.resume()
        self.ready.set()

    async def stop(self) -> None:
        self._started = False
        self.ready.clear()
        await self.orchestrations.stop()
        await self.tasks.stop()
        await self.pipelines.stop()
        await asyncio.to_thread(self.inference_log.close)
        self.store.close()
