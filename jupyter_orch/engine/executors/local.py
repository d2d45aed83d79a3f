"""The local executor: each run a subprocess of this machine.

A local run is `python -u bootstrap.py <entrypoint>` under the launcher (launcher.py), in its own
session (and cgroup, where the machine allows): the run is recorded running (asked for while its
process is made) before the launcher lets user code run, and stopping or ending the run ends
every process it started (processes.py). Its cwd is a private working copy of the unpacked
orchestration, its JSON arguments are in a file named by JUPYTER_ORCH_TASK_ARGS_FILE. The
working copy copies small files and hard-links large ones to the shared read-only tree, so a
large data file costs no copy per run; what the run leaves in its `outputs/` is kept as its
artifacts when it ends. With a sandbox the command runs inside bubblewrap (sandbox.py).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import sys
from collections import deque
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path

from ...constants import OUTPUTS_DIR
from ...constants import TASK_ARGS_FILE_ENV as ARGS_ENV
from ..timeutil import utcnow
from .base import Execution, Executor, LineSink, RunSpec, RunStart
from .processes import Gate, RunCgroups, RunProcesses
from .sandbox import Sandbox
from .warm import WarmPool, WarmProcess, Zygote

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = PACKAGE_ROOT / "compat" / "bootstrap.py"
HARD_LINK_MIN_BYTES = 1024 * 1024
MAX_LINE_CHARS = 64 * 1024  # longer lines are stored as pieces marked partial
# After a run's launcher exits, how long its output pipes may stay open (held by a process that
# escaped it) before they are closed on it.
DRAIN_AFTER_EXIT_S = 2.0
LINES_PER_TURN = 1000
# A read is split into lines a slice at a time, as turns hand them on: one 256 KiB read of short
# lines is 20,000 of them, and splitting it at once held the loop 30-40 ms.
SPLIT_BYTES = 16 * 1024
# Waiting lines or unsplit bytes past which reading the run's pipes pauses (four turns' worth).
PAUSE_LINES = 4 * LINES_PER_TURN
PAUSE_BYTES = 4 * SPLIT_BYTES
STREAMS = {1: "stdout", 2: "stderr"}


class LocalExecutor(Executor):
    def __init__(self, runs_root: Path, sandbox: Sandbox | None = None, die_with_parent: bool = False):
        super().__init__(runs_root, sandbox)
        # A run ends with this process (a Dask worker's runs: nothing else would end them);
        # a server's runs outlive it, for its next start to find and end (leftovers.py).
        self.die_with_parent = die_with_parent
        # Named after the runs folder, so that a restarted server finds its runs' cgroups again.
        self.processes = RunProcesses(
            RunCgroups.beside_own(hashlib.sha256(str(runs_root.absolute()).encode()).hexdigest()[:16]))

    def use_warm(self, pool: WarmPool) -> None:
        super().use_warm(pool)
        pool.cgroups = self.processes.cgroups

    async def start(self, spec: RunSpec, sink: LineSink, start: RunStart) -> Execution:
        run_dir = self.runs_root / spec.run_id
        workdir, args_file = run_dir / "work", run_dir / "args.json"
        env = {**spec.env, ARGS_ENV: str(args_file)}
        warm = None if self.sandbox else self.warm
        zygote = warm.zygote_for(spec.python, env, spec.entrypoint) if warm else None
        recorded = asyncio.ensure_future(start.running())
        try:
            if zygote is not None:
                transport, protocol = await self._fork(zygote, spec, workdir, args_file, env, sink, recorded)
            else:
                argv = await asyncio.to_thread(self._prepare, spec, run_dir, workdir, args_file)
                transport, protocol = await self._spawn(spec, argv, workdir, env, sink, recorded)
        except BaseException:
            await asyncio.gather(recorded, return_exceptions=True)
            await asyncio.to_thread(shutil.rmtree, run_dir, True)
            raise
        start.located(transport.get_pid())
        return LocalExecution(transport, protocol, run_dir, spec.run_id, self)

    def _prepare(self, spec: RunSpec, run_dir: Path, workdir: Path, args_file: Path) -> list[str]:
        """The run's folder, made afresh (one a crash left half-made is made again); the command."""
        self.runs_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(mode=0o700)
        working_copy(spec.source, workdir)
        write_private(args_file, json.dumps(spec.args).encode())
        argv = [spec.python, "-u", str(BOOTSTRAP), spec.entrypoint]
        if self.sandbox is None:
            return argv
        # Beside the orchestration and its environment, the launcher's package and the server's
        # environment (a requirements environment layers on it): either may live in a folder the
        # sandbox hides, such as /tmp.
        readable = [spec.source, Path(spec.python).parent.parent, PACKAGE_ROOT, Path(sys.prefix)]
        return self.sandbox.wrap(argv, run_dir, readable, workdir)

    async def _fork(
        self, zygote: Zygote, spec: RunSpec, workdir: Path, args_file: Path, env: dict[str, str], sink: LineSink,
        recorded: asyncio.Future[None],
    ) -> tuple[asyncio.SubprocessTransport, _RunProtocol]:
        """A fork of the environment's warm interpreter (warm.py), asked for while the run's
        folder is made and its start recorded: the child enters the folder only once released."""
        folder = asyncio.ensure_future(asyncio.to_thread(self._prepare, spec, workdir.parent, workdir, args_file))
        try:
            forked, protocol = await zygote.fork(lambda: _RunProtocol(sink), spec.entrypoint, workdir, env)
        except BaseException:
            await asyncio.gather(folder, return_exceptions=True)  # the caller removes the folder: not while made
            raise
        await self._record(spec.run_id, forked, recorded, folder)
        assert isinstance(forked, WarmProcess)
        forked.release()
        return forked, protocol

    async def _spawn(
        self, spec: RunSpec, argv: list[str], cwd: Path, env: dict[str, str], sink: LineSink,
        recorded: asyncio.Future[None],
    ) -> tuple[asyncio.SubprocessTransport, _RunProtocol]:
        """`argv` cold, under the launcher, in its own session (and cgroup, where there are);
        it runs user code only once its start is `recorded`."""
        loop = asyncio.get_running_loop()
        with Gate() as gate:
            transport, protocol = await loop.subprocess_exec(
                lambda: _RunProtocol(sink),
                *gate.command(argv, die_with_parent=self.die_with_parent),
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=gate.fds,
            )
            await self._record(spec.run_id, transport, recorded)
            gate.release()
        return transport, protocol

    async def _record(
        self, run_id: str, transport: asyncio.SubprocessTransport, *under_way: Awaitable[object]
    ) -> None:
        """Put the held process in the run's cgroup while what is `under_way` for its start
        (its record, its folder) ends; if any of it fails, it ends before it ran anything (its
        gate closes)."""
        outcomes = await asyncio.gather(
            asyncio.to_thread(self.processes.cgroups.enter, run_id, transport.get_pid()), *under_way,
            return_exceptions=True)
        failed = next((r for r in outcomes if isinstance(r, BaseException)), None)
        if failed is not None:
            transport.close()
            await asyncio.to_thread(self.processes.end, run_id)
            raise failed

    async def end_orphan(self, run_id: str, pid: int | None) -> None:
        await asyncio.to_thread(self.processes.end, run_id)
        await asyncio.to_thread(self.keep_outputs, run_id, self.runs_root / run_id / "work" / OUTPUTS_DIR)
        await asyncio.to_thread(shutil.rmtree, self.runs_root / run_id, True)



