"""OrchApp: the jupyter_server extension that embeds the engine and serves the REST API."""

from __future__ import annotations

import ast
import gc
import os
from pathlib import Path
from typing import Any, cast

from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir, jupyter_runtime_dir
from jupyter_server.extension.application import ExtensionApp
from tornado import web
from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Type, Unicode, default, validate
from traitlets.config.loader import DeferredConfigString

from ..constants import TOKEN_ENV, URL_ENV
from ..engine import Engine, EngineConfig, Unavailable
from ..engine.engine import Installer, MissedFirePolicy, OverlapPolicy
from ..engine.executors.base import Executor
from ..engine.executors.local import LocalExecutor
from ..engine.executors.sandbox import Sandbox
from ..engine.executors.warm import DEFAULT_PRELOAD
from ..engine.orchestrations.environments import Environments
from ..engine.pipelines.pipelines import InferenceSettings
from ..engine.retention import RetentionSettings
from ..engine.store.database import Store
from . import (
    artifacts,
    connections,
    files,
    inference,
    models,
    notebooks,
    orchestrations,
    pipelines,
    tasks,
    workspaces,
)
from .events import EventsSocket
from .inference_endpoint import InferenceEndpoint
from .inference_keys import InferenceKeys
from .state_events import StateEvents

# Every route, in one list: `v1/api/<path>` -> handler.
API_ROUTES: list[tuple[str, type[web.RequestHandler]]] = [
    ("workspaces/create", workspaces.CreateWorkspace),
    ("workspaces/list", workspaces.ListWorkspaces),
    ("orchestration/upload", orchestrations.UploadOrchestration),
    ("orchestration/upload_notebook", notebooks.UploadNotebook),
    ("orchestration/list", orchestrations.ListOrchestrations),
    ("orchestration/list_all", orchestrations.ListAllOrchestrations),
    ("orchestration/get_by_id", orchestrations.GetOrchestration),
    ("orchestration/delete_orchestrations", orchestrations.DeleteOrchestrations),
    ("orchestration/files", files.ListFiles),
    (r"orchestration/file/([^/]+)", files.GetFile),
    (r"orchestration/zip/([^/]+)", files.GetZip),
    ("task/run_once", tasks.RunOnce),
    ("task/run_scheduled", tasks.RunScheduled),
    ("task/run_continuously", tasks.RunContinuously),
    ("task/get_by_id", tasks.GetTask),
    ("task/list", tasks.ListTasks),
    ("task/get_tasks_by_orch_sha", tasks.TasksByOrchSha),
    ("task/kill", tasks.KillTask),
    ("task/delete", tasks.DeleteTask),
    ("task/list_task_runs", tasks.ListTaskRuns),
    ("task/get_logs_for_run", tasks.RunLogs),
    ("task/pause", tasks.PauseTask),
    ("task/update_schedule", tasks.UpdateSchedule),
    ("task/next_fires", tasks.NextFires),
    ("task/run_now", tasks.RunNow),
    ("task/rerun", tasks.Rerun),
    ("task/update_chain", tasks.UpdateChain),
    ("task/list_run_artifacts", artifacts.ListRunArtifacts),
    (r"task/artifact/([^/]+)", artifacts.GetArtifact),
    ("connections/create", connections.CreateConnection),
    ("connections/get", connections.GetConnection),
    ("connections/get_by_id", connections.GetConnectionById),
    ("connections/list", connections.ListConnections),
    ("connections/delete", connections.DeleteConnection),
    ("connections/add_to_workspace", connections.AddConnectionToWorkspace),
    ("connections/remove_from_workspace", connections.RemoveConnectionFromWorkspace),
    ("models/upload", models.UploadModel),
    ("models/list", models.ListModels),
    ("models/get", models.GetModel),
    ("models/configure", models.ConfigureModel),
    ("models/delete", models.DeleteModel),
    ("pipelines/create", pipelines.CreatePipeline),
    ("pipelines/list", pipelines.ListPipelines),
    ("pipelines/get", pipelines.GetPipeline),
    ("pipelines/add_model_step", pipelines.AddModelStep),
    ("pipelines/clear", pipelines.ClearPipeline),
    ("pipelines/deploy", pipelines.DeployPipeline),
    ("pipelines/undeploy", pipelines.UndeployPipeline),
    ("pipelines/delete", pipelines.DeletePipeline),
    ("pipelines/status", pipelines.PipelineStatus),
    (r"pipelines/infer/([^/]+)", inference.Infer),
    ("pipelines/inference_url", inference.InferenceUrl),
    ("pipelines/get_logs", inference.GetLogs),
]
ROUTES: list[tuple[str, type[web.RequestHandler]]] = [(rf"/v1/api/{path}", cls) for path, cls in API_ROUTES]


