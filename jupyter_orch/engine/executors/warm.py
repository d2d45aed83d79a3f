"""Warm interpreters: one zygote (zygote.py) per environment's interpreter, forking runs.

A run forked from a zygote skips the interpreter's start and the preloaded imports (pandas,
pyarrow, ... : a second and more, every run). `WarmPool.zygote_for` answers the zygote a run
may be forked from, or None, and the run starts cold: when warm starts are off, while that
environment's zygote is still starting (the first run of an environment starts it), or when
the run's environment differs from the zygote's in what an interpreter reads only at start-up
(PYTHON*, locale, HOME) or is too large for the zygote's environ area. A zygote that dies is
restarted, after a back-off when it keeps dying young.

`Zygote.fork` gives what `loop.subprocess_exec` gives: a transport (pid, exit code) and the
protocol fed with the run's stdout and stderr, so the local executor handles both alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .zygote import CGROUPS_ENV, ENDS_RUNS_ENV, GO, MAX_MESSAGE, PRELOAD_ENV, RESERVE_ENV, run_argv

if TYPE_CHECKING:
    from .processes import RunCgroups

log = logging.getLogger(__name__)
Protocol = TypeVar("Protocol", bound=asyncio.SubprocessProtocol)

ZYGOTE = Path(__file__).with_name("zygote.py")
DEFAULT_PRELOAD = ("pandas", "pyarrow", "requests", "jupyter_orch", "wallaroo")
ENVIRON_RESERVE = 32 * 1024  # bytes of environ area a zygote keeps for its runs' environments
ARGV_RESERVE = 4 * 1024  # and of argv area, for their command lines
ZYGOTE_NAMES = ("PATH", "TZ")  # what a zygote gets of its first run's environment, beside:
STARTUP_NAMES = ("HOME", "LANG", "LANGUAGE")  # read by an interpreter at start-up, with these:
STARTUP_PREFIXES = ("PYTHON", "LC_")
RESTART_DELAY_S = 1.0  # after a zygote died young; doubled each time, up to RESTART_DELAY_CAP_S
RESTART_DELAY_CAP_S = 60.0
YOUNG_S = 30.0
STOP_WAIT_S = 5.0


def startup_environ(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k in STARTUP_NAMES or k.startswith(STARTUP_PREFIXES)}


class WarmProcess(asyncio.SubprocessTransport):
    """A forked run as a subprocess transport: its pid, exit code and output pipes."""

    def __init__(self, pid: int, protocol: asyncio.SubprocessProtocol, go: int):
        super().__init__()
        self._pid = pid
        self._go: int | None = go
        self._protocol = protocol
        self._returncode: int | None = None
        self.pipes: dict[int, asyncio.ReadTransport] = {}
        self._ended = False

    def get_pid(self) -> int:
        return self._pid

    def get_returncode(self) -> int | None:
        return self._returncode

    def get_pipe_transport(self, fd: int) -> asyncio.ReadTransport | None:
        return self.pipes.get(fd)

    def send_signal(self, signal: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal)

    def terminate(self) -> None:
        self.send_signal(15)

    def kill(self) -> None:
        self.send_signal(9)

    def is_closing(self) -> bool:
        return self._ended and not self.pipes

    def release(self) -> None:
        """Let the run's code begin (it waits for this: see zygote.py)."""
        if self._go is not None:
            with contextlib.suppress(OSError):  # it has ended already
                os.write(self._go, GO)
            self._drop_go()

    def close(self) -> None:
        for pipe in list(self.pipes.values()):
            pipe.close()
        self._drop_go()

    def _drop_go(self) -> None:
        if self._go is not None:
            os.close(self._go)  # before a release, the run ends without running its code
            self._go = None

    def ended(self, code: int | None) -> None:
        """The process has ended with `code` (None: unknown, its zygote died first)."""
        if not self._ended:
            self._ended = True
            self._returncode = code
            self._protocol.process_exited()


