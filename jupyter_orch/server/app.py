"""OrchApp: the jupyter_server extension that embeds the engine and serves the REST API."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Int, Unicode, default

from ..engine import Engine, EngineConfig
from ..engine.pipelines import InferenceSettings
from . import connections, files, inference, models, orchestrations, pipelines, tasks, workspaces  # noqa: F401  (modules register their routes)
from .base import ROUTES
from .events import EventsSocket

URL_ENV = "JUPYTER_ORCH_URL"
TOKEN_ENV = "JUPYTER_ORCH_TOKEN"


class OrchApp(ExtensionApp):
    name = "jupyter_orch"
    load_other_extensions = True

    data_dir = Unicode(help="Where jupyter-orch keeps its database, blobs, environments and logs.").tag(config=True)
    max_upload_bytes = Int(256 * 1024 * 1024, help="Largest accepted upload (413 above).").tag(config=True)
    max_unpacked_bytes = Int(1024 * 1024 * 1024, help="Largest unpacked size of an orchestration zip.").tag(config=True)
    max_zip_files = Int(10_000, help="Most files an orchestration zip may hold.").tag(config=True)
    installer = Unicode("auto", help="Requirement installer: 'uv', 'pip' or 'auto' (uv when present).").tag(config=True)
    max_concurrent_runs = Int(
        4, help="Task runs that may run at once; more wait in a FIFO queue as pending."
    ).tag(config=True)
    max_log_lines_per_run = Int(
        100_000, help="Most log lines stored per task run; one line says when the rest was dropped."
    ).tag(config=True)
    kill_grace_seconds = Float(
        5.0, help="Seconds between SIGTERM and SIGKILL when a run is killed or times out."
    ).tag(config=True)
    missed_fire_policy = Enum(
        ["run_once", "skip", "run_all"], "run_once",
        help="Schedule fires missed while the server was down: run the latest once, skip them, or run each.",
    ).tag(config=True)
    overlap_policy = Enum(
        ["skip", "queue"], "skip",
        help="A fire while the task's previous run still runs: skip it (and log it) or queue one run behind.",
    ).tag(config=True)
    inference_threads = Int(
        1, help="onnxruntime intra-op threads per model session (1 is fastest here; see bench/inference.py)."
    ).tag(config=True)
    inference_workers = Int(
        0, help="Threads a large inference batch is split over (0: one per CPU core)."
    ).tag(config=True)
    inference_log_flush_seconds = Float(
        5.0, help="Longest time an inference row stays in memory before it is written to Parquet."
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "orch")

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            data_dir=Path(self.data_dir),
            max_upload_bytes=self.max_upload_bytes,
            max_unpacked_bytes=self.max_unpacked_bytes,
            max_zip_files=self.max_zip_files,
            installer=self.installer,
            max_concurrent_runs=self.max_concurrent_runs,
            max_log_lines_per_run=self.max_log_lines_per_run,
            kill_grace_seconds=self.kill_grace_seconds,
            missed_fire_policy=self.missed_fire_policy,
            overlap_policy=self.overlap_policy,
            inference=InferenceSettings(
                threads=self.inference_threads, workers=self.inference_workers or os.cpu_count() or 1
            ),
            log_flush_seconds=self.inference_log_flush_seconds,
        )

    def initialize_settings(self) -> None:
        self.engine = Engine(self.engine_config())
        self.settings["orch_engine"] = self.engine

    def initialize_handlers(self) -> None:
        self.handlers.extend(ROUTES)
        self.handlers.append((r"/v1/api/events", EventsSocket))

    async def _start_jupyter_server_extension(self, serverapp) -> None:  # type: ignore[no-untyped-def]
        # Kernels and task runs started from here find the server through these variables.
        os.environ[URL_ENV] = serverapp.connection_url
        os.environ[TOKEN_ENV] = serverapp.identity_provider.token or ""
        self.engine.config.server_url = serverapp.connection_url
        self.engine.config.server_token = serverapp.identity_provider.token or ""
        await self.engine.start()

    async def stop_extension(self) -> None:
        await self.engine.stop()


main = launch_new_instance = OrchApp.launch_instance
