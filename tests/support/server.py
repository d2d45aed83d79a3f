"""A real `jupyter server` subprocess on 127.0.0.1, as a user would start it."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from jupyter_orch.engine.executors.zygote import READY_ARG


@contextmanager
def running_server(
    base: Path, db_url: str | None = None, warm_start: bool = False, extra_args: list[str] | None = None
) -> Iterator[ServerProcess]:
    """A server with its root and data dir under `base` (and its database at `db_url`, else in
    the data dir; `extra_args` on its command line), stopped however the caller ends. Warm
    starts are off unless asked for (each warm interpreter imports pandas and pyarrow: seconds
    of CPU per server); with them, it answers once the server environment's warm interpreter is
    ready."""
    extra = [f"--OrchApp.db_url={db_url}"] if db_url else []
    extra += extra_args or []
    proc = ServerProcess(root=base / "root", data_dir=base / "orch-data", extra_args=extra, warm_start=warm_start)
    proc.start()
    try:
        if warm_start:
            proc.wait_warm()
        yield proc
    finally:
        proc.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    root: Path
    data_dir: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    app: str = "server"
    extra_args: list[str] = field(default_factory=list)
    warm_start: bool = False  # see running_server
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api(self) -> str:
        return f"{self.url}v1/api/"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, route: str, body: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        return requests.post(self.api + route, json=body or {}, headers=self.headers, timeout=60, **kwargs)

    def upload_orchestration(self, workspace_id: int, data: bytes, name: str = "job") -> str:
        """Upload a zip the reference's way (multipart `file` + `metadata`); the new id."""
        metadata = json.dumps({"workspace_id": workspace_id, "name": name})
        files = [("file", (f"{name}.zip", data, "application/octet-stream")),
                 ("metadata", ("metadata", metadata, "application/json"))]
        response = requests.post(self.api + "orchestration/upload", headers=self.headers, files=files, timeout=60)
        response.raise_for_status()
        return str(response.json()["id"])

    def start(self) -> ServerProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"server-{self.port}.log", "ab")  # noqa: SIM115
        cmd = [
            sys.executable, "-m", "jupyter", self.app, "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={self.port}", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", f"--OrchApp.data_dir={self.data_dir}",
            f"--OrchApp.warm_start={self.warm_start}", *self.extra_args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_ORCH_")}
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early; see {log.name}")
            try:
                if requests.get(self.url + "api", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start within 60 s")

    def wait_warm(self, timeout: float = 120) -> int:
        """The pid of the server's warm interpreter, once it is ready to fork runs."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in warm_interpreters(self.proc.pid):
                return pid
            time.sleep(0.1)
        raise RuntimeError(f"no warm interpreter was ready within {timeout} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def crash(self) -> None:
        """Die the way a power cut or OOM kill would: no shutdown hooks."""
        self.stop(signal.SIGKILL)


def warm_interpreters(parent: int) -> list[int]:
    """The ready zygotes (executors/zygote.py) among `parent`'s children."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        is_ready_zygote = len(argv) > 3 and argv[2].endswith(b"zygote.py") and argv[3] == READY_ARG.encode()
        if int(stat[1]) == parent and is_ready_zygote:
            found.append(int(entry.name))
    return found
