"""`wallaroo.Client`: our Client with the reference SDK's sign-in arguments and behaviour.

Scripts written for the reference pass `auth_type=`, `auth_endpoint=`, `interactive=` and the
like; jupyter-orch authenticates with the Jupyter server's token instead, so those are accepted
and have no effect. Where jupyter-orch's own client is kinder than the reference (a missing
workspace is None, lists show the current workspace), this one does what the reference does,
so a script fails, or lists, at the same line as there.
"""

from __future__ import annotations

from typing import Any

from jupyter_orch.client import Client as OrchClient
from jupyter_orch.client import Workspace, WorkspaceNotFound

from .task import Task

SIGN_IN_ONLY = {"auth_endpoint", "auth_type", "interactive", "time_format", "config"}


class Client(OrchClient):
    _task_class = Task

    def __init__(self, api_endpoint: str | None = None, request_timeout: float = 60.0, **kwargs: Any):
        unknown = set(kwargs) - SIGN_IN_ONLY - {"url", "token"}
        if unknown:
            raise TypeError(f"Client() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        super().__init__(
            kwargs.get("url"), kwargs.get("token"), api_endpoint=api_endpoint, request_timeout=request_timeout
        )

    def get_workspace(self, name: str, create_if_not_exist: bool = False) -> Workspace:
        """The workspace called `name`; `WorkspaceNotFound` when absent, unless `create_if_not_exist`."""
        found = super().get_workspace(name, create_if_not_exist)
        if found is None:
            raise WorkspaceNotFound(name)
        return found

    def _default_listing_scope(self) -> None:
        return None  # the reference lists every workspace's orchestrations and tasks
