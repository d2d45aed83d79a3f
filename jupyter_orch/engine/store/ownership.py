"""One engine per database until engines coordinate: the first takes an exclusive lock that the
operating system (SQLite: a file lock on the data dir) or the database (PostgreSQL: an advisory
lock held by a connection) releases on any exit, SIGKILL included. A second engine refuses to
start and says which server holds it."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from ..errors import Unavailable
from ..timeutil import iso, utcnow
from .database import Store

ADVISORY_KEY = 0x6A6F7263  # "jorc": the lock id jupyter-orch engines take on a PostgreSQL database


class Ownership:
    def __init__(self, store: Store, data_dir: Path):
        self.store = store
        self.lock_path = data_dir / "engine.lock"
        self._fd: int | None = None
        self._connection: Connection | None = None

    def acquire(self, server_url: str | None) -> None:
        """Take the lock, or raise Unavailable naming the engine that holds it."""
        me = {"pid": os.getpid(), "url": server_url, "since": iso(utcnow())}
        if self.store.dialect == "sqlite":
            self._lock_file(me)
        else:
            self._lock_database(me)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

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

    def _lock_database(self, me: dict[str, Any]) -> None:
        conn = self.store.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
        conn.commit()
        if not got:
            holder = conn.execute(text(
                "SELECT a.client_addr, a.backend_start, a.application_name FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objid = :key"
            ), {"key": ADVISORY_KEY}).first()
            conn.close()
            described = {"url": holder.application_name, "since": str(holder.backend_start)} if holder else {}
            raise Unavailable(_refusal("this database", described))
        conn.execute(text("SELECT set_config('application_name', :name, false)"),
                     {"name": f"jupyter-orch {me['url'] or ''} pid {me['pid']}"[:63]})
        conn.commit()
        self._connection = conn


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
