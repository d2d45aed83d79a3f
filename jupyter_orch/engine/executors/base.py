"""What every executor offers: a run spec in, an execution out (its exit code and a stop).

The interface is kept small so that a cluster executor can stand in for the local one:
`start(spec, sink, start)` launches a run, has it recorded running (`start.running`) before user
code runs, says when it let the run go (`start.located`), and feeds every output line to `sink`
(with the time it was printed); the returned `Execution` gives the exit code (`wait`), ends the
run (`stop`) and says where it runs (`pid`, `worker`), and `end_orphan` ends a run that a dead
server left behind.

A run spec names what a run is made of both ways: as files on this machine (`python`, `source`:
the local executor), and by key (`orch_id`/`orch_sha`: the orchestration's blob, fetched over
the REST API with the run's own credentials; `requirements`/`env_key`: the environment, built
where the run executes) for an executor whose runs execute elsewhere (`local_files = False`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .sandbox import Sandbox
from .warm import WarmPool

# stream, time read, lines (text, partial): the lines of one read come as one call.
LineSink = Callable[[str, datetime, list[tuple[str, bool]]], None]
class RunStart(Protocol):
    """How an executor has a run's start recorded.

    `running` must have answered before user code runs: recovery ends the processes of a run
    recorded running (found by its id) and queues again one that was only claimed, so a run
    whose code ran unrecorded could run twice. An executor may ask for it while it makes the
    run's process (the record and the fork go side by side), with where the run executes when
    that is known by then. `located` says the run was let go, with its process: every executor
    calls it (the start is announced then, and the pid recorded unless `running` had it)."""

    def running(self, pid: int | None = None, worker: str | None = None) -> Awaitable[None]: ...

    def located(self, pid: int) -> None: ...


class Unrecorded(RunStart):
    """The start of a run that no store records (a dry run)."""

    async def running(self, pid: int | None = None, worker: str | None = None) -> None:
        pass

    def located(self, pid: int) -> None:
        pass


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    python: str
    source: Path  # the unpacked orchestration, shared and never written
    entrypoint: str  # relative to the zip root
    env: dict[str, str]  # with the run's credentials and the URL it reaches the server at
    args: dict[str, Any]
    orch_id: str = ""
    orch_sha: str = ""
    requirements: str = ""  # normalized; empty: the executing interpreter's own environment
    env_key: str | None = None
    kill_grace: float = 5.0  # SIGTERM -> SIGKILL, for an executor that stops runs where they execute


class Execution(ABC):
    pid: int | None
    worker: str | None = None  # the cluster worker it runs on; None: this machine

    @abstractmethod
    async def wait(self) -> int:
        """The exit code once the run has ended and all of its output was delivered."""

    @abstractmethod
    async def stop(self, grace: float) -> None:
        """Ask every process of the run to end (SIGTERM), and force them (SIGKILL) after `grace`
        seconds."""


class Executor(ABC):
    local_files = True  # runs need the environment and the unpacked tree on this machine

    def __init__(self, runs_root: Path, sandbox: Sandbox | None = None):
        self.runs_root = runs_root  # where this executor may keep each run's private folder
        self.sandbox = sandbox
        self.capacity_changed: Callable[[], None] = lambda: None  # the runner listens: slots came or went
        self.warm: WarmPool | None = None  # set by the engine: warm interpreters to fork local runs from
        # Set by the engine for runs that execute elsewhere: what warm interpreters there preload
        # (None: they start cold).
        self.remote_preload: tuple[str, ...] | None = None
        # Set by the engine: keeps (run id, its outputs folder) as the run's artifacts; called off
        # the loop once the run has ended, before its folder is removed.
        self.keep_outputs: Callable[[str, Path], None] = lambda run_id, outputs: None

    def use_warm(self, pool: WarmPool) -> None:
        """Fork this executor's runs from `pool`'s warm interpreters (the engine's choice)."""
        self.warm = pool

    async def open(self) -> None:  # noqa: B027 (most executors have nothing to open)
        """Before the first run (e.g. connect to a cluster)."""

    async def close(self) -> None:  # noqa: B027
        """After the last run."""

    async def capacity(self, configured: int) -> int:
        """How many runs may execute at once (a cluster: its run slots); default `configured`."""
        return configured

    @abstractmethod
    async def start(self, spec: RunSpec, sink: LineSink, start: RunStart) -> Execution:
        """Launch a run; raise if it cannot be started (or `start.running` raised: then no user
        code ran)."""

    @abstractmethod
    async def end_orphan(self, run_id: str, pid: int | None) -> None:
        """End every process a run left when the server process that ran it died (`pid`: the
        pid recorded of it, if any, for executors that need it)."""
