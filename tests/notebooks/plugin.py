"""The nbval harness, loaded as a plugin by the tutorials' own pytest run:

    pytest --nbval notebooks --nbval-sanitize-with tests/notebooks/sanitize.cfg -p tests.notebooks.plugin

It runs the tutorials against a real jupyter server that this session starts.

The notebooks' kernels find it the way kernels started by `make lab` do: through the
JUPYTER_ORCH_URL / JUPYTER_ORCH_TOKEN variables they inherit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.server import ServerProcess

_server: ServerProcess | None = None
_scratch: str | None = None


def pytest_sessionstart(session: pytest.Session) -> None:
    global _server, _scratch
    _scratch = tempfile.mkdtemp(prefix="orch-notebooks-")
    _server = ServerProcess(root=Path(_scratch) / "root", data_dir=Path(_scratch) / "data").start()
    os.environ["JUPYTER_ORCH_URL"] = _server.url
    os.environ["JUPYTER_ORCH_TOKEN"] = _server.token


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _server is not None:
        _server.stop()
    if _scratch is not None:
        shutil.rmtree(_scratch, ignore_errors=True)
