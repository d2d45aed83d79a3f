from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.support.server import ServerProcess, running_server

pytest_plugins = ("pytest_jupyter.jupyter_server",)

Api = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def orch_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "orch-data"


@pytest.fixture
def jp_server_config(orch_data_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_orch": True}},
        "OrchApp": {"data_dir": str(orch_data_dir)},
    }


@pytest.fixture
def api(jp_fetch: Any, jp_serverapp: Any) -> Api:
    """POST a JSON body to v1/api/<route> in-process; return (status, decoded JSON)."""

    async def call(route: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        # pytest-jupyter never runs extensions' start hooks; a real server does, before any request.
        await jp_serverapp.web_app.settings["orch_engine"].start()
        payload = kwargs.pop("raw", None)
        if payload is None:
            payload = json.dumps(body if body is not None else {})
        try:
            response = await jp_fetch("v1", "api", *route.split("/"), method="POST", body=payload, **kwargs)
        except HTTPClientError as e:
            assert e.response is not None
            return e.code, json.loads(e.response.body)
        text = response.body
        return response.code, json.loads(text) if text else None

    return call


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `jupyter server` subprocess with jupyter-orch, on its own data dir."""
    with running_server(tmp_path) as proc:
        yield proc
