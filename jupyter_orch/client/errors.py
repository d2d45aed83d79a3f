"""Errors raised by the client. Names follow the reference SDK where scripts catch them."""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Base of every error the client raises on purpose. Subclasses that several others
    combine call `ClientError.__init__` directly, so their constructors never chain oddly."""


class ServerNotFound(ClientError):
    """No jupyter-orch server could be found or reached."""


class ApiError(ClientError):
    """The server answered 4xx/5xx; `code` is the HTTP status, `msg` the server's sentence."""

    def __init__(self, msg: str, code: int):
        ClientError.__init__(self, f"{msg} (HTTP {code})")
        self.msg = msg
        self.code = code


class EntityNotFoundError(ClientError):
    """Something looked up by name or id does not exist (reference: `wallaroo.object`)."""

    def __init__(self, entity_type: str, params: dict[str, Any]):
        ClientError.__init__(self, f"{entity_type} not found: {params}")
        self.entity_type = entity_type
        self.params = params


class RequiredAttributeMissing(ClientError):
    """An object lacks an attribute it needs (reference: `wallaroo.object`)."""

    def __init__(self, class_name: str, attribute_name: str):
        ClientError.__init__(self, f"{class_name} is missing required attribute '{attribute_name}'")
        self.class_name = class_name
        self.attribute_name = attribute_name


class ApiNotFound(ApiError, EntityNotFoundError):
    """A 404 answer; catchable as `EntityNotFoundError` too."""

    def __init__(self, msg: str, code: int = 404):
        ApiError.__init__(self, msg, code)
        self.entity_type, self.params = "entity", {}


class ConnectionNotFound(EntityNotFoundError, RequiredAttributeMissing):
    """`get_connection` of an unknown name. Scripts written for the reference catch it as
    `RequiredAttributeMissing`, newer ones as `EntityNotFoundError`: both work."""

    def __init__(self, name: str):
        EntityNotFoundError.__init__(self, "Connection", {"name": name})
        self.class_name, self.attribute_name = "Connection", "name"


class WorkspaceNotFound(EntityNotFoundError):
    """A workspace looked up by name does not exist; the message is the reference SDK's."""

    def __init__(self, name: str):
        EntityNotFoundError.__init__(self, "Workspace", {"name": name})
        self.args = (
            f"Workspace with name {name} does not exist. If you would like to create one, send in "
            "the request with create_if_not_exist flag set to True.",
        )


class WaitTimeout(ClientError, TimeoutError):
    """A wait ran out of time; `status` is the last status seen."""

    def __init__(self, what: str, status: str | None, timeout: float | None):
        super().__init__(f"{what} did not reach the wanted status within {timeout} s; last status: {status}")
        self.what = what
        self.status = status
        self.timeout = timeout


class StatusError(ClientError):
    """A wait ended in a failure status (orchestration packaging `error`, deployment `Error`)."""

    def __init__(self, what: str, status: str, detail: str = ""):
        super().__init__(f"{what} ended in status '{status}'" + (f": {detail}" if detail else ""))
        self.what = what
        self.status = status
        self.detail = detail
