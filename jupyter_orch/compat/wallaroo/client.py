"""`wallaroo.Client`: our Client, accepting the reference SDK's sign-in arguments.

Scripts written for the reference pass `auth_type=`, `auth_endpoint=`, `interactive=` and the
like; jupyter-orch authenticates with the Jupyter server's token instead, so those are accepted
and have no effect.
"""

from __future__ import annotations

from typing import Any

from jupyter_orch.client import Client as OrchClient

SIGN_IN_ONLY = {"auth_endpoint", "auth_type", "interactive", "time_format", "config"}


class Client(OrchClient):
    def __init__(self, api_endpoint: str | None = None, request_timeout: float = 60.0, **kwargs: Any):
        unknown = set(kwargs) - SIGN_IN_ONLY - {"url", "token"}
        if unknown:
            raise TypeError(f"Client() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        super().__init__(
            kwargs.get("url"), kwargs.get("token"), api_endpoint=api_endpoint, request_timeout=request_timeout
        )
