from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.support import engine as engine_support
from tests.support.dask_cluster import DaskCluster, dask_cluster
from tests.support.databases import BACKENDS, PostgresCluster, postgres_cluster
from tests.support.processes import remove_empty_cgroups, run_cgroups_here
from tests.support.server import ServerProcess, running_server

pytest_plugins = ("pytest_jupyter.jupyter_server",)

Api = Callable[..., Awaitable[tuple[int, Any]]]
EXECUTORS = ("local", "dask")
DASK_EXECUTOR = "jupyter_orch.engine.executors.dask.DaskExecutor"


@pytest.fixture(scope="session", autouse=True)
def no_cgroups_left() -> Iterator[None]:
    """The run cgroups this session's servers left empty are removed at its end (those that were
    there before it are not touched)."""
    before = run_cgroups_here()
    yield
    remove_empty_cgroups(run_cgroups_here() - before)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Engine and API tests that use `db_url` run once per database backend (a module that
    sets SQLITE_ONLY = True, e.g. the upgrade of an old SQLite data dir, runs on SQLite only, and
    one of pure logic sets NO_DATABASE = True)."""
    if "db_url" in metafunc.fixturenames:
        one = getattr(metafunc.module, "SQLITE_ONLY", False) or getattr(metafunc.module, "NO_DATABASE", False)
        backends = ("sqlite",) if one else BACKENDS
        metafunc.parametrize("db_url", backends, indirect=True)
    if "executor" in metafunc.fixturenames:  # task tests: runs as local subprocesses, and on Dask workers
        metafunc.parametrize("executor", EXECUTORS, indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite (the engine's file in its data dir), else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    with cluster.database() as url:
        engine_support.current_db_url = url
        try:
            yield url
        finally:
            engine_support.current_db_url = None


@pytest.fixture(scope="session")
def dask(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A `dask scheduler` and two `dask worker` processes, for the whole test session."""
    with dask_cluster(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster


@pytest.fixture
def executor(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The executor's server settings: none for the local one; the Dask one on the session's cluster."""
    if request.param == "local":
        return {}
    cluster: DaskCluster = request.getfixturevalue("dask")
    return {"OrchApp": {"executor_class": DASK_EXECUTOR}, "DaskExecutor": {"scheduler_address": cluster.address}}


def executor_args(settings: dict[str, Any]) -> list[str]:
    """The same settings as command-line options of a server process."""
    return [f"--{section}.{name}={value}" for section, values in settings.items() for name, value in values.items()]


@pytest.fixture
def orch_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "orch-data"


@pytest.fixture
def jp_server_config(orch_data_dir: Path, db_url: str | None, request: pytest.FixtureRequest) -> dict[str, Any]:
    orch: dict[str, Any] = {"data_dir": str(orch_data_dir), "warm_start": False}
    if db_url:
        orch["db_url"] = db_url
    config: dict[str, Any] = {"ServerApp": {"jpserver_extensions": {"jupyter_orch": True}}}
    settings: dict[str, Any] = request.getfixturevalue("executor") if "executor" in request.fixturenames else {}
    for section, values in settings.items():
        config[section] = dict(values)
    config["OrchApp"] = {**orch, **config.get("OrchApp", {})}
    return config


@pytest.fixture
def api(jp_fetch: Any, jp_serverapp: Any) -> Api:
    """POST a JSON body to v1/api/<route> in-process; return (status, decoded JSON)."""

    async def call(route: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        # pytest-jupyter never runs extensions' start hooks; a real server does, before any request.
        engine = jp_serverapp.web_app.settings["orch_engine"]
        engine.config.server_url = engine.config.server_url or jp_serverapp.connection_url
        await engine.start()
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
def warm_start() -> bool:
    """Whether `server` forks runs from warm interpreters; a test parametrizes it to have them."""
    return False


@pytest.fixture
def server(tmp_path: Path, db_url: str | None, warm_start: bool) -> Iterator[ServerProcess]:
    """A real `jupyter server` subprocess with jupyter-orch, on its own data dir (and database)."""
    with running_server(tmp_path, db_url, warm_start) as proc:
        yield proc
