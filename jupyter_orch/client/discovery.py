"""Where the client's server is: explicit arguments, then the environment, then the Jupyter
runtime dir (the first running server that answers jupyter-orch's API)."""

from __future__ import annotations

import os

import requests

from ..constants import TOKEN_ENV, URL_ENV
from .errors import ServerNotFound

PROBE_ROUTE = "v1/api/workspaces/list"



def find_server(url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """Return (base url ending in '/', token) or raise `ServerNotFound` saying what to do."""
    if url:
        return _slash(url), token if token is not None else _env_token_for(url)
    if os.environ.get(URL_ENV):
        return _slash(os.environ[URL_ENV]), token if token is not None else os.environ.get(TOKEN_ENV, "")
    for server_url, server_token in _running_servers():
        if _answers(server_url, token if token is not None else server_token):
            return server_url, token if token is not None else server_token
    raise ServerNotFound(
        "no jupyter-orch server found: none is named by the JUPYTER_ORCH_URL/JUPYTER_ORCH_TOKEN "
        "environment variables, and no running Jupyter server in the runtime dir answers "
        f"{PROBE_ROUTE}. Start one with `jupyter lab` (jupyter_orch enabled) or pass "
        "Client(url=..., token=...)."
    )


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _env_token_for(url: str) -> str:
    """The environment's token, when the environment names this same server."""
    same = _slash(os.environ.get(URL_ENV, "")) == _slash(url)
    return os.environ.get(TOKEN_ENV, "") if same else ""


def _running_servers() -> list[tuple[str, str]]:
    from jupyter_server.serverapp import list_running_servers  # heavy: only when needed

    return [(_slash(info["url"]), info.get("token") or "") for info in list_running_servers()]


def _answers(url: str, token: str) -> bool:
    try:
        response = requests.post(
            url + PROBE_ROUTE, json={}, headers={"Authorization": f"Bearer {token}"}, timeout=3
        )
    except requests.RequestException:
        return False
    return response.ok
