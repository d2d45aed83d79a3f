"""What a Dask worker does for one task run (the server's side is executors/dask.py).

`run_on_worker` is the Dask task: it builds (or reuses) the run's environment by key with uv in
the worker's own cache, fetches the orchestration's zip from the server over the REST API with
the run's credentials (cached by sha, checked against it), starts the run with the worker's
own local executor (`_Host`: under the launcher, or forked from a warm interpreter when the
server's `warm_start` is on), and sends its output lines, with the time each was printed, to
the server in batches as Dask events (`Worker.log_event`, topic TOPIC). A `distributed.Event`
per run asks it to stop: SIGTERM to every process of the run, SIGKILL after the grace. Every
line is also kept in a file beside the run, which `finish_on_worker` reads back for any line
the server missed and then removes.

Dask runs a task again elsewhere when its worker dies; a `distributed.Event` per run marks the
first attempt, so a second attempt only reports that the first one's worker was lost.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import shutil
import sys
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import requests
from distributed import Event, get_worker

from ...constants import TOKEN_ENV, URL_ENV
from ..orchestrations.environments import build_environment, env_python
from ..orchestrations.zips import unpack
from ..timeutil import iso, utcnow
from .base import RunSpec, Unrecorded
from .local import LocalExecutor
from .warm import WarmPool

TOPIC = "jupyter-orch-runs"
BATCH_S = 0.05  # lines printed within this long travel together
STOP_POLL_S = 0.2
DRAIN_AFTER_EXIT_S = 2.0
ZIP_ROUTE = "v1/api/orchestration/zip/"

Line = list[Any]  # [seq, stream, text, ISO time printed, partial]
T = TypeVar("T")


@dataclass(frozen=True)
class RemoteRun:
    run_id: str
    orch_id: str
    orch_sha: str
    entrypoint: str
    requirements: str  # normalized; empty: the worker's own environment
    env_key: str | None
    env: dict[str, str]
    args: dict[str, Any]
    grace: float
    installer: str
    preload: tuple[str, ...] | None = None  # what warm interpreters preload; None: cold starts


@dataclass(frozen=True)
class RemoteResult:
    exit_code: int
    lines: int  # how many lines the run printed (the server checks it received them all)
    worker: str
    error: str | None = None  # the run could not start
    lost_worker: str | None = None  # a second attempt: the first one's worker died


def attempt_name(run_id: str) -> str:
    return f"jupyter-orch-attempt-{run_id}"


def stop_name(run_id: str) -> str:
    return f"jupyter-orch-stop-{run_id}"


def run_on_worker(run: RemoteRun) -> RemoteResult:
    worker = get_worker()
    attempt = Event(attempt_name(run.run_id))
    if attempt.is_set():  # Dask runs it again because the worker of the first attempt died
        return RemoteResult(-1, 0, worker.address, lost_worker="the run's first worker")
    attempt.set()
    cache = Path(worker.local_directory) / "jupyter-orch"
    run_dir = cache / "runs" / run.run_id
    outbox = _Outbox(worker, run.run_id, run_dir)
    stop = Event(stop_name(run.run_id))
    try:
        if stop.is_set():
            return RemoteResult(-1, 0, worker.address, error="stopped before it started")
        try:
            python = _environment(cache / "envs", run, outbox)
            source = _orchestration(cache / "orchestrations", run)
        except Exception as e:  # reported as the run's start failure
            return RemoteResult(-1, outbox.count, worker.address, error=str(e) or type(e).__name__)
        code = _execute(run, python, source, cache, outbox, stop)
        return RemoteResult(code, outbox.count, worker.address)
    finally:
        outbox.close()
        with suppress(Exception):
            stop.clear()


def finish_on_worker(run_id: str, first_missing: int) -> list[Line]:
    """The lines from `first_missing` on (those the server did not receive), then the run's
    folder goes."""
    run_dir = Path(get_worker().local_directory) / "jupyter-orch" / "runs" / run_id
    lines: list[Line] = []
    with suppress(FileNotFoundError), open(run_dir / "lines.jsonl") as kept:
        lines = [line for line in map(json.loads, kept) if line[0] >= first_missing]
    shutil.rmtree(run_dir, ignore_errors=True)
    with suppress(Exception):
        Event(attempt_name(run_id)).clear()
    return lines


def _execute(run: RemoteRun, python: str, source: Path, cache: Path, outbox: _Outbox, stop: Event) -> int:
    host = _host(cache / "executions", run.preload)
    spec = RunSpec(run.run_id, python, source, run.entrypoint, run.env, run.args)

    execution = host.call(host.executor.start(spec, outbox.lines, _Started(outbox)))
    ended = asyncio.run_coroutine_threadsafe(execution.wait(), host.loop)
    while True:
        try:
            return ended.result(timeout=STOP_POLL_S)
        except TimeoutError:
            if stop.is_set():
                host.call(execution.stop(run.grace))


class _Host:
    """This worker process's local executor (executors/local.py) on an event loop of its own
    (Dask runs each task in a thread of its pool): a run starts here as on a server's machine,
    under the launcher or forked from a warm interpreter of its environment, and ends with
    every process it started. Unlike a server's, this worker's runs end when it dies."""

    def __init__(self, root: Path, preload: tuple[str, ...] | None):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="jupyter-orch-runs", daemon=True).start()
        self.executor = LocalExecutor(root, die_with_parent=True)
        if preload is not None:
            self.executor.use_warm(WarmPool(preload, ends_runs=True))

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()


@cache
def _host(root: Path, preload: tuple[str, ...] | None) -> _Host:
    return _Host(root, preload)


class _Started(Unrecorded):
    """A run's start, told to the server that submitted it: that server records it (its user
    code does not wait for that, see dask.py)."""

    def __init__(self, outbox: _Outbox):
        self._outbox = outbox

    def located(self, pid: int) -> None:
        started = {"pid": pid, "worker": self._outbox.worker_address}
        self._outbox.send({"run_id": self._outbox.run_id, "started": started})


class _Outbox:
    """A run's lines on their way to the server: numbered, kept in a file, sent in batches."""

    def __init__(self, worker: Any, run_id: str, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._worker = worker
        self.worker_address = str(worker.address)
        self.run_id = run_id
        self.count = 0
        self._kept = open(run_dir / "lines.jsonl", "a")  # noqa: SIM115 (closed in close())
        self._batch: list[Line] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sender = threading.Thread(target=self._send_batches, daemon=True)
        self._sender.start()

    def lines(self, stream: str, at: datetime, read: list[tuple[str, bool]]) -> None:
        """The lines (text, partial) of one read of a stream (the executor's LineSink)."""
        stamp = iso(at)
        with self._lock:
            numbered: list[Line] = [[self.count + i, stream, text, stamp, partial]
                                    for i, (text, partial) in enumerate(read)]
            self.count += len(numbered)
            self._kept.writelines(json.dumps(line) + "\n" for line in numbered)
            self._batch += numbered

    def note(self, text: str) -> None:
        self.lines("stderr", utcnow(), [(f"[jupyter-orch] {text}", False)])

    def send(self, message: dict[str, Any]) -> None:
        self._worker.log_event(TOPIC, message)

    def _flush(self) -> None:
        with self._lock:
            batch, self._batch = self._batch, []
            self._kept.flush()
        if batch:
            self.send({"run_id": self.run_id, "lines": batch})

    def _send_batches(self) -> None:
        while not self._closed.wait(BATCH_S):
            self._flush()

    def close(self) -> None:
        self._closed.set()
        self._sender.join()
        self._flush()
        self._kept.close()


def _environment(root: Path, run: RemoteRun, outbox: _Outbox) -> str:
    """The run's interpreter: the worker's own for no requirements, else a venv built here once
    per environment key (a lock file keeps two runs from building one at the same time)."""
    if not run.requirements or run.env_key is None:
        return sys.executable
    path = root / run.env_key
    with _locked(root / f"{run.env_key}.lock"):
        if (path / ".ready").exists():
            return str(env_python(path))
        outbox.note(f"building the environment on worker {outbox.worker_address}")
        ok = asyncio.run(build_environment(path, run.requirements, run.installer,
                                           lambda text: outbox.lines("stderr", utcnow(), [(text.rstrip("\n"), False)])))
        if not ok:
            raise RuntimeError(f"installing requirements.txt failed on worker {outbox.worker_address}")
        (path / ".ready").touch()
    return str(env_python(path))


def _orchestration(root: Path, run: RemoteRun) -> Path:
    """The orchestration's unpacked tree, fetched from the server with the run's token once per
    sha and checked against it."""
    target = root / run.orch_sha
    if target.exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    url = run.env[URL_ENV].rstrip("/") + "/" + ZIP_ROUTE + run.orch_id
    answer = requests.get(url, headers={"Authorization": f"Bearer {run.env[TOKEN_ENV]}"}, timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(f"could not fetch orchestration {run.orch_id} from {url}: HTTP {answer.status_code}")
    if hashlib.sha256(answer.content).hexdigest() != run.orch_sha:
        raise RuntimeError(f"the zip fetched from {url} does not match sha {run.orch_sha}")
    unpack(answer.content, target)
    return target


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
