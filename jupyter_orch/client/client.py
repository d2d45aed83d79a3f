"""`Client`: the reference SDK's entry point, talking to a jupyter-orch server over REST."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..constants import DRY_RUN_TASK_PREFIX, TASK_ARGS_FILE_ENV
from .base import Listing
from .connection import Connection
from .discovery import find_server
from .display import parse_time, time_text
from .endpoint import InferenceEndpoint
from .errors import ApiNotFound, ConnectionNotFound, EntityNotFoundError, ServerNotFound, WorkspaceNotFound
from .folders import zip_folder
from .frontend import announce_workspace
from .http import Http, NoServer
from .model import ModelVersion
from .orchestration import Orchestration
from .pipeline import Pipeline
from .task import Task
from .workspace import Workspace

if TYPE_CHECKING:
    from .dryrun import DryRun

DEFAULT_WORKSPACE = "default"
TASK_ID_ENVS = ("TASK_ID", "WALLAROO_TASK_ID")


class Client:
    """Connect to a jupyter-orch server.

    With no arguments the server is found by itself: `JUPYTER_ORCH_URL`/`JUPYTER_ORCH_TOKEN`
    (set in kernels and task runs the server starts), else the first running Jupyter server in
    the runtime dir that serves jupyter-orch. `url`/`token` (or the reference's `api_endpoint`)
    name one explicitly.
    """

    _task_class: type[Task] = Task  # the `wallaroo` shim's client makes the reference's tasks

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        api_endpoint: str | None = None,
        request_timeout: float = 60.0,
    ):
        try:
            base, token = find_server(url or api_endpoint, token)
            self._http = Http(base, token, request_timeout)
        except ServerNotFound:
            if not (_task_id() or "").startswith(DRY_RUN_TASK_PREFIX):
                raise
            self._http = NoServer(request_timeout)
            base = self._http.url
        self._inference = InferenceEndpoint(self._http)
        self.auth = self._http.auth
        self.api_endpoint = base.rstrip("/")
        self._current_workspace: Workspace | None = None
        self._workspace_names: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"Client(url={self._http.url!r})"

    # -- workspaces ---------------------------------------------------------------------------
    def list_workspaces(self) -> Listing[Workspace]:
        answer = self._http.post("workspaces/list")
        workspaces = Listing(Workspace(self, w) for w in answer["workspaces"])
        self._workspace_names = {w.id(): w.name() for w in workspaces}
        return workspaces

    def create_workspace(self, workspace_name: str) -> Workspace:
        workspace_id = self._http.post("workspaces/create", {"workspace_name": workspace_name})["workspace_id"]
        return next(w for w in self.list_workspaces() if w.id() == workspace_id)

    def get_workspace(self, name: str, create_if_not_exist: bool = False) -> Workspace | None:
        """The workspace called `name`; None when absent, unless `create_if_not_exist`."""
        found = self._workspace_named(name)
        if found is None and create_if_not_exist:
            return self.create_workspace(name)
        return found

    def _workspace_named(self, name: str) -> Workspace | None:
        return next((w for w in self.list_workspaces() if w.name() == name), None)

    def _workspace_name(self, workspace_id: int) -> str:
        """The name of a workspace, for tables; one `workspaces/list` per unknown id."""
        if workspace_id not in self._workspace_names:
            self.list_workspaces()
        return self._workspace_names.get(workspace_id, "")

    def set_current_workspace(self, workspace: Workspace, *, announce: bool = True) -> Workspace:
        """Make `workspace` the one calls default to; in a notebook the JupyterLab sidebar
        follows it (unless `announce=False`)."""
        if not isinstance(workspace, Workspace):
            raise TypeError(f"set_current_workspace takes a Workspace, not {workspace!r}")
        self._current_workspace = workspace
        if announce:
            announce_workspace(workspace.id(), workspace.name())
        return workspace

    def get_current_workspace(self) -> Workspace:
        """The workspace calls default to: the task's own inside a task run, else one named
        `default` (made on first use)."""
        if self._current_workspace is None:
            self._current_workspace = self._task_workspace() or self.get_workspace(
                DEFAULT_WORKSPACE, create_if_not_exist=True
            )
        return self._current_workspace  # type: ignore[return-value]

    def _task_workspace(self) -> Workspace | None:
        task_id = _task_id()
        if task_id is None:
            return None
        try:
            workspace_id = self.get_task_by_id(task_id).workspace_id()
        except ApiNotFound:
            return None
        return next((w for w in self.list_workspaces() if w.id() == workspace_id), None)

    # -- models and pipelines -----------------------------------------------------------------
    def upload_model(self, name: str, path: str | Path, framework: Any = None) -> ModelVersion:
        """Upload an ONNX model file into the current workspace."""
        if framework is not None and str(getattr(framework, "value", framework)).lower() != "onnx":
            raise ValueError(f"only ONNX models are supported, not {framework}")
        path = Path(path)
        metadata = {"name": name, "workspace_id": self.get_current_workspace().id()}
        with path.open("rb") as model_file:
            answer = self._http.send(
                "models/upload",
                files=[
                    ("file", (path.name, model_file, "application/octet-stream")),
                    ("metadata", ("metadata", json.dumps(metadata), "application/json")),
                ],
            ).json()
        return ModelVersion(self, answer)

    def build_pipeline(self, pipeline_name: str) -> Pipeline:
        """Create the pipeline in the current workspace, or get it when it exists."""
        body = {"pipeline_id": pipeline_name, "workspace_id": self.get_current_workspace().id()}
        return Pipeline(self, self._http.post("pipelines/create", body))

    def list_pipelines(self) -> Listing[Pipeline]:
        """Pipelines of the current workspace."""
        return self._pipelines(self.get_current_workspace().id())

    def _pipelines(self, workspace_id: int | None) -> Listing[Pipeline]:
        body = {} if workspace_id is None else {"workspace_id": workspace_id}
        return Listing(Pipeline(self, p) for p in self._http.post("pipelines/list", body)["pipelines"])

    def pipelines_by_name(self, pipeline_name: str) -> Listing[Pipeline]:
        """Every pipeline called `pipeline_name`, the current workspace's first;
        `EntityNotFoundError` when there is none."""
        current = self.get_current_workspace().id()
        found = [p for p in self._pipelines(None) if p.name() == pipeline_name]
        if not found:
            raise EntityNotFoundError("Pipeline", {"pipeline_name": pipeline_name})
        return Listing(sorted(found, key=lambda p: p.workspace_id() != current))

    def get_pipeline(self, name: str) -> Pipeline:
        """The pipeline called `name` (in the current workspace when it has one)."""
        return self.pipelines_by_name(name)[0]

    # -- orchestrations and tasks -------------------------------------------------------------
    def upload_orchestration(
        self,
        bytes_buffer: bytes | None = None,
        path: str | Path | None = None,
        name: str | None = None,
        file_name: str | None = None,
        entrypoint: str | None = None,
    ) -> Orchestration:
        """Upload a zip (bytes, a .zip path, or a directory zipped here) to the current workspace;
        `entrypoint` names the script or notebook to run (default: main.py, else main.ipynb)."""
        if (bytes_buffer is None) == (path is None):
            raise ValueError("give exactly one of bytes_buffer= and path=")
        if path is not None:
            path = Path(path)
            bytes_buffer = zip_folder(path) if path.is_dir() else path.read_bytes()
            file_name = file_name or (path.name + ".zip" if path.is_dir() else path.name)
        metadata = {"workspace_id": self.get_current_workspace().id(), "name": name,
                    **({"entrypoint": entrypoint} if entrypoint else {})}
        answer = self._http.send(
            "orchestration/upload",
            files=[
                ("file", (file_name or f"{name or 'orchestration'}.zip", bytes_buffer, "application/octet-stream")),
                ("metadata", ("metadata", json.dumps(metadata), "application/json")),
            ],
        ).json()
        return self.get_orchestration_by_id(answer["id"])

    def get_orchestration_by_id(self, orchestration_id: str) -> Orchestration:
        return Orchestration(self, self._http.post("orchestration/get_by_id", {"id": orchestration_id}))

    def list_orchestrations(
        self, workspace_id: int | None = None, workspace_name: str | None = None
    ) -> Listing[Orchestration]:
        """Orchestrations of the workspace named by id or name, else of the current workspace."""
        scope = self._listing_scope(workspace_id, workspace_name)
        answer = (
            self._http.post_all("orchestration/list_all")
            if scope is None
            else self._http.post_all("orchestration/list", {"workspace_id": scope})
        )
        return Listing(Orchestration(self, o) for o in answer)

    def list_tasks(
        self, killed: bool = False, workspace_id: int | None = None, workspace_name: str | None = None
    ) -> Listing[Task]:
        """Tasks of the workspace named by id or name, else of the current workspace; killed
        ones too when `killed`."""
        scope = self._listing_scope(workspace_id, workspace_name)
        body: dict[str, Any] = {} if scope is None else {"workspace_id": scope}
        if not killed:
            body["killed"] = False
        return Listing(self._task_class(self, t) for t in self._http.post_all("task/list", body))

    def _listing_scope(self, workspace_id: int | None, workspace_name: str | None) -> int | None:
        """The workspace id a listing is limited to; None for every workspace."""
        if workspace_name is not None:
            named = self._workspace_named(workspace_name)
            if named is None:
                raise WorkspaceNotFound(workspace_name)
            if workspace_id is not None and workspace_id != named.id():
                raise ValueError(f"workspace {workspace_id} is not called {workspace_name!r}")
            return named.id()
        return workspace_id if workspace_id is not None else self._default_listing_scope()

    def _default_listing_scope(self) -> int | None:
        """What lists show without a filter: the current workspace (the `wallaroo` shim's
        client lists every workspace, as the reference does)."""
        return self.get_current_workspace().id()

    def get_task_by_id(self, task_id: str) -> Task:
        return self._task_class(self, self._http.post("task/get_by_id", {"id": task_id}))

    def next_fires(
        self, schedule: str, tz: str | None = None, count: int = 5, *,
        end_date: datetime | str | None = None, max_runs: int | None = None,
    ) -> list[datetime]:
        """Preview a schedule before making a task of it: its next `count` fires (UTC), on the
        wall clock of `tz` (default UTC), as the server works them out."""
        body = {"schedule": schedule, "tz": tz, "count": count, "end_date": time_text(end_date), "max_runs": max_runs}
        fires = self._http.post("task/next_fires", {k: v for k, v in body.items() if v is not None})["fires"]
        return [at for at in map(parse_time, fires) if at is not None]

    def in_task(self) -> bool:
        """True inside a task run."""
        return _task_id() is not None

    @staticmethod
    def dry_run(path_or_zip: str | Path | bytes, json_args: dict[str, Any] | None = None, *,
                echo: bool = True) -> DryRun:
        """Run an orchestration folder or zip here, in a subprocess, as a task run would run
        (its requirements environment, variables and log capture), without uploading it: each
        line is printed as it arrives; the answer has `exit_code` and `lines`. No server is
        needed (`Client.dry_run(...)` works without one)."""
        from .dryrun import dry_run  # the engine's modules it uses are loaded only for a dry run

        return dry_run(path_or_zip, json_args, echo=echo)

    def task_args(self) -> dict[str, Any]:
        """The task's `json` arguments inside a task run; `{}` anywhere else."""
        task_id = _task_id()
        if task_id is None:
            return {}
        args_file = os.environ.get(TASK_ARGS_FILE_ENV)
        if args_file and Path(args_file).is_file():
            return json.loads(Path(args_file).read_text() or "{}")
        return self.get_task_by_id(task_id).input_data()

    # -- connections --------------------------------------------------------------------------
    def create_connection(self, name: str, connection_type: str, connection_details: dict[str, Any]) -> Connection:
        body = {"name": name, "type": connection_type, "details": connection_details}
        connection_id = self._http.post("connections/create", body)["id"]
        return Connection(self, self._http.post("connections/get_by_id", {"id": connection_id}))

    def get_connection(self, name: str) -> Connection:
        """The connection called `name`; `ConnectionNotFound` (an `EntityNotFoundError` and a
        `RequiredAttributeMissing`) when there is none."""
        try:
            return Connection(self, self._http.post("connections/get", {"name": name}))
        except ApiNotFound:
            raise ConnectionNotFound(name) from None

    def list_connections(self) -> Listing[Connection]:
        return self._connections(None)

    def _connections(self, workspace_id: int | None) -> Listing[Connection]:
        body = {} if workspace_id is None else {"workspace_id": workspace_id}
        return Listing(Connection(self, c) for c in self._http.post_all("connections/list", body, "connections"))

    def delete_connection(self, name: str) -> None:
        self._http.post("connections/delete", {"name": name})

    def add_connection_to_workspace(self, workspace_id: int, connection_id: str) -> None:
        self._http.post("connections/add_to_workspace", {"workspace_id": workspace_id, "connection_id": connection_id})

    def remove_connection_from_workspace(self, workspace_id: int, connection_id: str) -> None:
        self._http.post(
            "connections/remove_from_workspace", {"workspace_id": workspace_id, "connection_id": connection_id}
        )


def _task_id() -> str | None:
    return next((os.environ[k] for k in TASK_ID_ENVS if os.environ.get(k)), None)
