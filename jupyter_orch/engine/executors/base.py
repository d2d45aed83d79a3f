"""What every executor offers: a run spec in, an execution out (its exit code and a stop).

The interface is kept small so that a cluster executor can stand in for the local one:
`start(spec, sink)` launches a run and feeds every output line to `sink`, the returned
`Execution` gives the exit code (`wait`) and ends the run (`stop`), and `end_orphan` ends a
run that a previous server process left behind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .sandbox import Sandbox
from .warm import WarmPool

LineSink = Callable[[str, str, datetime, bool], None]  # stream, text, time read, partial


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
        """Ask the run to end (SIGTERM), and force it (SIGKILL) after `grace` seconds."""

    @abstractmethod
    def release(self) -> None:
        """The run's start is recorded: its code may begin (an executor may hold it until then)."""


class Executor(ABC):
    def __init__(self, runs_root: Path, sandbox: Sandbox | None = None, warm: WarmPool | None = None):
        self.runs_root = runs_root  # where this executor may keep each run's private folder
        self.sandbox = sandbox
        self.warm = warm  # warm interpreters to fork runs from (None: every run starts cold)

    @abstractmethod
    async def start(self, spec: RunSpec, sink: LineSink) -> Execution:
        """Launch a run; raise if it cannot be started."""

    @abstractmethod
    async def end_orphan(self, run_id: str, pid: int | None) -> None:
        """End a run left running by a server process that died, if it still runs."""
