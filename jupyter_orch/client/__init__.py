"""The Python client of jupyter-orch, with the reference SDK's names and behaviour."""

from .base import Listing
from .client import Client
from .connection import Connection
from .errors import (
    ApiError,
    ClientError,
    ConnectionNotFound,
    EntityNotFoundError,
    RequiredAttributeMissing,
    ServerNotFound,
    StatusError,
    WaitTimeout,
    WorkspaceNotFound,
)
from .model import ModelVersion
from .orchestration import Orchestration
from .pipeline import Pipeline
from .task import RunArtifact, Task, TaskRun
from .workspace import Workspace

__all__ = [
    "ApiError",
    "Client",
    "ClientError",
    "Connection",
    "ConnectionNotFound",
    "EntityNotFoundError",
    "Listing",
    "ModelVersion",
    "Orchestration",
    "Pipeline",
    "RequiredAttributeMissing",
    "RunArtifact",
    "ServerNotFound",
    "StatusError",
    "Task",
    "TaskRun",
    "WaitTimeout",
    "Workspace",
    "WorkspaceNotFound",
]
