"""A warm interpreter (a zygote): `python -u zygote.py <argv reserve>`, its stdin a control socket.

It imports the modules named by JUPYTER_ORCH_PRELOAD (comma-separated; one that cannot be
imported is skipped and reported), says it is ready, then gives each run request a child.
Forking a process that holds pandas and pyarrow takes several milliseconds (its page tables),
so the child is forked ahead of its request: one spare waits, already holding a fresh
interpreter's signal dispositions and mask, fresh random seeds and no file descriptor of the
zygote. On a request it turns itself into what `python -u bootstrap.py <entrypoint>` would be:
its own session and process group, the run's environment, stdio, argv and `__main__`, and once
released its cwd (the server makes the run's folder while the spare takes the request); then
the zygote forks the next spare. The zygote reaps its children and reports each run's
exit status. The zygote's command line ends with `ready` once it serves, a spare's with `spare`.

Control messages are JSON, one per SOCK_SEQPACKET packet. Server to zygote: `{"entrypoint",
"cwd", "env"}` with three file descriptors: the run's stdout and stderr, and a pipe on which
the server says GO once it has recorded the run's start (the run's code waits for it). Zygote to server:
`{"ready", "skipped", "environ_bytes", "argv_bytes"}` once; then per request `{"forked": pid}`
or `{"failed": message}`; and `{"exited": pid, "code": code}` (negative: the signal).

It runs as a script in the environment's own interpreter and imports only the standard
library before the preloads: what it imports, every run has already imported.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import time
from typing import Any

PRELOAD_ENV = "JUPYTER_ORCH_PRELOAD"
RESERVE_ENV = "JUPYTER_ORCH_ENVIRON_RESERVE"  # only there to make the environ area large
ENDS_RUNS_ENV = "JUPYTER_ORCH_ZYGOTE_ENDS_RUNS"  # "1": when its parent goes, its runs' groups go too
CGROUPS_ENV = "JUPYTER_ORCH_SPARE_CGROUPS"  # where each spare makes its cgroup (see RunCgroups)
SPARE_PREFIX = "spare-"  # a spare's cgroup: <JUPYTER_ORCH_SPARE_CGROUPS>/spare-<its pid>
MAX_MESSAGE = 1024 * 1024
READY_ARG = "ready"  # what the zygote's command line ends with once it serves (`ps` shows it)
SPARE_ARG = "spare"
SPARE_OK = b"ok"
RUN_FDS = ("stdout", "stderr", "go")  # what a run request carries: its output pipes, and its start
GO = b"g"
BOOTSTRAP_MODULES = ("jupyter_orch.compat.bootstrap", "runpy", "pkgutil")  # what every run imports
BOOTSTRAP = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "compat", "bootstrap.py")
# A fresh interpreter's signal state, taken before the zygote changes anything (None: set outside
# Python, which a fresh interpreter does not do).
FRESH_SIGNALS = {s: h for s in signal.valid_signals() if (h := signal.getsignal(s)) is not None}
FRESH_MASK = signal.pthread_sigmask(signal.SIG_BLOCK, [])


def main() -> None:
    control = socket.socket(fileno=os.dup(0))
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.environ.pop(RESERVE_ENV, None)
    ends_runs = os.environ.pop(ENDS_RUNS_ENV, "") == "1"
    spare_cgroups = os.environ.pop(CGROUPS_ENV, "")
    spare = Zygote(control, preload(os.environ.pop(PRELOAD_ENV, "")), ends_runs, spare_cgroups).serve()
    if spare is not None:  # in a forked child: wait for a run and become it
        spare.serve()


def preload(names: str) -> dict[str, str]:
    """Import each module; the ones that fail, with why."""
    from jupyter_orch.compat import install_wallaroo_alias

    install_wallaroo_alias()  # so that `wallaroo` names the shim, as in a run
    skipped = {}
    for name in filter(None, (n.strip() for n in names.split(","))):
        try:
            importlib.import_module(name)
        except BaseException as e:
            skipped[name] = f"{type(e).__name__}: {e}"
    for name in BOOTSTRAP_MODULES:
        importlib.import_module(name)
    # The preloaded objects live on; kept out of the collector's sight, a collection in a fork
    # does not write to (and so copy) every page that holds them.
    gc.freeze()
    return skipped


class Zygote:
    def __init__(self, control: socket.socket, skipped: dict[str, str], ends_runs: bool = False,
                 spare_cgroups: str = ""):
        self.control = control
        self.skipped = skipped
        self.ends_runs = ends_runs
        self.spare_cgroups = spare_cgroups
        self.runs: set[int] = set()  # children given to runs (a spare's end is not reported)
        self.selector = selectors.DefaultSelector()

    def serve(self) -> Spare | None:
        """The zygote's loop; returns a spare in that forked child, or None at EOF."""
        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.control, selectors.EVENT_READ)
        self.selector.register(wake_r, selectors.EVENT_READ)
        env_area, argv_area = _areas()
        _set_title(argv_area, READY_ARG)
        spare = self._fork_spare()
        if isinstance(spare, Spare):
            return spare
        _send(self.control, {"ready": True, "skipped": self.skipped, "environ_bytes": env_area[1] - env_area[0],
                             "argv_bytes": argv_area[1] - argv_area[0]})
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is not self.control:
                    _drain(wake_r)
                    self._reap()
                    continue
                data, fds, _flags, _addr = socket.recv_fds(self.control, MAX_MESSAGE, len(RUN_FDS))
                if not data:  # the server (or worker) closed its end, or died
                    if self.ends_runs:
                        for pid in self.runs:
                            with contextlib.suppress(ProcessLookupError, PermissionError):
                                os.killpg(pid, signal.SIGKILL)  # each run leads its own session
                    self._end_spare(spare)
                    return None
                self._hand_over(spare, data, fds)
                spare = self._fork_spare()
                if isinstance(spare, Spare):
                    return spare

    def _fork_spare(self) -> Spare | tuple[int, socket.socket]:
        """Fork the next spare: (its pid, its socket) here, the Spare in the child."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # the objects owning the zygote's descriptors let go of them in the child
            for owner in (ours, self.control, self.selector):
                owner.close()
            return Spare(theirs, self.spare_cgroups)
        theirs.close()
        return pid, ours

    def _end_spare(self, spare: Spare | tuple[int, socket.socket]) -> None:
        """The spare ends when its socket closes; then its cgroup goes."""
        assert not isinstance(spare, Spare)
        pid, channel = spare
        channel.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        if self.spare_cgroups:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(self.spare_cgroups, f"{SPARE_PREFIX}{pid}"))
                os.rmdir(self.spare_cgroups)  # the server's folder of them, when nothing else is there

    def _hand_over(self, spare: Spare | tuple[int, socket.socket], data: bytes, fds: list[int]) -> None:
        """Give the request to the spare; answer `forked` once it has its own session (so a
        signal to its group reaches it), or `failed`."""
        assert not isinstance(spare, Spare)
        pid, channel = spare
        try:
            socket.send_fds(channel, [data], fds)
            answer = channel.recv(MAX_MESSAGE)
        except OSError as e:
            answer = f"the spare interpreter is gone: {e}".encode()
        for fd in fds:
            os.close(fd)
        channel.close()
        if answer == SPARE_OK:
            self.runs.add(pid)
            _send(self.control, {"forked": pid})
        else:
            _send(self.control, {"failed": answer.decode(errors="replace") or "the spare interpreter is gone"})

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.runs:
                self.runs.discard(pid)
                _send(self.control, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


class Spare:
    """A forked child waiting for its run, with what a fresh interpreter would not have undone."""

    def __init__(self, channel: socket.socket, cgroups: str = ""):
        self.channel = channel
        signal.set_wakeup_fd(-1)
        for sig, handler in FRESH_SIGNALS.items():
            if signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, FRESH_MASK)
        os.closerange(3, channel.fileno())  # the zygote's wake-up pipe, and whatever preloads opened
        os.closerange(channel.fileno() + 1, os.sysconf("SC_OPEN_MAX"))
        _reseed()
        self.env_area, self.argv_area = _areas()
        _set_title(self.argv_area, SPARE_ARG)
        if cgroups:
            _enter_own_cgroup(cgroups)

    def serve(self) -> None:
        """Wait for the run request, become the run (or exit when the zygote has gone)."""
        data, fds, _flags, _addr = socket.recv_fds(self.channel, MAX_MESSAGE, len(RUN_FDS))
        if not data:
            os._exit(0)
        request = json.loads(data)
        stdout, stderr, go = fds
        try:
            _take_session_and_stdio(request, stdout, stderr)
        except OSError as e:
            self.channel.send(f"{type(e).__name__}: {e}".encode())
            os._exit(127)
        self.channel.send(SPARE_OK)
        self.channel.close()
        self.become_run(request["entrypoint"], request["cwd"], request["env"], go)

    def become_run(self, entrypoint: str, cwd: str, env: dict[str, str], go: int) -> None:
        os.environ.clear()
        os.environ.update(env)
        time.tzset()
        argv = run_argv(sys.executable, entrypoint)
        _overwrite(self.env_area, b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()))
        _overwrite(self.argv_area, b"".join(a.encode() + b"\0" for a in argv))
        sys.orig_argv[:] = argv
        sys.argv[:] = [BOOTSTRAP, entrypoint]
        from jupyter_orch.compat import bootstrap

        # The run's own code waits until the server has recorded its start (and pid); when the
        # server is gone before that, the run never was: it ends here.
        released = os.read(go, 1) == GO
        os.close(go)
        if not released:
            os._exit(0)
        try:  # made while this process was forked: it exists once the server says GO
            os.chdir(cwd)
        except OSError as e:
            print(f"the run's folder cannot be entered: {e}", file=sys.stderr, flush=True)
            os._exit(127)
        try:
            bootstrap.main()
            code = 0
        except SystemExit as e:
            code = _exit_code(e.code)
        _exit_as_python_would(code)


def _exit_code(code: object) -> int:
    """What the interpreter makes of `sys.exit(code)`: a message is printed, and means 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _exit_as_python_would(code: int) -> None:
    """End the run the way Py_FinalizeEx would, as a user can see it: non-daemon threads
    joined, atexit handlers run (bootstrap's last one flushes the files the run left open),
    stdio flushed (120 if that fails). Then `os._exit`, as multiprocessing does in its forked
    children: tearing down the preloaded modules would touch, and so copy, every page that
    holds them (about 80 ms with pandas and pyarrow, each run)."""
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = 120
    os._exit(code & 0xFF)


