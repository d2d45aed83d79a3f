"""A real Dask cluster for the tests: a `dask scheduler` and worker processes on 127.0.0.1,
started as separate processes (so a test can SIGKILL a worker mid-run) and stopped at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from distributed import Client

from tests.support.server import free_port

SLOTS = 4


@dataclass
class DaskCluster:
    folder: Path
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, slots: int = SLOTS) -> subprocess.Popen[bytes]:
        """A worker process with `slots` run slots (and one thread more, for the small tasks
        that collect a run's last lines)."""
        log = open(self.folder / f"worker-{len(self.workers)}.log", "ab")  # noqa: SIM115
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "dask"), "worker", self.address, "--nworkers", "1",
             "--nthreads", str(slots + 1), "--resources", f"orch_runs={slots}", "--no-dashboard",
             "--host", "127.0.0.1", "--local-directory", str(self.folder / f"w{len(self.workers)}"),
             "--no-nanny"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        with Client(self.address, timeout=timeout) as client:  # connecting waits for the scheduler
            if count:
                client.wait_for_workers(count, timeout=timeout)

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        with suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        self.workers.remove(worker)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[DaskCluster]:
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "scheduler.log", "ab")  # noqa: SIM115
    scheduler = subprocess.Popen(
        [str(Path(sys.executable).parent / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    cluster = DaskCluster(folder, f"tcp://127.0.0.1:{port}", scheduler)
    try:
        for _ in range(workers):
            cluster.add_worker()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                cluster.wait_for_workers(workers)
                break
            except OSError:
                time.sleep(0.5)
        yield cluster
    finally:
        cluster.stop()
