"""Authorizers the tests configure the server with (c.ServerApp.authorizer_class)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth import Authorizer


class ReadOnlyAuthorizer(Authorizer):
    """Lets everyone read anything and change nothing."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"


class NothingAuthorizer(Authorizer):
    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return False
