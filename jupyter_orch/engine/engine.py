"""The Engine facade: owns the store, the event bus and every domain service."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .childenv import run_environ
from .errors import Unavailable
from .events.bus import EventBus
from .executors.base import Executor
from .executors.local import LocalExecutor
from .executors.sandbox import Sandbox
from .executors.warm import DEFAULT_PRELOAD, WarmPool
from .leftovers import remove_leftovers
from .orchestrations.blobs import BlobStore
from .orchestrations.environments import Environments
from .orchestrations.orchestrations import Orchestrations
from .orchestrations.zips import ZipLimits
from .pipelines.inference_log import InferenceLog
from .pipelines.onnx_models import Models
from .pipelines.pipelines import InferenceSettings, Pipelines
from .retention import Retention, RetentionSettings
from .store.database import Store, sqlite_url
from .store.leases import Leases
from .store.ownership import Ownership
from .tasks.artifacts import Artifacts
from .tasks.coordinator import Coordinator
from .tasks.tasks import Tasks
from .workspaces.connections import Connections
from .workspaces.secrets import SecretBox, load_keys
from .workspaces.workspaces import Workspaces

if TYPE_CHECKING:
    from .events.relay import PostgresRelay

Installer = Literal["auto", "uv", "pip"]
MissedFirePolicy = Literal["run_once", "skip", "run_all"]
OverlapPolicy = Literal["skip", "queue"]
DB_FILE_NAME = "orch.sqlite3"


@dataclass
class EngineConfig:
    data_dir: Path
    db_url: str | None = None  # None: a SQLite file in the data dir
    store_class: type[Store] = Store
    executor_class: type[Executor] = LocalExecutor
    environment_manager_class: type[Environments] = Environments
    max_upload_bytes: int = 256 * 1024 * 1024
    max_unpacked_bytes: int = 1024 * 1024 * 1024
    max_zip_files: int = 10_000
    max_compression_ratio: float = 200.0
    installer: Installer = "auto"
    packaging_timeout: float = 600.0
    server_url: str | None = None
    run_env: dict[str, str] = field(default_factory=dict)  # extra variables every run gets
    run_sandbox: Sandbox | None = None
    secret_key: str | None = None  # None: a key file generated in the data dir
    max_concurrent_runs: int = 4
    max_log_lines_per_run: int = 100_000
    kill_grace_seconds: float = 5.0
    missed_fire_policy: MissedFirePolicy = "run_once"
    overlap_policy: OverlapPolicy = "skip"
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    log_flush_rows: int = 500_000
    log_flush_seconds: float = 5.0
    warm_start: bool = False  # fork runs from warm interpreters (executors/warm.py); the server's default is on
    preload_modules: tuple[str, ...] = DEFAULT_PRELOAD
    public_url: str | None = None  # where runs reach the server (cluster workers); None: server_url
    executor_options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of executor_class
    blob_url: str | None = None  # a store every team server reaches (fsspec URL); None: the data dir only
    lease_seconds: float = 10.0  # an engine silent this long is dead; a dead leader's schedules resume within it
    inference_log_url: str | None = None  # None: <data_dir>/inference_logs; else a folder or fsspec URL
    retention: RetentionSettings = field(default_factory=RetentionSettings)

    def __post_init__(self) -> None:
        if self.max_concurrent_runs < 1:
            raise ValueError(f"max_concurrent_runs must be at least 1, got {self.max_concurrent_runs}")
        if not 0.5 <= self.lease_seconds <= 300:
            raise ValueError(f"lease_seconds must be between 0.5 and 300, got {self.lease_seconds}")

    @property
    def database_url(self) -> str:
        return self.db_url or sqlite_url(Path(self.data_dir) / DB_FILE_NAME)


class Engine:
    def __init__(self, config: EngineConfig):
        self.config = config
        data_dir = Path(config.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)  # the database, blobs, keys and run folders are the owner's alone
        if config.db_url is None:
            _create_private(data_dir / DB_FILE_NAME)  # SQLite makes its -wal and -shm with this mode
        self.store = config.store_class(config.database_url)
        self.id = str(uuid.uuid4())  # this engine, in the runs, fires and log lines it makes
        self.bus = EventBus(self.id)
        self.leases = Leases(self.store, self.id, config.lease_seconds)
        # SQLite: one engine per data dir (its lock); PostgreSQL: many, who hear each other.
        self.alone = self.store.dialect == "sqlite"
        self.relay: PostgresRelay | None = None
        if not self.alone:
            from .events.relay import PostgresRelay  # psycopg: only a PostgreSQL install has it

            self.relay = PostgresRelay(config.database_url, self.bus)
        self.blobs = BlobStore(data_dir / "blobs", config.blob_url)
        self.workspaces = Workspaces(self.store)
        box = SecretBox(load_keys(config.secret_key, data_dir))
        self.connections = Connections(self.store, self.workspaces, box)
        self.environments = config.environment_manager_class(
            self.store, data_dir / "envs", config.installer, config.packaging_timeout
        )
        self.orchestrations = Orchestrations(
            self.store,
            self.blobs,
            self.environments,
            self.workspaces,
            self.bus,
            data_dir / "unpacked",
            ZipLimits(config.max_unpacked_bytes, config.max_zip_files, config.max_compression_ratio),
            self.id,
        )
        executor = config.executor_class(data_dir / "runs", config.run_sandbox, **config.executor_options)
        # Warm interpreters fork runs on this machine; a sandboxed run starts inside bubblewrap.
        warm = config.warm_start and executor.local_files and not config.run_sandbox
        self.warm = WarmPool(config.preload_modules) if warm else None
        if self.warm is not None:
            executor.use_warm(self.warm)
        if config.warm_start and not executor.local_files:
            executor.remote_preload = tuple(config.preload_modules)
        self.tasks = Tasks(
            self.store, self.bus, self.workspaces, self.orchestrations, self.environments, executor, config,
            self.leases,
        )
        self.artifacts = Artifacts(data_dir / "artifacts", self.tasks.records)
        executor.keep_outputs = self.artifacts.keep
        self.coordinator = Coordinator(
            self.leases, self.tasks, self.alone, config.server_url, self.orchestrations.resume_interrupted
        )
        self.models = Models(self.store, self.blobs, self.workspaces)
        self.inference_log = InferenceLog(
            config.inference_log_url or data_dir / "inference_logs", config.log_flush_rows,
            config.log_flush_seconds, writer_id=log_writer_id(data_dir),
        )
        self.pipelines = Pipelines(
            self.store, self.models, self.workspaces, self.blobs, self.bus, self.inference_log,
            config.inference,
        )
        self.retention = Retention(
            self.store, self.blobs, self.orchestrations, self.tasks, self.models, self.artifacts, config.retention
        )
        self.ownership = Ownership(data_dir)
        self._started = False
        self.ready = asyncio.Event()  # set once start-up recovery is done (or refused)
        self.refusal: Unavailable | None = None  # why this engine does not run, if it does not

    async def start(self) -> None:
        """Take the database, migrate it and resume whatever a previous process left unfinished.
        If another engine holds it, stay stopped: `refusal` says why (the API answers 503)."""
        if self._started:
            return
        self._started = True
        if self.alone:
            try:
                await self.store.call(self.ownership.acquire, self.config.server_url)
            except Unavailable as refused:
                self.refusal = refused
                self.ready.set()
                raise
        self.bus.bind(asyncio.get_running_loop())
        await self.store.call(self.store.migrate)
        if self.relay is not None:
            await asyncio.to_thread(self.relay.start)
        await self.store.call(self.connections.seal_clear_rows)
        await self.environments.end_leftover_installers()
        running = await self.store.call(self.tasks.records.running_run_ids)
        await asyncio.to_thread(remove_leftovers, Path(self.config.data_dir), running)
        if self.warm is not None:  # the server environment's, for what every run starts with
            base = {**run_environ(os.environ), **self.config.run_env, "PYTHONUNBUFFERED": "1"}
            self.warm.prewarm(sys.executable, base)
        self.coordinator.url = self.config.server_url
        await self.tasks.runner.executor.open()
        await self.coordinator.start()
        await asyncio.to_thread(self.inference_log.start)
        await self.pipelines.resume()
        self.retention.start()
        self.ready.set()

    async def stop(self) -> None:
        self._started = False
        self.ready.clear()
        if self.refusal is not None:
            await asyncio.to_thread(self.store.close)
            return
        await self.retention.stop()
        await self.orchestrations.stop()
        await self.coordinator.stop()
        await self.tasks.stop()
        await self.coordinator.retire()
        await self.tasks.runner.executor.close()
        if self.warm is not None:
            await self.warm.stop()
        await self.pipelines.stop()
        await asyncio.to_thread(self.inference_log.close)
        if self.relay is not None:
            await asyncio.to_thread(self.relay.stop)
        await asyncio.to_thread(self.ownership.release)
        await asyncio.to_thread(self.store.close)


def log_writer_id(data_dir: Path) -> str:
    """Who writes an inference log's parts: this machine and data dir, the same across restarts
    (each writer compacts only its own parts, so a restarted server must know its old ones)."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:48]
    return f"{host}-{hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]}"


def _create_private(path: Path) -> None:
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)  # a file release 0.1.0 made world-readable
