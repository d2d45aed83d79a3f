"""Who may call jupyter-orch's routes, and for what.

People are authorized by the server's own Authorizer (`c.ServerApp.authorizer_class`) on the
resource `orch`, with action `read` for routes that change nothing and `write` for the rest.

A task run calls the API with its own credential (minted when it starts, revoked when it ends;
engine/tasks/credentials.py). Only jupyter-orch's handlers know those tokens: they are not the
server's, so the contents, kernels and terminals APIs and every other extension refuse them.
A run is confined to its task's workspace: a request naming no workspace means the run's own,
one naming another is refused, an object of another workspace is refused or left out of a list,
and routes that reach beyond a workspace (creating workspaces, managing connections) are closed
to runs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from jupyter_server.auth import Authorizer, User
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..engine import Engine
from ..engine.tasks.credentials import RunCredentials, RunGrant

AUTH_RESOURCE = "orch"
READ, WRITE = "read", "write"
API_PREFIX = "/v1/api/"

READ_ROUTES = frozenset({
    "workspaces/list",
    "orchestration/list", "orchestration/list_all", "orchestration/get_by_id", "orchestration/files",
    "task/get_by_id", "task/list", "task/get_tasks_by_orch_sha", "task/list_task_runs", "task/get_logs_for_run",
    "task/next_fires", "task/list_run_artifacts",
    "connections/get", "connections/get_by_id", "connections/list",
    "models/list", "models/get",
    "pipelines/list", "pipelines/get", "pipelines/status", "pipelines/get_logs",
    "events",
})
CLOSED_TO_RUNS = frozenset({
    "workspaces/create", "task/get_tasks_by_orch_sha",
    "connections/create", "connections/delete", "connections/add_to_workspace", "connections/remove_from_workspace",
    # an orchestration's files are for people in the sidebar, not for runs (and not scoped by workspace)
    "orchestration/files",
    # a list of ids from any workspace: deleting orchestrations is for people
    "orchestration/delete_orchestrations",
    # reads the server's own files: for people
    "orchestration/upload_notebook",
    # a run's files are for people (a run has its own outputs at hand)
    "task/list_run_artifacts",
})
CLOSED_TO_RUNS_BELOW = ("orchestration/file/", "orchestration/zip/", "task/artifact/")
F = TypeVar("F", bound=Callable[..., Any])
TOKEN_HEADER = re.compile(r"(?:token|bearer)\s+(\S+)\s*$", re.IGNORECASE)


def authorized_to(action: str) -> Callable[[F], F]:
    """jupyter_server's `@authorized(action)` (resource: the handler's `auth_resource`), typed."""
    return cast(Callable[[F], F], authorized(action))


def route_of(path: str) -> str:
    """`v1/api/task/kill` -> `task/kill` (whatever the server's base_url)."""
    return path.split(API_PREFIX, 1)[1] if API_PREFIX in path else path


def action_of(method: str, route: str) -> str:
    """`read` for a GET (a download, the push channel) or a POST route that changes nothing."""
    return READ if method in ("GET", "HEAD") or route in READ_ROUTES else WRITE


@dataclass
class RunUser(User):
    """The identity of a task run's credential."""

    grant: RunGrant | None = None


class RunAuthorizer(Authorizer):
    """What a run's credential may do: read and write jupyter-orch (never another resource);
    which objects is decided by `RunScope`."""

    def is_authorized(self, handler: web.RequestHandler, user: User, action: str, resource: str) -> bool:
        return isinstance(user, RunUser) and resource == AUTH_RESOURCE


class RunTokenIdentity:
    """The server's identity provider, as seen by jupyter-orch's handlers only: a run's token
    authenticates as that run; anything else goes to the server's provider."""

    def __init__(self, server: Any, credentials: RunCredentials):
        self._server = server
        self._credentials = credentials

    def get_user(self, handler: web.RequestHandler) -> User | Awaitable[User | None] | None:
        match = TOKEN_HEADER.match(handler.request.headers.get("Authorization", ""))
        grant = self._credentials.identify(match.group(1)) if match else None
        if grant is None:
            return self._server.get_user(handler)
        setattr(handler, "_token_authenticated", True)  # noqa: B010 (what jupyter_server's token login sets)
        return RunUser(username=f"run-{grant.run_id}", grant=grant)

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        if isinstance(getattr(handler, "current_user", None), RunUser):
            return True
        return bool(self._server.is_token_authenticated(handler))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


Resolver = Callable[[Engine, Any], Awaitable[int]]


async def _task_workspace(engine: Engine, task_id: str) -> int:
    return (await engine.tasks.get(task_id, 0)).workspace_id


async def _run_workspace(engine: Engine, run_id: str) -> int:
    run = await engine.store.call(engine.tasks.records.get_run, run_id)
    return await _task_workspace(engine, run.task)


async def _orchestration_workspace(engine: Engine, orch_id: str) -> int:
    return (await engine.orchestrations.get(orch_id)).workspace_id


async def _model_workspace(engine: Engine, ref: int | str) -> int:
    return (await engine.models.get(ref)).workspace_id


# Routes that name an object by id: (request field, how to find its workspace), checked before
# the route acts, so a refused write changes nothing.
OWNED_BY_ID: dict[str, tuple[str, Resolver]] = {
    "orchestration/get_by_id": ("id", _orchestration_workspace),
    "task/get_by_id": ("id", _task_workspace),
    "task/kill": ("id", _task_workspace),
    "task/delete": ("id", _task_workspace),
    "task/pause": ("id", _task_workspace),
    "task/update_schedule": ("id", _task_workspace),
    "task/next_fires": ("id", _task_workspace),
    "task/run_now": ("id", _task_workspace),
    "task/rerun": ("id", _run_workspace),
    "task/update_chain": ("id", _task_workspace),
    "task/list_task_runs": ("task_id", _task_workspace),
    "task/get_logs_for_run": ("id", _run_workspace),
    "models/get": ("id", _model_workspace),
    "models/configure": ("model_version_id", _model_workspace),
    "models/delete": ("id", _model_workspace),
}


class RunScope:
    """Confines one run's request to its workspace."""

    def __init__(self, grant: RunGrant, route: str):
        self.grant = grant
        self.route = route
        own_zip = route == f"orchestration/zip/{grant.orch_id}"  # what a cluster worker fetches to run it
        if route in CLOSED_TO_RUNS or (route.startswith(CLOSED_TO_RUNS_BELOW) and not own_zip):
            raise web.HTTPError(403, f"a task run may not call {route}")

    def fields(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request's fields with the run's workspace filled in; another one is refused."""
        given = body.get("workspace_id")
        if given is None:
            return {**body, "workspace_id": self.grant.workspace_id}
        if given != self.grant.workspace_id and str(given) != str(self.grant.workspace_id):
            raise self._refused()
        return body

    async def check_target(self, engine: Engine, request: Any) -> None:
        owned = OWNED_BY_ID.get(self.route)
        value = getattr(request, owned[0], None) if owned else None
        if owned and value is not None and await owned[1](engine, value) != self.grant.workspace_id:
            raise self._refused()

    async def answer(self, engine: Engine, answer: Any) -> Any:
        """A JSON-ready answer with other workspaces' objects left out (or refused, when the
        answer is one such object)."""
        workspace_name = (await engine.workspaces.get(self.grant.workspace_id)).name
        if not self._visible(answer, workspace_name):
            raise self._refused()
        if isinstance(answer, list):
            return [item for item in answer if self._visible(item, workspace_name)]
        if isinstance(answer, dict):
            return {k: [i for i in v if self._visible(i, workspace_name)] if isinstance(v, list) else v
                    for k, v in answer.items()}
        return answer

    def _visible(self, value: Any, workspace_name: str) -> bool:
        if not isinstance(value, dict):
            return True
        if self.route == "workspaces/list" and "id" in value and "name" in value:
            return bool(value["id"] == self.grant.workspace_id)
        if value.get("workspace_id") not in (None, self.grant.workspace_id):
            return False
        return "workspace_names" not in value or workspace_name in value["workspace_names"]

    def _refused(self) -> web.HTTPError:
        return web.HTTPError(403, f"a task run may only use its own workspace ({self.grant.workspace_id})")
