"""One jupyter-orch server and one kernel pointed at it, shared by the tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kernel.driver import Kernel
from tests.support.server import ServerProcess, running_server


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("orch")) as proc:
        yield proc


@pytest.fixture(scope="module")
def kernel(module_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    """A python3 kernel that finds the server as a kernel started by it would, with the
    magics loaded, its working directory a fresh temporary folder."""
    env = {"JUPYTER_ORCH_URL": module_server.url, "JUPYTER_ORCH_TOKEN": module_server.token}
    started = Kernel(env, cwd=tmp_path_factory.mktemp("kernel-cwd"))
    loaded = started.execute("%load_ext jupyter_orch")
    assert loaded.reply["status"] == "ok", loaded.outputs
    yield started
    started.stop()