def _enter_own_cgroup(root: str) -> None:
    """Move into `<root>/spare-<pid>` while no run waits for it (see RunCgroups); where that
    fails, the server moves the run's process when it starts."""
    group = os.path.join(root, f"{SPARE_PREFIX}{os.getpid()}")
    try:
        os.makedirs(group, exist_ok=True)
        if os.path.exists(os.path.join(group, "cgroup.kill")):  # a run's cgroup must be killable
            with open(os.path.join(group, "cgroup.procs"), "w") as procs:
                procs.write("0")
            return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        os.rmdir(group)


def _take_session_and_stdio(request: dict[str, Any], stdout: int, stderr: int) -> None:
    os.setsid()
    for fd, target in ((stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
        os.close(fd)


def _set_title(argv_area: tuple[int, int], state: str) -> None:
    _overwrite(argv_area, b"".join(a.encode() + b"\0" for a in (*sys.orig_argv[:3], state)))


def run_argv(python: str, entrypoint: str) -> list[str]:
    """The command line of a cold run (the local executor's), which a forked one shows."""
    return [python, "-u", BOOTSTRAP, entrypoint]


def _reseed() -> None:
    """`random` reseeds itself in a forked child; numpy's global generator does not."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def _areas() -> tuple[tuple[int, int], tuple[int, int]]:
    """The (start, end) addresses of this process's environ and argv areas: what
    /proc/<pid>/environ and /proc/<pid>/cmdline show (proc(5) fields 48-51 of `stat`)."""
    with open("/proc/self/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    arg_start, arg_end, env_start, env_end = (int(f) for f in fields[45:49])
    return (env_start, env_end), (arg_start, arg_end)


def _overwrite(area: tuple[int, int], content: bytes) -> None:
    # What /proc shows of a process is its own memory: writing there is how a fork becomes
    # visible as the run it is (end_orphan finds a run's processes by RUN_ID in their environ).
    # The server only forks a run whose environment fits (see warm.py); the rest is zeroed.
    start, end = area
    ctypes.memmove(start, content.ljust(end - start, b"\0")[: end - start], end - start)


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 4096):
                return
        except BlockingIOError:
            return


if __name__ == "__main__":
    main()