SECRET_KEY_ENV = "JUPYTER_ORCH_SECRET_KEY"


class OrchApp(ExtensionApp):
    name = "jupyter_orch"
    load_other_extensions = True

    data_dir = Unicode(help="Where jupyter-orch keeps its database, blobs, environments and logs.").tag(config=True)
    db_url = Unicode(
        "",
        help="SQLAlchemy URL of the database. Empty: a SQLite file in data_dir. A team shares one "
        "PostgreSQL: postgresql+psycopg://user:password@host:5432/dbname",
    ).tag(config=True)
    store_class = Type(Store, klass=Store, help="The store (database access) class.").tag(config=True)
    executor_class = Type(LocalExecutor, klass=Executor, help="Where task runs execute (the executor class).").tag(
        config=True
    )
    environment_manager_class = Type(
        Environments, klass=Environments, help="Builds the Python environments orchestrations run in."
    ).tag(config=True)
    max_upload_bytes = Int(256 * 1024 * 1024, help="Largest accepted upload (413 above).").tag(config=True)
    max_unpacked_bytes = Int(1024 * 1024 * 1024, help="Largest unpacked size of an orchestration zip.").tag(config=True)
    max_zip_files = Int(10_000, help="Most files an orchestration zip may hold.").tag(config=True)
    max_compression_ratio = Float(
        200.0, help="Largest ratio of an orchestration zip's unpacked size to its compressed size (zip bombs)."
    ).tag(config=True)
    packaging_timeout = Float(
        600.0, help="Seconds installing an orchestration's requirements may take; then it is killed and fails."
    ).tag(config=True)
    run_env = Dict(
        value_trait=Unicode(), key_trait=Unicode(),
        help="Extra environment variables every task run gets. Runs otherwise see only PATH, HOME, LANG, "
        "LC_*, TZ and their task's variables, never the server's environment.",
    ).tag(config=True)
    run_sandbox = Enum(
        ["none", "bubblewrap"], "none",
        help="'bubblewrap': each run in a bubblewrap sandbox (own PID namespace; the Jupyter runtime dir, "
        "config dir and data dir hidden). Turn it on where other people can upload orchestrations.",
    ).tag(config=True)
    secret_key = Unicode(
        help="Fernet key(s) sealing connection details at rest; ';' between keys to rotate (the first seals). "
        f"Default: ${SECRET_KEY_ENV}, else a key generated once into <data_dir>/secret.key (mode 0600).",
    ).tag(config=True)
    installer = Enum(
        ["auto", "uv", "pip"], "auto", help="Requirement installer: 'uv', 'pip' or 'auto' (uv when present)."
    ).tag(config=True)
    max_concurrent_runs = Int(
        4, help="Task runs that may run at once (at least 1); more wait in a FIFO queue as pending."
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
    public_url = Unicode(
        "",
        help="The URL at which task runs reach this server's API; runs on a cluster's workers need one "
        "they can reach. Empty: the server's own URL.",
    ).tag(config=True)
    blob_url = Unicode(
        "",
        help="Team servers on several machines: a store every server reaches, as an fsspec URL (a shared "
        "folder file:///…, S3-compatible s3://…), where orchestration zips and model files are kept too. "
        "Empty: the data dir only.",
    ).tag(config=True)
    lease_seconds = Float(
        10.0,
        help="Team servers on one PostgreSQL: an engine silent this long is taken for dead (its runs are "
        "recovered by another), and a dead leader's schedules resume within it. Between 0.5 and 300.",
    ).tag(config=True)
    inference_threads = Int(
        1, help="onnxruntime intra-op threads per model session (1 is fastest here; see bench/inference.py)."
    ).tag(config=True)
    inference_workers = Int(
        0, help="Threads a large inference batch is split over (0: one per CPU core)."
    ).tag(config=True)
    warm_start = Bool(
        True, help="Fork each task run from a warm interpreter of its environment, which has imported "
        "preload_modules already, instead of starting a fresh Python (not with run_sandbox).",
    ).tag(config=True)
    preload_modules = List(
        Unicode(), list(DEFAULT_PRELOAD),
        help="Modules a warm interpreter imports once for all its runs; one that cannot be imported is "
        "skipped (and logged).",
    ).tag(config=True)
    inference_port = Int(
        0, help="Port of the inference endpoint, which answers pipelines/infer/<name> outside jupyter_server "
        "(a one-row inference in about 0.5 ms instead of 3-4) for keys from pipelines/inference_url; on the "
        "server's own ip. 0: any free port; -1: none. Not started when the server serves HTTPS.",
    ).tag(config=True)
    inference_key_seconds = Float(
        3600.0, help="How long a key from pipelines/inference_url works (a run's key also ends with the run)."
    ).tag(config=True)
    inference_log_flush_seconds = Float(
        5.0, help="Longest time an inference row stays in memory before it is written to Parquet."
    ).tag(config=True)
    keep_runs_per_task = Int(
        0, help="Ended runs kept per task (with their logs); older ones are removed hourly. 0: keep every run."
    ).tag(config=True)
    run_retention_days = Float(
        0.0, help="Ended runs older than this many days are removed hourly (with their logs). 0: keep them."
    ).tag(config=True)
    inference_log_url = Unicode(
        "",
        help="Where inference logs live: a folder, a file:// URL of a shared folder or any fsspec URL "
        "(s3://bucket/prefix). Several servers may share one; each writes and compacts its own parts. "
        "Empty: <data_dir>/inference_logs.",
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "orch")

    @default("secret_key")
    def _default_secret_key(self) -> str:
        return os.environ.get(SECRET_KEY_ENV, "")

    @validate("max_concurrent_runs")
    def _at_least_one_run(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"max_concurrent_runs must be at least 1, got {proposal['value']}")
        return int(proposal["value"])

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            data_dir=Path(self.data_dir),
            db_url=self.db_url or None,
            store_class=self.store_class,
            executor_class=self.executor_class,  # type: ignore[type-abstract]
            environment_manager_class=self.environment_manager_class,
            max_upload_bytes=self.max_upload_bytes,
            max_unpacked_bytes=self.max_unpacked_bytes,
            max_zip_files=self.max_zip_files,
            max_compression_ratio=self.max_compression_ratio,
            installer=cast(Installer, self.installer),
            packaging_timeout=self.packaging_timeout,
            run_env=dict(self.run_env),
            run_sandbox=self._sandbox(),
            secret_key=self.secret_key or None,
            max_concurrent_runs=self.max_concurrent_runs,
            max_log_lines_per_run=self.max_log_lines_per_run,
            kill_grace_seconds=self.kill_grace_seconds,
            missed_fire_policy=cast(MissedFirePolicy, self.missed_fire_policy),
            overlap_policy=cast(OverlapPolicy, self.overlap_policy),
            lease_seconds=self.lease_seconds,
            blob_url=self.blob_url or None,
            public_url=self.public_url or None,
            executor_options=self._executor_options(),
            inference=InferenceSettings(
                threads=self.inference_threads, workers=self.inference_workers or os.cpu_count() or 1
            ),
            log_flush_seconds=self.inference_log_flush_seconds,
            inference_log_url=self.inference_log_url or None,
            retention=RetentionSettings(self.keep_runs_per_task or None, self.run_retention_days or None),
            warm_start=self.warm_start,
            preload_modules=tuple(self.preload_modules),
        )

    def _executor_options(self) -> dict[str, Any]:
        """The executor's own settings: `c.<ExecutorClass>.<name>` (e.g. `c.DaskExecutor.
        scheduler_address`), passed to its constructor. The engine knows no traitlets, so a
        value given on the command line arrives as text and is read as a Python literal."""
        name = self.executor_class.__name__
        section = self.config.get(name, {})
        options: dict[str, Any] = {}
        for key, value in section.items():
            if isinstance(value, DeferredConfigString):
                try:
                    value = ast.literal_eval(value)
                except (ValueError, SyntaxError):
                    value = str(value)
            options[key] = value
        return options

    def _sandbox(self) -> Sandbox | None:
        if self.run_sandbox == "none":
            return None
        serverapp = self.serverapp
        hidden = [self.data_dir, jupyter_runtime_dir(), jupyter_config_dir()]
        if serverapp is not None:
            hidden += [serverapp.runtime_dir, serverapp.config_dir]
        problem = Sandbox.problem()
        if problem:
            self.log.error("c.OrchApp.run_sandbox = 'bubblewrap' cannot work here, so every run will fail "
                           "until it is fixed: %s", problem)
        return Sandbox(tuple(dict.fromkeys(Path(p).resolve() for p in hidden)))

    def initialize_settings(self) -> None:
        self.engine = Engine(self.engine_config())
        self.settings["orch_engine"] = self.engine
        assert self.serverapp is not None  # initialize_settings runs only once linked to a server
        self.state_events = StateEvents(self.serverapp.event_logger, self.engine.bus)
        keys = InferenceKeys(self.engine.tasks.credentials, self.inference_key_seconds)
        self.inference_endpoint = InferenceEndpoint(self.engine.pipelines, keys, self.serverapp.max_body_size)
        self.settings["orch_inference_endpoint"] = self.inference_endpoint

    def initialize_handlers(self) -> None:
        self.handlers.extend(ROUTES)
        self.handlers.append((r"/v1/api/events", EventsSocket))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Task runs find the server through their own variables (with their own token); kernels
        # through their launch environment. Never os.environ: terminals would inherit the token.
        self.engine.config.server_url = serverapp.connection_url
        _share_server_with_kernels(serverapp)
        try:
            await self.engine.start()
        except Unavailable as refused:  # the server itself goes on: only jupyter-orch's API is off
            self.log.error("jupyter-orch: %s", refused.msg)
        else:
            await self._start_inference_endpoint(serverapp)
        # What the server holds once started (modules, classes, the apps) lives as long as it
        # does: out of the cyclic collector's walk, a full collection during a chatty run takes
        # under 10 ms, not 130-150 ms (bench/loop.py; the loop stalls for all of it).
        gc.freeze()

    async def _start_inference_endpoint(self, serverapp: Any) -> None:
        if self.inference_port < 0:
            return
        if serverapp.certfile:
            self.log.info("jupyter-orch: no inference endpoint, the server serves HTTPS: pipelines/infer only")
            return
        try:
            await self.inference_endpoint.start(serverapp.ip, self.inference_port)
        except OSError as e:
            self.log.error("jupyter-orch: no inference endpoint on port %s: %s", self.inference_port, e)
            return
        self.log.info("jupyter-orch: inference endpoint on port %s", self.inference_endpoint.port)

    async def stop_extension(self) -> None:
        await self.inference_endpoint.stop()
        self.state_events.close()
        await self.engine.stop()


def _share_server_with_kernels(serverapp: Any) -> None:
    """Kernels the server starts (for a notebook's session or through api/kernels) get the
    server's URL and token in their launch environment."""
    kernels = serverapp.kernel_manager
    start_kernel = kernels.start_kernel
    found = {URL_ENV: serverapp.connection_url, TOKEN_ENV: serverapp.identity_provider.token or ""}

    async def start_kernel_finding_server(*args: Any, **kwargs: Any) -> str:
        kwargs["env"] = {**kwargs.get("env", os.environ), **found}
        return await start_kernel(*args, **kwargs)

    kernels.start_kernel = start_kernel_finding_server


main = launch_new_instance = OrchApp.launch_instance
