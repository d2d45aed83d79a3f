"""Finding and ending every process of a run or an installer, however it left its group.

Each one starts under the launcher (launcher.py) with a marker in its environment (a run's
`RUN_ID=<run id>`): its processes are those that carry the marker and everything under them, so
a daemon that double-forked stays found (it is re-parented to the subreaper launcher), and so
does one that cleared its environment while an ancestor that carries the marker lives. After a
crash (the server's, or a killed launcher) the marker alone finds what is left. Where the
machine allows it, each run also gets a cgroup v2 of its own (`RunCgroups`), which nothing in it
can leave.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from ...constants import RUN_ID_ENV
from .launcher import descendants, parents
from .zygote import SPARE_PREFIX

LAUNCHER = Path(__file__).resolve().with_name("launcher.py")

KILL_SWEEPS = 50
SWEEP_PAUSE_S = 0.005  # lets a killed process become a zombie before the next look


class Gate:
    """The pipe a launcher waits on before it runs its command: `release` lets it run; leaving
    the `with` block without releasing (or dying) closes the pipe and the launcher exits."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        self.fds = (self._read,)

    def command(self, command: Sequence[str], die_with_parent: bool = False) -> list[str]:
        """`command` under the launcher, gated by this pipe."""
        options = ["--die-with-parent"] if die_with_parent else []
        return [sys.executable, "-E", "-s", "-S", str(LAUNCHER), *options, "--gate", str(self._read), "--", *command]

    def release(self) -> None:
        os.write(self._write, b"1")

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        os.close(self._read)
        os.close(self._write)


def marker(name: str, value: str) -> bytes:
    return f"{name}={value}".encode()


def find(mark: bytes, prefix: bool = False) -> list[int]:
    """Processes whose environment holds `mark` (an entry equal to it, or with `prefix` one
    starting with it), and everything under them; never this process."""
    parent_of = parents()
    marked = {pid for pid in parent_of if pid != os.getpid() and _carries(pid, mark, prefix)}
    found = set(marked)
    for pid in marked:
        found.update(descendants(pid, parent_of))
    found.discard(os.getpid())
    return sorted(found)


def signal_all(mark: bytes, sig: int, prefix: bool = False, sparing: int | None = None) -> int:
    """Send `sig` to every process `find` names but `sparing`; how many there were."""
    pids = [pid for pid in find(mark, prefix) if pid != sparing]
    for pid in pids:
        _send(pid, sig)
    return len(pids)


def kill_all(mark: bytes, prefix: bool = False) -> bool:
    """SIGKILL every process `find` names until none is left; False if some could not be."""
    for _ in range(KILL_SWEEPS):
        if not signal_all(mark, signal.SIGKILL, prefix):
            return True
        time.sleep(SWEEP_PAUSE_S)
    return not find(mark, prefix)


def _carries(pid: int, mark: bytes, prefix: bool) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            entries = f.read().split(b"\0")
    except OSError:
        return False
    return any(e.startswith(mark) for e in entries) if prefix else mark in entries