class LocalExecution(Execution):
    def __init__(
        self, transport: asyncio.SubprocessTransport, protocol: _RunProtocol, run_dir: Path, run_id: str,
        executor: LocalExecutor,
    ):
        self.pid = transport.get_pid()
        # For its launcher, SIGTERM means "end it all now" when it dies with its parent: spare it.
        self._launcher = None if isinstance(transport, WarmProcess) else self.pid
        self._transport = transport
        self._protocol = protocol
        self._run_dir = run_dir
        self._run_id = run_id
        self._executor = executor
        self._done = asyncio.ensure_future(self._finish())

    async def _finish(self) -> int:
        await self._protocol.exited
        code = self._transport.get_returncode()
        # The launcher ended what stayed under it; this ends what it could not see (it was killed).
        await asyncio.to_thread(self._executor.processes.end, self._run_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._protocol.drained), DRAIN_AFTER_EXIT_S)
        self._transport.close()
        await asyncio.to_thread(self._executor.keep_outputs, self._run_id, self._run_dir / "work" / OUTPUTS_DIR)
        await asyncio.to_thread(shutil.rmtree, self._run_dir, True)
        return code if code is not None else -1

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    async def stop(self, grace: float) -> None:
        if self._protocol.exited.done():
            return
        await asyncio.to_thread(self._executor.processes.signal, self._run_id, signal.SIGTERM, self._launcher)
        try:
            await asyncio.wait_for(asyncio.shield(self._protocol.exited), grace)
        except TimeoutError:
            await asyncio.to_thread(self._executor.processes.end, self._run_id)


