"""How `Client()` finds its server: explicit arguments, environment, runtime dir, or a clear error."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_orch
from jupyter_orch.client import ApiError, Client, ServerNotFound
from jupyter_orch.constants import DRY_RUN_TASK_PREFIX, TASK_ARGS_FILE_ENV, TASK_ID_ENV
from tests.support.server import ServerProcess, free_port

ENVS = ("JUPYTER_ORCH_URL", "JUPYTER_ORCH_TOKEN", "TASK_ID", "WALLAROO_TASK_ID")


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Jupyter runtime dir and no JUPYTER_ORCH_* variables."""
    path = tmp_path / "runtime"
    path.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(path))
    for name in ENVS:
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def listed_server(runtime_dir: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that writes its jpserver-*.json into `runtime_dir`."""
    proc = ServerProcess(root=tmp_path / "root", data_dir=tmp_path / "orch-data").start()
    yield proc
    proc.stop()


def test_explicit_url_and_token(orch_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_ORCH_URL", "http://127.0.0.1:9/")  # explicit arguments win
    wl = Client(url=orch_server.url.rstrip("/"), token=orch_server.token)
    assert isinstance(wl.list_workspaces(), list)
    assert wl.api_endpoint == orch_server.url.rstrip("/")
    assert wl.auth.auth_header() == {"Authorization": f"Bearer {orch_server.token}"}
    assert orch_server.token not in repr(wl)
    assert isinstance(Client(api_endpoint=orch_server.url, token=orch_server.token).list_workspaces(), list)


def test_environment(orch_server: ServerProcess, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_ORCH_URL", orch_server.url)
    monkeypatch.setenv("JUPYTER_ORCH_TOKEN", orch_server.token)
    wl = jupyter_orch.Client()
    assert wl.create_workspace("from-env").name() == "from-env"
    assert Client(url=orch_server.url).auth.auth_header()["Authorization"].endswith(orch_server.token)


def test_runtime_dir_skips_servers_without_jupyter_orch(listed_server: ServerProcess, runtime_dir: Path) -> None:
    dead = {"url": f"http://127.0.0.1:{free_port()}/", "token": "x", "pid": os.getpid(),
            "port": 1, "base_url": "/", "root_dir": "/", "secure": False, "hostname": "127.0.0.1"}
    (runtime_dir / "jpserver-0.json").write_text(json.dumps(dead))
    wl = Client()
    assert wl._http.url == listed_server.url
    assert wl.create_workspace("from-runtime-dir").id() > 0


def test_no_server_is_a_clear_error(runtime_dir: Path) -> None:
    with pytest.raises(ServerNotFound, match=r"JUPYTER_ORCH_URL.*Client\(url=\.\.\., token=\.\.\.\)"):
        Client()


def test_a_dry_run_needs_no_server_for_its_arguments(runtime_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    args = tmp_path / "args.json"
    args.write_text('{"rows": 3}')
    monkeypatch.setenv(TASK_ID_ENV, DRY_RUN_TASK_PREFIX + "1")
    monkeypatch.setenv(TASK_ARGS_FILE_ENV, str(args))
    wl = Client()
    assert wl.task_args() == {"rows": 3}
    with pytest.raises(ServerNotFound, match="this dry run found no jupyter-orch server"):
        wl.list_workspaces()
    monkeypatch.setenv(TASK_ID_ENV, "a-real-task")
    with pytest.raises(ServerNotFound, match="JUPYTER_ORCH_URL"):
        Client()


def test_wrong_token_is_refused(orch_server: ServerProcess) -> None:
    wl = Client(url=orch_server.url, token="wrong")
    with pytest.raises(ApiError) as failure:
        wl.list_workspaces()
    assert failure.value.code in (401, 403)
