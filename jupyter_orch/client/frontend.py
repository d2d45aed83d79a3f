"""What the client tells a notebook frontend that watches its kernel (the JupyterLab sidebar)."""

from __future__ import annotations

import sys
from typing import Any

from ..constants import WORKSPACE_MIME


def workspace_bundle(workspace_id: int, name: str) -> dict[str, Any]:
    return {WORKSPACE_MIME: {"id": workspace_id, "name": name}}


def announce_workspace(workspace_id: int, name: str) -> None:
    """In a kernel, display the workspace the client now uses (frontends without a renderer for
    WORKSPACE_MIME show nothing); elsewhere do nothing. IPython is looked up, never imported:
    a script or a task run must not pay for it."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "kernel"):
        return
    from IPython.display import display

    display(workspace_bundle(workspace_id, name), raw=True)  # type: ignore[no-untyped-call]
