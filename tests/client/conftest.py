"""Client tests share one real `jupyter server` subprocess (per session); each test gets its
own workspace so tests stay independent."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jupyter_orch.client import Client
from tests.support.server import ServerProcess, running_server

SAMPLES = Path(__file__).resolve().parents[2] / "jupyter_orch" / "samples"


@pytest.fixture(scope="session")
def orch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("orch-server")) as proc:
        yield proc


@pytest.fixture
def wl(orch_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """A client on the module's server, its current workspace a fresh one."""
    for name in ("JUPYTER_ORCH_URL", "JUPYTER_ORCH_TOKEN", "TASK_ID", "WALLAROO_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    client = Client(url=orch_server.url, token=orch_server.token)
    client.set_current_workspace(client.create_workspace(f"ws-{uuid.uuid4().hex[:10]}"))
    yield client
    client._http.close()


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """A local HTTP server on 127.0.0.1 serving `folder`; yields its base URL (ending in '/')."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
