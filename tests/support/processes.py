"""What the tests look for in /proc: live processes and the runs they belong to."""

from __future__ import annotations

import os
from pathlib import Path


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
