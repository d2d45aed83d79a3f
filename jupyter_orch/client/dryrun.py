"""Dry runs: an orchestration folder or zip run here, in a subprocess, as the server would run
it, without uploading it and without a server.

The same rules as a real run, from the same code: the zip is checked and unpacked by the
engine's zip rules (orchestrations/zips.py: its entrypoint found the same way), a
`requirements.txt` gets an environment made by the same `build_environment` (kept per
requirement set under the user's cache dir, so the next dry run reuses it), the process is
started by the local executor (executors/local.py: a private working copy, the arguments in
JUPYTER_ORCH_TASK_ARGS_FILE, under the launcher that ends every process it started) with the
variables a real run gets (tasks/variables.py) but no server credential and no server URL, and
its stdout/stderr lines are kept with the time each was read, in the stored log's form
(`<time> stdout|stderr F|P <text>`). The lines are shown as they arrive.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import queue
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from ..constants import DRY_RUN_TASK_PREFIX
from ..engine.executors.base import Execution, RunSpec, Unrecorded
from ..engine.executors.local import LocalExecutor
from ..engine.orchestrations.environments import (
    build_environment,
    env_python,
    environment_key,
    normalize_requirements,
)
from ..engine.orchestrations.zips import ZipLimits, inspect_zip, unpack
from ..engine.tasks.variables import run_variables, task_variables
from ..engine.timeutil import iso
from .display import record_html
from .folders import zip_folder
from .task import RunLogs

DRY_RUN_ORCH_ID = "dry-run"
# The engine's default limits (EngineConfig): a zip the server would refuse is refused here too.
LIMITS = ZipLimits(max_unpacked_bytes=1024 * 1024 * 1024, max_files=10_000)
READY_MARK = ".ready"  # an environment whose build finished
KILL_GRACE_S = 5.0  # SIGTERM, then SIGKILL after this, as the engine's default kill_grace_seconds
Show = Callable[[str, str, datetime], None]


@dataclass
class DryRun:
    """What a dry run did: its exit code and its log lines (`<time> <stream> F <text>`)."""

    exit_code: int
    lines: list[str] = field(default_factory=list)
    entrypoint: str = ""
    python: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def logs(self) -> RunLogs:
        return RunLogs(self.lines)

    def _repr_html_(self) -> str:
        """A summary (the lines were shown as they came; `logs()` shows them as a table)."""
        return record_html({"dry run of": self.entrypoint, "exit code": self.exit_code, "lines": len(self.lines),
                            "python": self.python})

    def __repr__(self) -> str:
        return f"DryRun(exit_code={self.exit_code}, lines={len(self.lines)}, entrypoint={self.entrypoint!r})"


def dry_run(path_or_zip: str | Path | bytes, json_args: dict[str, Any] | None = None, *, echo: bool = True,
            installer: str = "auto", env_cache: str | Path | None = None) -> DryRun:
    """Run an orchestration folder, `.zip` file or zip bytes here as a task run would run it,
    printing each line as it arrives (`echo`), and return its exit code and lines. Nothing is
    uploaded and no server is needed."""
    data = _zip_bytes(path_or_zip)
    cache = Path(env_cache) if env_cache is not None else Path(user_cache_dir("jupyter-orch")) / "dry-run-envs"
    lines: queue.Queue[tuple[str, str, datetime] | None] = queue.Queue()
    outcome: list[DryRun | BaseException] = []
    loop = asyncio.new_event_loop()
    started: list[Execution] = []

    def work() -> None:
        try:
            outcome.append(loop.run_until_complete(
                _run(data, json_args or {}, installer, cache, lambda *line: lines.put(line), started.append)))
        except BaseException as e:  # raised again in the caller's thread
            outcome.append(e)
        finally:
            loop.close()
            lines.put(None)

    # Its own event loop in a thread: a kernel's loop is already running in this one, and the
    # caller's thread prints the lines, so they land in the cell that asked.
    worker = threading.Thread(target=work, name="jupyter-orch-dry-run", daemon=True)
    worker.start()
    try:
        _show(lines, echo)
    except KeyboardInterrupt:  # the cell was interrupted: the run is stopped as a kill stops one
        if started:
            asyncio.run_coroutine_threadsafe(started[0].stop(KILL_GRACE_S), loop)
        _show(lines, echo)
        worker.join()
        raise
    worker.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _show(lines: queue.Queue[tuple[str, str, datetime] | None], echo: bool) -> None:
    while (line := lines.get()) is not None:
        if echo:
            stream, text, _at = line
            print(text, file=sys.stderr if stream == "stderr" else sys.stdout, flush=True)


async def _run(data: bytes, args: dict[str, Any], installer: str, cache: Path, show: Show,
               started: Callable[[Execution], None]) -> DryRun:
    manifest = await asyncio.to_thread(inspect_zip, data, LIMITS)
    lines: list[str] = []

    def sink(stream: str, at: datetime, read: list[tuple[str, bool]]) -> None:
        for text, partial in read:
            lines.append(f"{iso(at)} {stream} {'P' if partial else 'F'} {text}")
            show(stream, text, at)

    with tempfile.TemporaryDirectory(prefix="jupyter-orch-dry-run-") as folder:
        root = Path(folder)
        await asyncio.to_thread(unpack, data, root / "tree")
        python = await _environment(manifest.requirements, installer, cache, show)
        run_id, task_id = str(uuid.uuid4()), f"{DRY_RUN_TASK_PREFIX}{uuid.uuid4()}"
        sha = hashlib.sha256(data).hexdigest()
        env = run_variables(run_id, task_variables(task_id, DRY_RUN_ORCH_ID, sha, getpass.getuser()), {})
        spec = RunSpec(run_id=run_id, python=python, source=root / "tree", entrypoint=manifest.entrypoint,
                       env=env, args=args)
        execution = await LocalExecutor(root / "runs").start(spec, sink, Unrecorded())
        started(execution)
        code = await execution.wait()
    return DryRun(code, lines, manifest.entrypoint, python)


async def _environment(requirements: str, installer: str, cache: Path, show: Show) -> str:
    """The interpreter: this one without requirements, else the requirement set's environment
    (built once, as the server builds it)."""
    normalized = normalize_requirements(requirements)
    if not normalized:
        return sys.executable
    path = cache / environment_key(normalized)
    if not (path / READY_MARK).exists():
        note = "[jupyter-orch] installing the requirements for this dry run"
        show("stdout", f"{note} in {path}", datetime.now())
        log: list[str] = []
        if not await build_environment(path, normalized, installer, log.append):
            raise RuntimeError("installing the requirements failed:\n" + "".join(log)[-4000:])
        (path / READY_MARK).write_text(normalized + "\n")
    return str(env_python(path))


def _zip_bytes(source: str | Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    path = Path(source).expanduser()
    if path.is_dir():
        return zip_folder(path)
    if not path.is_file():
        raise FileNotFoundError(f"no orchestration folder or zip at {path}")
    return path.read_bytes()
