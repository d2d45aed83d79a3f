"""What the tests look for in /proc: live processes and the runs they belong to; and the run
cgroups the tests leave."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from jupyter_orch.engine.executors.processes import RunCgroups


def alive(pid: int) -> bool:
    """The process runs (a zombie nobody has reaped yet is gone for this purpose)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def marked_processes(name: str, values: set[str] | None) -> dict[int, str]:
    """Live processes whose environment sets `name` (to one of `values`, unless None): pid ->
    value."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            key, _, value = item.decode(errors="replace").partition("=")
            if key == name and (values is None or value in values) and alive(int(entry.name)):
                found[int(entry.name)] = value
    return found


def run_cgroups_here() -> set[Path]:
    """The run cgroups (`jupyter-orch-*`) beside this process's own cgroup, where the servers
    and engines a test starts make theirs."""
    root = RunCgroups.beside_own("probe").root
    return set(root.parent.glob("jupyter-orch-*")) if root is not None else set()


def remove_empty_cgroups(groups: set[Path]) -> None:
    """Remove these cgroups where nothing runs in them any more, children first: a server a test
    killed, then deleted the data dir of, never comes back to remove its runs' cgroups."""
    folders = [p for group in groups for p in (group, *group.rglob("*")) if p.is_dir()]
    for folder in sorted(folders, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            folder.rmdir()
