"""jupyter-orch: ML workload orchestration inside Jupyter."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import OrchApp

    return [{"module": "jupyter_orch", "app": OrchApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-orch"}]