class _Pipe(asyncio.Protocol):
    def __init__(self, process: WarmProcess, protocol: asyncio.SubprocessProtocol, fd: int):
        self._process, self._protocol, self._fd = process, protocol, fd

    def data_received(self, data: bytes) -> None:
        self._protocol.pipe_data_received(self._fd, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._process.pipes.pop(self._fd, None)
        self._protocol.pipe_connection_lost(self._fd, exc)


class Zygote:
    """One warm interpreter of one environment, from `start` until it dies or is stopped."""

    def __init__(self, python: str, env: dict[str, str], preload: Sequence[str], ends_runs: bool = False,
                 spare_cgroups: Path | None = None):
        self.python = python
        self.env = env
        self.preload = preload
        self.ends_runs = ends_runs
        self.spare_cgroups = spare_cgroups
        self.ready = asyncio.Event()
        self.environ_bytes = self.argv_bytes = 0
        self._control: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._started: asyncio.Future[None] | None = None
        self._forks: deque[asyncio.Future[int]] = deque()
        self._running: dict[int, WarmProcess] = {}
        self._early_exits: dict[int, int | None] = {}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = await asyncio.create_subprocess_exec(
                self.python, "-u", str(ZYGOTE), " " * ARGV_RESERVE,
                stdin=theirs.fileno(), stdout=asyncio.subprocess.DEVNULL, stderr=None,
                env={**self.env, PRELOAD_ENV: ",".join(self.preload), RESERVE_ENV: "x" * ENVIRON_RESERVE,
                     **({ENDS_RUNS_ENV: "1"} if self.ends_runs else {}),
                     **({CGROUPS_ENV: str(self.spare_cgroups)} if self.spare_cgroups else {})},
                start_new_session=True,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self._control = ours
        self._started = loop.create_future()
        # A start cancelled while waiting leaves the shielded future to fail on stop(): nobody
        # reads that failure, so read it here rather than have asyncio report it at exit.
        self._started.add_done_callback(lambda started: started.cancelled() or started.exception())
        loop.add_reader(ours.fileno(), self._on_message)
        await asyncio.shield(self._started)

    async def wait_ended(self) -> int:
        assert self._process is not None
        return await self._process.wait()

    async def close(self) -> None:
        """Stop the zygote and wait for it to exit (killed after STOP_WAIT_S)."""
        self.stop()
        if self._process is None:
            return
        try:
            await asyncio.wait_for(self._process.wait(), STOP_WAIT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()

    def fits(self, env: Mapping[str, str], entrypoint: str) -> bool:
        """Whether a run fits in the areas the zygote keeps for its environment and argv."""
        env_size = sum(len(k.encode()) + len(v.encode()) + 2 for k, v in env.items())
        argv_size = sum(len(a.encode()) + 1 for a in run_argv(self.python, entrypoint))
        return self.ready.is_set() and env_size <= self.environ_bytes and argv_size <= self.argv_bytes

    async def fork(
        self, protocol_factory: Callable[[], Protocol], entrypoint: str, cwd: Path, env: dict[str, str],
    ) -> tuple[asyncio.SubprocessTransport, Protocol]:
        assert self._control is not None
        loop = asyncio.get_running_loop()
        (out_r, out_w), (err_r, err_w), (go_r, go_w) = os.pipe(), os.pipe(), os.pipe()
        try:
            message = json.dumps({"entrypoint": entrypoint, "cwd": str(cwd), "env": env}).encode()
            forked: asyncio.Future[int] = loop.create_future()
            socket.send_fds(self._control, [message], [out_w, err_w, go_r])
            self._forks.append(forked)
        except BaseException:
            for fd in (out_r, err_r, go_w):
                os.close(fd)
            raise
        finally:
            for fd in (out_w, err_w, go_r):
                os.close(fd)
        readers = [os.fdopen(out_r, "rb", 0), os.fdopen(err_r, "rb", 0)]
        try:
            pid = await forked
        except BaseException:
            for reader in readers:
                reader.close()
            os.close(go_w)
            raise
        protocol = protocol_factory()
        process = self._running[pid] = WarmProcess(pid, protocol, go_w)
        for fd, reader in zip((1, 2), readers, strict=True):
            pipe, _ = await loop.connect_read_pipe(lambda fd=fd: _Pipe(process, protocol, fd), reader)  # type: ignore[misc]
            process.pipes[fd] = pipe
        protocol.connection_made(process)
        if pid in self._early_exits:
            self._end(pid, self._early_exits.pop(pid))
        return process, protocol

    def stop(self) -> None:
        """Close the control socket: the zygote exits (its running children go on)."""
        if self._control is not None:
            asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
            self._control = None
            self._lost(RuntimeError("the warm interpreter was stopped"))

    def _on_message(self) -> None:
        assert self._control is not None
        try:
            data = self._control.recv(MAX_MESSAGE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.stop()
            return
        message = json.loads(data)
        if "ready" in message:
            self.ready.set()
            self.environ_bytes, self.argv_bytes = message["environ_bytes"], message["argv_bytes"]
            for name, why in message["skipped"].items():
                log.warning("warm interpreter %s: module %r not preloaded (%s)", self.python, name, why)
            assert self._started is not None
            self._started.set_result(None)
        elif "forked" in message:
            self._forks.popleft().set_result(message["forked"])
        elif "failed" in message:
            self._forks.popleft().set_exception(OSError(message["failed"]))
        elif "exited" in message:
            self._end(message["exited"], message["code"])

    def _end(self, pid: int, code: int | None) -> None:
        process = self._running.pop(pid, None)
        if process is None:  # exited before `fork` had built its transport
            self._early_exits[pid] = code
        else:
            process.ended(code)

    def _lost(self, why: Exception) -> None:
        """The zygote is gone: nothing more will be forked, and no exit status will come. Its
        runs go on (children of init now); each ends when its process does, code unknown."""
        self.ready.clear()
        if self._started is not None and not self._started.done():
            self._started.set_exception(why)
        while self._forks:
            self._forks.popleft().set_exception(why)
        loop = asyncio.get_running_loop()
        for pid in list(self._running):
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                self._end(pid, None)
                continue

            def gone(pid: int = pid, pidfd: int = pidfd) -> None:
                loop.remove_reader(pidfd)
                os.close(pidfd)
                self._end(pid, None)

            loop.add_reader(pidfd, gone)


class WarmPool:
    """The zygotes of every environment that has run something: one per interpreter and
    start-up environment (the variables `startup_environ` keeps)."""

    def __init__(self, preload: Sequence[str], ends_runs: bool = False):
        """`ends_runs`: when this process dies, its zygotes end the runs they forked (each run's
        process group: one that left its session stays), as a Dask worker's should."""
        self.preload = tuple(preload)
        self.ends_runs = ends_runs
        self.cgroups: RunCgroups | None = None  # the runs' cgroups, where spares make theirs (set by the executor)
        self._zygotes: dict[tuple[str, frozenset[tuple[str, str]]], Zygote] = {}
        self._keepers: set[asyncio.Task[None]] = set()
        self._stopping = False

    def prewarm(self, python: str, env: Mapping[str, str]) -> None:
        """Start the zygote for runs of `python` with `env` before the first one."""
        self.zygote_for(python, env, "")

    def zygote_for(self, python: str, env: Mapping[str, str], entrypoint: str) -> Zygote | None:
        """The ready zygote a run may be forked from; None: start it cold (module doc)."""
        if self._stopping:
            return None
        startup = startup_environ(env)
        key = (python, frozenset(startup.items()))
        zygote = self._zygotes.get(key)
        if zygote is None:
            own = {k: v for k, v in env.items() if k in ZYGOTE_NAMES} | startup
            spare_cgroups = self.cgroups.root if self.cgroups else None
            zygote = self._zygotes[key] = Zygote(python, own, self.preload, self.ends_runs, spare_cgroups)
            keeper = asyncio.get_running_loop().create_task(self._keep_alive(zygote))
            self._keepers.add(keeper)
            return None
        return zygote if zygote.fits(env, entrypoint) else None

    async def wait_ready(self) -> None:
        """Until every zygote started so far is ready (for callers that want warm first runs)."""
        await asyncio.gather(*(zygote.ready.wait() for zygote in self._zygotes.values()))

    async def stop(self) -> None:
        self._stopping = True
        for keeper in self._keepers:
            keeper.cancel()
        await asyncio.gather(*self._keepers, return_exceptions=True)

    async def _keep_alive(self, zygote: Zygote) -> None:
        """Run a zygote; restart it when it dies, later each time it dies young."""
        delay = RESTART_DELAY_S
        loop = asyncio.get_running_loop()
        while True:
            born = loop.time()
            if self.cgroups is not None:  # those the last one's spares left, if it was killed
                await asyncio.to_thread(self.cgroups.remove_idle_spares)
            try:
                await zygote.start()
                why = f"it exited with code {await zygote.wait_ended()}"
            except asyncio.CancelledError:
                await zygote.close()
                raise
            except Exception as e:
                why = f"it could not start: {e}"
            zygote.stop()
            young = loop.time() - born < YOUNG_S
            log.warning("warm interpreter %s died (%s); restarting it%s", zygote.python, why,
                        f" in {delay:g} s" if young else "")
            if young:
                await asyncio.sleep(delay)
                delay = min(RESTART_DELAY_CAP_S, delay * 2)
            else:
                delay = RESTART_DELAY_S