def _send(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def run_marker(run_id: str) -> bytes:
    return marker(RUN_ID_ENV, run_id)


class RunProcesses:
    """Every process of each run, found by its cgroup (where there are) and by its marker."""

    def __init__(self, cgroups: RunCgroups):
        self.cgroups = cgroups

    def signal(self, run_id: str, sig: int, sparing: int | None = None) -> None:
        signal_all(run_marker(run_id), sig, sparing=sparing)
        self.cgroups.signal(run_id, sig, sparing)

    def end(self, run_id: str) -> None:
        """SIGKILL every process of the run: those its cgroup holds, or where it has none (or
        the cgroup could not be emptied), those its marker finds. The marker's look reads the
        environment of every process on the machine: most of a run's end, in CPU."""
        if not self.cgroups.kill(run_id):
            kill_all(run_marker(run_id))


class RunCgroups:
    """A cgroup v2 per run, where the machine lets this server make them: under its own cgroup,
    `<own cgroup>/jupyter-orch-<name>/<run id>`. The kernel then ends every process of a run at
    once (`cgroup.kill`), one that escaped the launcher and cleared its environment included.
    Where it cannot (no cgroup v2, no right to make one, no `cgroup.kill`), `root` is None and
    every method does nothing: the launcher and the marker do the work alone.

    Moving a process into a cgroup waits for an RCU grace period when none moved lately (15 ms
    here, each run). A warm interpreter's spare therefore moves itself, while it waits for a run,
    into `spare-<its pid>` (zygote.py); the run it becomes names that cgroup with an empty child
    cgroup `spare-<pid>/<run id>` (cgroup v2 cannot rename one)."""

    def __init__(self, root: Path | None):
        self.root = root

    @classmethod
    def beside_own(cls, name: str) -> RunCgroups:
        try:
            with open("/proc/self/mountinfo") as f:
                mount = next((line.split()[4] for line in f if " - cgroup2 " in line), None)
            with open("/proc/self/cgroup") as f:
                own = next((line[3:].strip() for line in f if line.startswith("0::")), None)
        except OSError:
            return cls(None)
        if mount is None or own is None:
            return cls(None)
        return cls(Path(mount) / own.lstrip("/") / f"jupyter-orch-{name}")

    def enter(self, run_id: str, pid: int) -> None:
        """Put the run's first process (not yet running user code) in a cgroup of its own."""
        if self.root is None:
            return
        spare = self.root / f"{SPARE_PREFIX}{pid}"
        with contextlib.suppress(OSError, ValueError):
            if str(pid) in (spare / "cgroup.procs").read_text().split():
                (spare / run_id).mkdir()
                return
        group = self.root / run_id
        try:
            group.mkdir(parents=True, exist_ok=True)
            if not (group / "cgroup.kill").exists():  # Linux before 5.14: no way to kill them all
                self._remove(group)
                self.root = None
                return
            (group / "cgroup.procs").write_text(str(pid))
        except OSError:  # no cgroup v2 here, or no right to make one or to move processes in
            self._remove(group)

    def signal(self, run_id: str, sig: int, sparing: int | None = None) -> None:
        for pid in self._members(run_id):
            if pid != sparing:
                _send(pid, sig)

    def kill(self, run_id: str) -> bool:
        """Kill every process in the run's cgroup, then remove it. True when the run had one
        and it is gone: no process of the run is left."""
        group = self._group(run_id)
        if group is None:
            return False
        with contextlib.suppress(OSError):
            (group / "cgroup.kill").write_text("1")
        if group.name != run_id:  # a spare's: first the child cgroup that names the run
            with contextlib.suppress(OSError):
                (group / run_id).rmdir()
        for _ in range(KILL_SWEEPS):
            if self._remove(group):
                return True
            time.sleep(SWEEP_PAUSE_S)  # busy until the killed processes are gone
        return False

    def remove_idle_spares(self) -> None:
        """Remove the empty cgroups of spares that ended without a run (their zygote was killed);
        one a spare or a run still holds is busy and stays."""
        if self.root is None:
            return
        with contextlib.suppress(OSError):
            for group in self.root.iterdir():
                if group.name.startswith(SPARE_PREFIX):
                    with contextlib.suppress(OSError):
                        group.rmdir()
            self.root.rmdir()

    def _group(self, run_id: str) -> Path | None:
        if self.root is None:
            return None
        if (self.root / run_id).is_dir():
            return self.root / run_id
        with contextlib.suppress(OSError):
            for group in self.root.iterdir():
                if group.name.startswith(SPARE_PREFIX) and (group / run_id).is_dir():
                    return group
        return None

    def _remove(self, group: Path) -> bool:
        """Remove the run's cgroup, and the server's folder of them once it is empty."""
        try:
            group.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            return False
        with contextlib.suppress(OSError):
            group.parent.rmdir()
        return True

    def _members(self, run_id: str) -> list[int]:
        group = self._group(run_id)
        if group is None:
            return []
        try:
            return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []
