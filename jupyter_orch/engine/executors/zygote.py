"""A warm interpreter (a zygote): `python -u zygote.py <argv reserve>`, its stdin a control socket.

It imports the modules named by JUPYTER_ORCH_PRELOAD (comma-separated; one that cannot be
imported is skipped and reported), says it is ready, then forks one child per run request.
Each child turns itself into what `python -u bootstrap.py <entrypoint>` would be: its own
session and process group, the run's cwd, environment, stdio, argv and `__main__`, the signal
dispositions and mask a fresh interpreter starts with, fresh random seeds, and no file
descriptor of the zygote. The zygote reaps its children and reports each exit status.

Control messages are JSON, one per SOCK_SEQPACKET packet. Server to zygote: `{"entrypoint",
"cwd", "env"}` with two file descriptors (the run's stdout and stderr). Zygote to server:
`{"ready", "skipped", "environ_bytes", "argv_bytes"}` once; then per request `{"forked": pid}`
or `{"failed": message}`; and `{"exited": pid, "code": code}` (negative: the signal).

It runs as a script in the environment's own interpreter and imports only the standard
library before the preloads: what it imports, every run has already imported.
"""

from __future__ import annotations

import ctypes
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
MAX_MESSAGE = 1024 * 1024
READY_ARG = "ready"  # what the zygote's command line ends with once it forks runs (`ps` shows it)
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
    request = serve(control, preload(os.environ.pop(PRELOAD_ENV, "")))
    if request is not None:  # in a forked child: become the run
        become_run(*request)


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
    return skipped


def serve(control: socket.socket, skipped: dict[str, str]) -> tuple[dict[str, Any], list[int]] | None:
    """The zygote's loop; returns only in a child (its request and stdio), or None at EOF."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    env_area, argv_area = _areas()
    _overwrite(argv_area, b"".join(a.encode() + b"\0" for a in (*sys.orig_argv[:3], READY_ARG)))
    _send(control, {"ready": True, "skipped": skipped, "environ_bytes": env_area[1] - env_area[0],
                    "argv_bytes": argv_area[1] - argv_area[0]})
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                data, fds, _flags, _addr = socket.recv_fds(control, MAX_MESSAGE, 2)
                if not data:
                    return None
                pid = _fork(json.loads(data), fds, control)
                if pid == 0:
                    selector.close()
                    for fd in (wake_r, wake_w):
                        os.close(fd)
                    return json.loads(data), fds
            else:
                _drain(wake_r)
                _reap(control)


def _fork(request: dict[str, Any], fds: list[int], control: socket.socket) -> int:
    """Fork a child for the request; answer `forked` once it has its own session (so a signal
    to its group reaches it), or `failed`. 0 in the child."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)
        os.close(ready_r)
        control.close()
        try:
            _take_session_and_stdio(request, fds)
        except OSError as e:
            os.write(ready_w, f"{type(e).__name__}: {e}".encode())
            os._exit(127)
        os.close(ready_w)
        return 0
    os.close(ready_w)
    for fd in fds:
        os.close(fd)
    problem = _read_all(ready_r)
    os.close(ready_r)
    if problem:
        _send(control, {"failed": problem.decode(errors="replace")})
    else:
        _send(control, {"forked": pid})
    return pid


def _take_session_and_stdio(request: dict[str, Any], fds: list[int]) -> None:
    os.setsid()
    os.chdir(request["cwd"])
    stdout, stderr = fds
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    for fd in fds:
        os.close(fd)


def become_run(request: dict[str, Any], fds: list[int]) -> None:
    """Everything of the zygote that a fresh `python -u bootstrap.py` would not have, undone."""
    for sig, handler in FRESH_SIGNALS.items():
        if signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, FRESH_MASK)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # this also lets the zygote go on (see _fork)
    env: dict[str, str] = request["env"]
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    _reseed()
    entrypoint = request["entrypoint"]
    argv = run_argv(sys.executable, entrypoint)
    env_area, argv_area = _areas()
    _overwrite(env_area, b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()))
    _overwrite(argv_area, b"".join(a.encode() + b"\0" for a in argv))
    sys.orig_argv[:] = argv
    sys.argv[:] = [BOOTSTRAP, entrypoint]
    from jupyter_orch.compat import bootstrap

    bootstrap.main()


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


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(control, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


def _drain(fd: int) -> None:
    while True:
        try:
            if not os.read(fd, 4096):
                return
        except BlockingIOError:
            return


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)


if __name__ == "__main__":
    main()
