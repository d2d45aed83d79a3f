"""jupyter-orch: ML workload orchestration inside Jupyter."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`jupyter_orch.Client` and `jupyter_orch.enable_wallaroo_alias`, imported on first use so
    that importing jupyter_orch (the server extension hooks) stays cheap."""
    if name == "Client":
        from .client import Client

        return Client
    if name == "enable_wallaroo_alias":
        from .compat import install_wallaroo_alias

        return install_wallaroo_alias
    raise AttributeError(f"module 'jupyter_orch' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import OrchApp

    return [{"module": "jupyter_orch", "app": OrchApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-orch"}]


def load_ipython_extension(ip: Any) -> None:
    """`%load_ext jupyter_orch`: register `%%orch_upload`, `%orch_upload_notebook` and `%orch` (again is
    harmless)."""
    from .kernel.magics import OrchMagics

    ip.register_magics(OrchMagics)
