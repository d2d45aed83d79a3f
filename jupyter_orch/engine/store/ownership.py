"""One engine per SQLite data dir: the first takes an exclusive file lock on the data dir that
the operating system releases on any exit, SIGKILL included. A second engine refuses to start
and says which server holds it. (On PostgreSQL engines share the database: store/leases.py.)"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from ..errors import Unavailable
from ..timeutil import iso, utcnow


class Ownership:
    def __init__(self, data_dir: Path):
        self.lock_path = data_dir / "engine.lock"
        self._fd: int | None = None

    def acquire(self, server_url: str | None) -> None:
        """Take the lock, or raise Unavailable naming the engine that holds it."""
        self._lock_file({"pid": os.getpid(), "url": server_url, "since": iso(utcnow())})

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def _lock_file(self, me: dict[str, Any]) -> None:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise Unavailable(_refusal(f"the data dir {self.lock_path.parent}", holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        return dict(json.loads(os.pread(fd, 4096, 0) or b"{}"))
    except ValueError:
        return {}


def _refusal(what: str, holder: dict[str, Any]) -> str:
    who = ", ".join(f"{k} {v}" for k, v in holder.items() if v) or "another process"
    return (
        f"another jupyter-orch server already runs the engine on {what} ({who}); this server serves "
        "no jupyter-orch API. Stop the other server, or give this one its own data dir / db_url."
    )
