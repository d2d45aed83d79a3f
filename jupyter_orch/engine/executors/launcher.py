"""The first process of every run and every installer: it holds the start until the server has
recorded its identity, then stays the parent of everything it starts, so that nothing escapes.

    python -E -s -S launcher.py [--die-with-parent] --gate FD -- COMMAND...

1. it waits for one byte on FD before anything else: the server writes it once the launcher's
   pid is recorded. End of file instead means the server died first: nothing runs;
2. it becomes a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`): a descendant that double-forks
   or calls `setsid()` is re-parented to the launcher, not to init, so it stays its descendant;
3. it runs COMMAND as its child and reaps every descendant re-parented to it;
4. once COMMAND has ended, it kills (SIGKILL) whatever COMMAND left, then exits as COMMAND did.

SIGTERM does not end the launcher: the server signals each process of a run itself and the
launcher lives on to reap them. With `--die-with-parent` (installers) the death of the server
is a SIGTERM to the launcher (`PR_SET_PDEATHSIG`, set before the gate is read: a server that
died before that closed the gate) that ends it and everything under it.

It imports only the standard library (it starts in a few milliseconds without `site`), and the
server imports `descendants` from it, so both walk the process tree the same way.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# Each sweep kills every descendant it finds; a process forked meanwhile is found by the next.
MAX_SWEEPS = 100


def parents() -> dict[int, int]:
    """pid -> parent pid, of every live process /proc shows."""
    found: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                state, ppid = f.read().rsplit(b")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if state not in (b"Z", b"X"):  # a dead process waiting to be reaped counts no more
            found[int(name)] = int(ppid)
    return found


def descendants(root: int, parent_of: dict[int, int] | None = None) -> list[int]:
    """Every process under `root`, parents before their children."""
    children: dict[int, list[int]] = {}
    for pid, ppid in (parents() if parent_of is None else parent_of).items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _prctl(option: int, value: int) -> bool:
    # The standard library has no prctl(2); this is the C library's, on Linux only.
    try:
        return bool(ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _end_descendants() -> None:
    """Kill everything under this process and reap it (as a subreaper, orphans come back here)."""
    for _ in range(MAX_SWEEPS):
        _reap()
        left = descendants(os.getpid())
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue


def _reap() -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wait_for(child: int) -> int:
    """The wait status of `child`, reaping every other process re-parented here meanwhile."""
    while True:
        pid, status = os.wait()
        if pid == child:
            return status


def _exit_as(status: int) -> None:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        sys.exit(128 + sig)  # a signal this process cannot die of (none the command could)
    sys.exit(os.waitstatus_to_exitcode(status))


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    die_with_parent = "--die-with-parent" in options
    if die_with_parent:
        def end_all(_sig: int, _frame: FrameType | None) -> None:
            _end_descendants()
            os._exit(1)

        signal.signal(signal.SIGTERM, end_all)
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    else:
        signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    gate = int(options[options.index("--gate") + 1])
    released = os.read(gate, 1)
    os.close(gate)
    if not released:
        sys.exit(1)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # Python ignores SIGPIPE; the command gets every signal's default disposition back.
    defaults = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGTERM)
    try:
        child = os.posix_spawnp(command[0], command, os.environ, setsigdef=defaults)
    except OSError as e:
        print(f"[jupyter-orch] cannot start {command[0]}: {e}", file=sys.stderr, flush=True)
        sys.exit(127)
    status = _wait_for(child)
    _end_descendants()
    _exit_as(status)


if __name__ == "__main__":
    main(sys.argv[1:])
