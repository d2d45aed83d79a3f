"""What every executor offers: a run spec in, an execution out (its exit code and a stop).

The interface is kept small so that a cluster executor can stand in for the local one:
`start(spec, sink, spawned)` launches a run, calls `spawned(pid)` before user code runs and
feeds every output line to `sink`, the returned
`Execution` gives the exit code (`wait`) and ends the run (`stop`), and `end_orphan` ends a
run that a previous server process left behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .sandbox import Sandbox

LineSink = Callable[[str, str, datetime, bool], None]  # stream, text, time read, partial
# Called with the pid of a run's first process before that process runs user code: the run's
# identity is recorded before anything exists that recovery could not find.
SpawnHook = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    python: str
    source: Path  # the unpacked orchestration, shared and never written
    entrypoint: str  # relative to the zip root
    env: dict[str, str]
    args: dict[str, Any]


class Execution(ABC):
    pid: int | None

    @abstractmethod
    async def wait(self) -> int:
        """The exit code once the run has ended and all of its output was delivered."""

    @abstractmethod
    async def stop(self, grace: float) -> None:
        """Ask every process of the run to end (SIGTERM), and force them (SIGKILL) after `grace`
        seconds."""


class Executor(ABC):
    def __init__(self, runs_root: Path, sandbox: Sandbox | None = None):
        self.runs_root = runs_root  # where this executor may keep each run's private folder
        self.sandbox = sandbox

    @abstractmethod
    async def start(self, spec: RunSpec, sink: LineSink, spawned: SpawnHook) -> Execution:
        """Launch a run; raise if it cannot be started (or `spawned` raised: then no user code
        ran)."""

    @abstractmethod
    async def end_orphan(self, run_id: str, pid: int | None) -> None:
        """End every process a run left when the server process that ran it died (`pid`: the
        pid `spawned` recorded, for executors that need it)."""