class LineSplitter:
    """Bytes of one stream in, lines out (text, partial): UTF-8 decoded across chunk boundaries,
    `\\r\\n` and `\\n` endings, a last line without a newline kept, lines over MAX_LINE_CHARS
    cut into pieces marked partial."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, data: bytes | memoryview) -> list[tuple[str, bool]]:
        text = self._pending + self._decoder.decode(data)
        *lines, pending = text.split("\n")
        if "\r" in text:
            lines = [line.removesuffix("\r") for line in lines]
        out: list[tuple[str, bool]]
        if len(text) <= MAX_LINE_CHARS:  # no line can need cutting: the common case, kept cheap
            out = [(line, False) for line in lines]
        else:
            out = []
            for line in lines:
                _cut(line, out)
        while len(pending) > MAX_LINE_CHARS:
            out.append((pending[:MAX_LINE_CHARS], True))
            pending = pending[MAX_LINE_CHARS:]
        self._pending = pending
        return out

    def close(self) -> list[tuple[str, bool]]:
        rest, self._pending = self._pending + self._decoder.decode(b"", final=True), ""
        out: list[tuple[str, bool]] = []
        if rest:
            _cut(rest, out)
        return out


def _cut(line: str, out: list[tuple[str, bool]]) -> None:
    while len(line) > MAX_LINE_CHARS:
        out.append((line[:MAX_LINE_CHARS], True))
        line = line[MAX_LINE_CHARS:]
    out.append((line, False))


class _RunProtocol(asyncio.SubprocessProtocol):
    """A run's output, handed to the sink at most LINES_PER_TURN lines per loop turn and split
    at most SPLIT_BYTES per turn: everything else the server does waits while a callback runs.
    Reading pauses while lines or bytes wait, so a run that prints faster than its log keeps up
    waits on its full pipe instead of filling this server's memory."""

    def __init__(self, sink: LineSink):
        loop = asyncio.get_running_loop()
        self._sink = sink
        self._splitters = {1: LineSplitter(), 2: LineSplitter()}
        self._open = {1, 2}
        self._reads: deque[tuple[int, datetime, memoryview | None]] = deque()  # None: the stream ended
        self._unsplit = 0  # bytes in _reads
        self._waiting: deque[tuple[str, datetime, list[tuple[str, bool]]]] = deque()  # split, not handed on
        self._waiting_lines = 0
        self._transport: asyncio.SubprocessTransport | None = None
        self._paused = False
        self._next_turn: asyncio.Handle | None = None
        self.exited: asyncio.Future[None] = loop.create_future()
        self.drained: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._reads.append((fd, utcnow(), memoryview(data)))
        self._unsplit += len(data)
        if self._next_turn is None:
            self._hand_on()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd in self._open:
            self._open.discard(fd)
            self._reads.append((fd, utcnow(), None))
            if self._next_turn is None:
                self._hand_on()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def _hand_on(self) -> None:
        self._next_turn = None
        budget, split_budget, waiting = LINES_PER_TURN, SPLIT_BYTES, self._waiting
        while budget:
            if not waiting:
                if split_budget <= 0 or not self._reads:
                    break
                split_budget -= self._split_next(split_budget)
                continue
            stream, at, lines = waiting[0]
            if len(lines) <= budget:
                waiting.popleft()
            else:
                waiting[0] = (stream, at, lines[budget:])
                lines = lines[:budget]
            budget -= len(lines)
            self._waiting_lines -= len(lines)
            self._sink(stream, at, lines)
        if waiting or self._reads:
            self._next_turn = asyncio.get_running_loop().call_soon(self._hand_on)
        # Paused from a few turns' worth until one turn's is left: toggling the pipes on every
        # turn would cost two epoll calls a turn.
        if self._waiting_lines > PAUSE_LINES or self._unsplit > PAUSE_BYTES:
            self._pause(True)
        elif self._waiting_lines <= LINES_PER_TURN and self._unsplit <= SPLIT_BYTES:
            self._pause(False)
        if not waiting and not self._reads and not self._open and not self.drained.done():
            self.drained.set_result(None)

    def _split_next(self, most: int) -> int:
        """Split the oldest read, `most` bytes of it at most; the bytes split."""
        fd, at, data = self._reads.popleft()
        if data is None:
            lines = self._splitters[fd].close()
        else:
            if len(data) > most:
                self._reads.appendleft((fd, at, data[most:]))
                data = data[:most]
            self._unsplit -= len(data)
            lines = self._splitters[fd].feed(data)
        if lines:
            self._waiting.append((STREAMS[fd], at, lines))
            self._waiting_lines += len(lines)
        return len(data) if data is not None else 0

    def _pause(self, paused: bool) -> None:
        if paused == self._paused or self._transport is None:
            return
        self._paused = paused
        for fd in self._open:
            pipe = self._transport.get_pipe_transport(fd)
            if isinstance(pipe, asyncio.ReadTransport):
                pipe.pause_reading() if paused else pipe.resume_reading()


def working_copy(source: Path, workdir: Path) -> None:
    """A writable tree like `source`: small files copied, large ones hard-linked (a run that
    replaces a large file gets its own; the shared tree's files are read-only)."""

    def link_or_copy(src: str, dst: str) -> None:
        if os.path.getsize(src) >= HARD_LINK_MIN_BYTES:
            try:
                os.link(src, dst)
                return
            except OSError:  # another file system, or links not allowed: a copy still works
                pass
        shutil.copy2(src, dst)
        os.chmod(dst, os.stat(dst).st_mode | stat.S_IWUSR)

    shutil.copytree(source, workdir, symlinks=True, copy_function=link_or_copy)


def write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)

